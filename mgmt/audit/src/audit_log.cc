#include "sbc/mgmt/audit/audit_log.h"

#include <fcntl.h>
#include <mbedtls/md.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sbc/mgmt/base/atomic_file.h"

namespace sbc::mgmt::audit {
namespace {

constexpr char kLogFile[] = "audit.log";
constexpr char kHeadFile[] = "audit.head";
constexpr size_t kHashBytes = 32;
const std::string kZeroHash(kHashBytes, '\0');

std::string Sha256(std::string_view bytes) {
  unsigned char out[kHashBytes];
  mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
             reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out);
  return std::string(reinterpret_cast<const char*>(out), kHashBytes);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

struct Head {
  uint64_t sequence = 0;
  std::string hash_hex;
  bool present = false;
};

Head ReadHead(const std::filesystem::path& dir) {
  Head head;
  if (!std::filesystem::exists(dir / kHeadFile)) return head;
  auto text = base::ReadFile(dir / kHeadFile);
  std::istringstream in(text.value_or(""));
  in >> head.sequence >> head.hash_hex;
  head.present = true;
  return head;
}

// Walks the log; `visit` sees each verified entry and returns false to stop there
// (the rest unchecked). `good_bytes` receives the length of the verified prefix (what a
// crash left after it can be cut off). Returns the verdict.
template <typename Visit>
VerifyResult Walk(const std::filesystem::path& dir, Visit visit, size_t* good_bytes = nullptr) {
  VerifyResult result;
  auto fail = [&](uint64_t sequence, std::string reason) {
    result.first_bad = sequence;
    result.reason = "entry " + std::to_string(sequence) + ": " + std::move(reason);
    return result;
  };
  std::string data;
  if (std::filesystem::exists(dir / kLogFile)) {
    auto bytes = base::ReadFile(dir / kLogFile);
    if (!bytes) {
      result.reason = bytes.error();
      return result;
    }
    data = std::move(*bytes);
  }
  const Head head = ReadHead(dir);
  std::string previous = kZeroHash, before_previous = kZeroHash;
  size_t offset = 0;
  uint64_t expected = 1;
  while (offset < data.size()) {
    const size_t left = data.size() - offset;
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + offset);
    const size_t length =
        left < 4 ? 0 : size_t(p[0]) << 24 | size_t(p[1]) << 16 | size_t(p[2]) << 8 | p[3];
    if (left < 4 || left - 4 < length + kHashBytes) {
      // A record cut short after the last entry the head vouches for is what a crash
      // mid-append leaves: nothing recorded is missing.
      if (head.present && result.entries == head.sequence) break;
      return fail(expected, "truncated record (the log was cut)");
    }
    const std::string_view body(data.data() + offset + 4, length);
    const std::string_view hash(data.data() + offset + 4 + length, kHashBytes);
    schema::AuditEntry entry;
    if (!entry.ParseFromArray(body.data(), static_cast<int>(body.size())))
      return fail(expected, "unreadable record (edited)");
    if (entry.sequence() != expected)
      return fail(expected, "found sequence " + std::to_string(entry.sequence()) +
                                " (an entry was deleted or the log reordered)");
    if (Sha256(body) != hash) return fail(expected, "hash does not match its content (edited)");
    if (entry.previous_hash() != previous)
      return fail(expected, "previous_hash does not match entry " + std::to_string(expected - 1) +
                                " (edited, deleted or reordered)");
    entry.set_hash(std::string(hash));
    if (!visit(entry)) {
      result.ok = true;  // verified as far as the caller wanted
      return result;
    }
    before_previous = previous;
    previous = std::string(hash);
    offset += 4 + length + kHashBytes;
    ++expected;
    ++result.entries;
  }
  if (good_bytes != nullptr) *good_bytes = offset;
  // The head names the last entry written: anything missing before it was cut. One
  // entry beyond it is an append whose head update a crash interrupted.
  const uint64_t n = result.entries;
  const bool head_matches =
      head.present &&
      ((head.sequence == n && (n == 0 || head.hash_hex == Hex(previous))) ||
       (head.sequence + 1 == n && head.hash_hex == (n == 1 ? "" : Hex(before_previous))));
  if (!head.present && n != 0) return fail(1, "the head file is missing (the log was replaced)");
  if (head.present && !head_matches)
    return fail(std::min(n, head.sequence) + 1,
                "the log ends at entry " + std::to_string(n) + " but its head records entry " +
                    std::to_string(head.sequence) + " (the log was cut or replaced)");
  result.ok = true;
  return result;
}

}  // namespace

VerifyResult Verify(const std::filesystem::path& dir) {
  return Walk(dir, [](const schema::AuditEntry&) { return true; });
}

