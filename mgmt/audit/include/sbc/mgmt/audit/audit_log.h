// The audit log: every control-API call, appended to a file in which each entry
// carries the SHA-256 of the one before, so any edit, deletion, reordering or cut is
// found by Verify().
//
// File layout, one record per entry:
//   4-byte big-endian length | AuditEntry without `hash` (that many bytes) | 32-byte hash
// hash = SHA-256(entry bytes as stored), and each entry's previous_hash is the hash of
// the entry before it. The stored bytes are hashed, never a re-serialisation. A head
// file (audit.head: "<sequence> <hex hash>", written atomically after each append)
// records the last entry, so cutting entries off the end is found too.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::audit {

struct VerifyResult {
  bool ok = false;
  uint64_t entries = 0;    // entries that verified, from the first
  uint64_t first_bad = 0;  // sequence number of the first bad entry (0 when ok)
  std::string reason;      // e.g. "entry 3: hash does not match its content (edited)"
};

// Reads and checks the whole log in `dir`. Any thread; reads only.
[[nodiscard]] VerifyResult Verify(const std::filesystem::path& dir);

// Every entry of a log that verifies; the verification failure otherwise.
[[nodiscard]] std::expected<std::vector<schema::AuditEntry>, std::string> ReadAll(
    const std::filesystem::path& dir);

struct Page {
  std::vector<schema::AuditEntry> entries;
  uint64_t next = 0;  // sequence of the first entry after the page; 0: the log ends here
};
// Entries from sequence `from` on (1 for the first), at most `max_entries` and about
// `max_bytes` of them (at least one), if the log verifies up to the page's end (for
// AUDIT_READ: one reply frame never outgrows the frame limit). Any thread; reads only.
[[nodiscard]] std::expected<Page, std::string> ReadPage(const std::filesystem::path& dir,
                                                        uint64_t from, uint32_t max_entries,
                                                        size_t max_bytes);

class AuditLog {
 public:
  // Opens (creating) the log in `dir`, verifying it first: an appliance does not
  // append to a log it cannot vouch for. Fails with Verify()'s reason.
  [[nodiscard]] static std::expected<std::unique_ptr<AuditLog>, std::string> Open(
      const std::filesystem::path& dir);
  ~AuditLog();

  // Appends `entry` (its sequence, previous_hash and hash are set here), fsyncs the
  // log, then updates the head. One writer (the daemon's control thread). A write that
  // fails part way (a full disk) is cut off again, so the chain stays whole and the
  // next append (or the next start) goes on from the last good entry; if even that
  // fails, the log refuses appends until it is opened again (which repairs it).
  [[nodiscard]] std::expected<schema::AuditEntry, std::string> Append(schema::AuditEntry entry);

  uint64_t last_sequence() const { return last_sequence_; }

 private:
  AuditLog() = default;
  std::filesystem::path dir_;
  int fd_ = -1;
  uint64_t last_sequence_ = 0;
  std::string last_hash_;  // 32 bytes
  off_t good_bytes_ = 0;   // the log's length up to the last whole entry
  bool broken_ = false;    // a failed write could not be cut off: no more appends
};

}  // namespace sbc::mgmt::audit
