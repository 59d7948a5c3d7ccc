// The appliance's store of signed configuration.
//
// Layout of the store directory:
//   bundles/<version>.bundle   each accepted envelope, the exact bytes that verified
//   state.pb                   StoreState: running version, history, pending confirm
//   highest-version            anti-rollback: highest version ever accepted; kept apart
//                              so that trimming history never lowers it
// A push writes the bundle, then state.pb (the commit point), then highest-version,
// each atomically; Open() repairs whatever a crash interrupted.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/base/wall_clock.h"
#include "sbc/mgmt/trust/verifier.h"
#include "sbc/schema/store.pb.h"

namespace sbc::mgmt::store {

struct PushOptions {
  // Revert to the previous config unless Confirm() is called within this many seconds.
  std::optional<uint32_t> confirm_within_s = std::nullopt;
  // A signed DowngradeAuthorization envelope naming this bundle's version; needed
  // when the version is not above the highest ever accepted.
  std::string downgrade_authorization = {};
};

using trust::Rejection;
using trust::TrustError;

class ConfigStore {
 public:
  struct Options {
    size_t history_limit = 10;        // accepted bundles kept for rollback and diff
    base::CrashHook crash_hook = {};  // tests only
  };

  // Opens (creating) the store in `dir`. `verifier` and `clock` must outlive it.
  // Recovers from a crash: removes temp files, raises highest-version to every
  // version the state names, and reverts a pending push whose deadline passed.
  [[nodiscard]] static std::expected<std::unique_ptr<ConfigStore>, std::string> Open(
      const std::filesystem::path& dir, const trust::Verifier& verifier, const base::Clock& clock,
      Options options);

  // Verifies `envelope` (signatures, environment, serial, expiry, schema), refuses a
  // version not above the highest accepted unless a valid downgrade authorisation
  // names exactly that version, then makes it the running config. Returns its version.
  // On any refusal nothing changes.
  [[nodiscard]] std::expected<uint64_t, TrustError> Push(std::string_view envelope,
                                                         const PushOptions& options = {});

  // Keeps a push made with confirm_within_s.
  [[nodiscard]] std::expected<void, TrustError> Confirm();

  // Re-applies an accepted bundle still in history, after verifying it again, expiry
  // included, against the current trust root: a version that expired is refused with
  // the reason (the dataplane, which verifies every bundle itself, would refuse it
  // too, and the store would report a version that does not run). Going back among
  // versions the store accepted and that are still valid needs no downgrade
  // authorisation: that is what the history is for; anything else must be pushed.
  [[nodiscard]] std::expected<void, TrustError> Rollback(uint64_t version);

  // Unified diff between two versions in history.
  [[nodiscard]] std::expected<std::string, TrustError> Diff(uint64_t from, uint64_t to) const;

  // Ends an unconfirmed push whose deadline has passed: reverts to the version before
  // it, or, if that one no longer verifies (it expired meanwhile), keeps the pushed
  // version running and says so. What happened, or nullopt when nothing was due. Call
  // periodically (the daemon does, every second).
  std::optional<std::string> Tick();

  uint64_t running_version() const { return state_.running_version(); }
  uint64_t highest_version() const { return highest_; }
  const schema::StoreState& state() const { return state_; }
  // The running bundle's envelope bytes and parsed content; nullopt before the first push.
  [[nodiscard]] std::optional<std::string> RunningEnvelope() const;
  [[nodiscard]] std::optional<schema::ConfigBundle> Running() const;

 private:
  ConfigStore(std::filesystem::path dir, const trust::Verifier& verifier, const base::Clock& clock,
              Options options)
      : dir_(std::move(dir)), verifier_(verifier), clock_(clock), options_(std::move(options)) {}

  std::filesystem::path BundlePath(uint64_t version) const;
  [[nodiscard]] std::expected<std::string, TrustError> ReadBundle(uint64_t version) const;
  [[nodiscard]] std::expected<void, TrustError> Commit(schema::StoreState next);
  [[nodiscard]] std::expected<void, TrustError> Revert();
  // Version `version` from history still verifies now, expiry included.
  [[nodiscard]] std::expected<void, TrustError> StillValid(uint64_t version) const;
  bool InHistory(uint64_t version) const;

  std::filesystem::path dir_;
  const trust::Verifier& verifier_;
  const base::Clock& clock_;
  Options options_;
  schema::StoreState state_;
  uint64_t highest_ = 0;
};

// The version a store on disk at `dir` runs (0: none, or no store yet), for a process
// that does not own the store (sbc-boot's health check); it only reads the state file.
[[nodiscard]] std::expected<uint64_t, std::string> ReadRunningVersion(
    const std::filesystem::path& dir);

}  // namespace sbc::mgmt::store