std::expected<std::vector<schema::AuditEntry>, std::string> ReadAll(
    const std::filesystem::path& dir) {
  std::vector<schema::AuditEntry> entries;
  const VerifyResult result = Walk(dir, [&](const schema::AuditEntry& e) {
    entries.push_back(e);
    return true;
  });
  if (!result.ok) return std::unexpected(result.reason);
  return entries;
}

std::expected<Page, std::string> ReadPage(const std::filesystem::path& dir, uint64_t from,
                                          uint32_t max_entries, size_t max_bytes) {
  Page page;
  size_t bytes = 0;
  const VerifyResult result = Walk(dir, [&](const schema::AuditEntry& e) {
    if (e.sequence() < from) return true;
    const size_t size = e.ByteSizeLong();
    if (!page.entries.empty() && (page.entries.size() >= max_entries || bytes + size > max_bytes)) {
      page.next = e.sequence();
      return false;
    }
    bytes += size;
    page.entries.push_back(e);
    return true;
  });
  if (!result.ok) return std::unexpected(result.reason);
  return page;
}

std::expected<std::unique_ptr<AuditLog>, std::string> AuditLog::Open(
    const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return std::unexpected("audit log " + dir.string() + ": " + ec.message());
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->dir_ = dir;
  log->last_hash_ = kZeroHash;
  size_t good_bytes = 0;
  const VerifyResult result = Walk(
      dir,
      [&](const schema::AuditEntry& e) {
        log->last_sequence_ = e.sequence();
        log->last_hash_ = e.hash();
        return true;
      },
      &good_bytes);
  if (!result.ok)
    return std::unexpected("audit log " + dir.string() + " does not verify: " + result.reason);
  log->fd_ = open((dir / kLogFile).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log->fd_ < 0)
    return std::unexpected("audit log " + (dir / kLogFile).string() +
                           ": cannot open for appending");
  // Repair what a crash mid-append left: a partial record, or a head one entry behind.
  if (ftruncate(log->fd_, static_cast<off_t>(good_bytes)) != 0 || fsync(log->fd_) != 0)
    return std::unexpected("audit log: cannot drop a partial record");
  log->good_bytes_ = static_cast<off_t>(good_bytes);
  if (auto ok = base::WriteFileAtomically(dir, kHeadFile,
                                          std::to_string(log->last_sequence_) + " " +
                                              (log->last_sequence_ ? Hex(log->last_hash_) : ""));
      !ok)
    return std::unexpected("audit log head: " + ok.error());
  return log;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) close(fd_);
}

std::expected<schema::AuditEntry, std::string> AuditLog::Append(schema::AuditEntry entry) {
  if (broken_)
    return std::unexpected(
        "audit log: a failed write could not be cut off; it is repaired when opened again");
  entry.set_sequence(last_sequence_ + 1);
  entry.set_previous_hash(last_hash_);
  entry.clear_hash();
  const std::string body = entry.SerializeAsString();
  const std::string hash = Sha256(body);
  const auto n = static_cast<uint32_t>(body.size());
  std::string record = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  record += body;
  record += hash;
  size_t written = 0;
  while (written < record.size()) {
    const ssize_t done = write(fd_, record.data() + written, record.size() - written);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) break;
    written += static_cast<size_t>(done);
  }
  if (written < record.size() || fsync(fd_) != 0) {
    const std::string why = std::strerror(errno);
    // Whatever part of the record reached the file goes again: the chain ends at the
    // last whole entry, as if this one had never been tried.
    if (ftruncate(fd_, good_bytes_) != 0 || fsync(fd_) != 0) broken_ = true;
    return std::unexpected("audit log: write failed (" + why + "); nothing of the entry was kept");
  }
  if (auto ok = base::WriteFileAtomically(dir_, kHeadFile,
                                          std::to_string(entry.sequence()) + " " + Hex(hash));
      !ok) {
    // The head never falls more than one entry behind the log. If the new head did not
    // take (it failed before its rename), the entry goes again; if it did (only the
    // directory's sync failed), the entry stays, and the caller still hears of the failure.
    if (ReadHead(dir_).sequence != entry.sequence()) {
      if (ftruncate(fd_, good_bytes_) != 0 || fsync(fd_) != 0) broken_ = true;
      return std::unexpected("audit log head: " + ok.error() + "; nothing of the entry was kept");
    }
    good_bytes_ += static_cast<off_t>(record.size());
    last_sequence_ = entry.sequence();
    last_hash_ = hash;
    return std::unexpected("audit log head: " + ok.error());
  }
  good_bytes_ += static_cast<off_t>(record.size());
  last_sequence_ = entry.sequence();
  last_hash_ = hash;
  entry.set_hash(hash);
  return entry;
}

}  // namespace sbc::mgmt::audit
