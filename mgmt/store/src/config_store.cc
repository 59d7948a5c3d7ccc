#include "sbc/mgmt/store/config_store.h"

#include <algorithm>
#include <charconv>

#include "sbc/mgmt/config/diff.h"

namespace sbc::mgmt::store {
namespace {

constexpr char kStateFile[] = "state.pb";
constexpr char kHighestFile[] = "highest-version";
constexpr char kBundlesDir[] = "bundles";

std::unexpected<TrustError> Refuse(Rejection reason, std::string message) {
  return std::unexpected(TrustError{reason, std::move(message)});
}

std::unexpected<TrustError> StorageError(std::string message) {
  return Refuse(Rejection::kStorage, std::move(message));
}

uint64_t ParseVersion(const std::string& text) {
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

std::expected<std::unique_ptr<ConfigStore>, std::string> ConfigStore::Open(
    const std::filesystem::path& dir, const trust::Verifier& verifier, const base::Clock& clock,
    Options options) {
  std::error_code ec;
  std::filesystem::create_directories(dir / kBundlesDir, ec);
  if (ec) return std::unexpected("config store " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  base::RemoveTempFiles(dir);
  base::RemoveTempFiles(dir / kBundlesDir);

  std::unique_ptr<ConfigStore> store(new ConfigStore(dir, verifier, clock, std::move(options)));
  if (std::filesystem::exists(dir / kStateFile)) {
    auto bytes = base::ReadFile(dir / kStateFile);
    if (!bytes || !store->state_.ParseFromString(*bytes))
      return std::unexpected("config store " + dir.string() + ": " + kStateFile + " is unreadable");
  }
  if (std::filesystem::exists(dir / kHighestFile)) {
    auto text = base::ReadFile(dir / kHighestFile);
    if (!text) return std::unexpected("config store " + text.error());
    store->highest_ = ParseVersion(*text);
  }
  // A crash between the state commit and the highest-version write leaves the
  // latter behind; the state's versions were all accepted, so raise it.
  uint64_t highest = store->highest_;
  for (uint64_t v : store->state_.history()) highest = std::max(highest, v);
  if (highest != store->highest_) {
    if (auto ok = base::WriteFileAtomically(dir, kHighestFile, std::to_string(highest)); !ok)
      return std::unexpected("config store " + ok.error());
    store->highest_ = highest;
  }
  // Bundle files the state does not name were written by a push that never
  // committed: they were never accepted.
  for (const auto& entry : std::filesystem::directory_iterator(dir / kBundlesDir, ec)) {
    const uint64_t v = ParseVersion(entry.path().stem().string());
    if (!store->InHistory(v)) std::filesystem::remove(entry.path(), ec);
  }
  store->Tick();
  return store;
}

std::filesystem::path ConfigStore::BundlePath(uint64_t version) const {
  return dir_ / kBundlesDir / (std::to_string(version) + ".bundle");
}

bool ConfigStore::InHistory(uint64_t version) const {
  return std::find(state_.history().begin(), state_.history().end(), version) !=
         state_.history().end();
}

std::expected<std::string, TrustError> ConfigStore::ReadBundle(uint64_t version) const {
  if (!InHistory(version))
    return Refuse(Rejection::kUnknownVersion,
                  "version " + std::to_string(version) + " is not in the store's history");
  auto bytes = base::ReadFile(BundlePath(version));
  if (!bytes) return StorageError(bytes.error());
  return *bytes;
}

std::expected<void, TrustError> ConfigStore::Commit(schema::StoreState next) {
  // Trim history, never dropping what runs or what a pending confirm reverts to.
  std::vector<uint64_t> dropped;
  while (static_cast<size_t>(next.history_size()) > options_.history_limit) {
    auto* history = next.mutable_history();
    auto victim = std::find_if(history->begin(), history->end(), [&](uint64_t v) {
      return v != next.running_version() && v != next.pending().revert_to();
    });
    if (victim == history->end()) break;
    dropped.push_back(*victim);
    history->erase(victim);
  }
  if (auto ok = base::WriteFileAtomically(dir_, kStateFile, next.SerializeAsString(),
                                          options_.crash_hook);
      !ok)
    return StorageError(ok.error());
  state_ = std::move(next);
  if (state_.running_version() > highest_) {
    if (auto ok = base::WriteFileAtomically(
            dir_, kHighestFile, std::to_string(state_.running_version()), options_.crash_hook);
        !ok)
      return StorageError(ok.error());
    highest_ = state_.running_version();
  }
  std::error_code ec;
  for (uint64_t v : dropped) std::filesystem::remove(BundlePath(v), ec);
  return {};
}

std::expected<uint64_t, TrustError> ConfigStore::Push(std::string_view envelope,
                                                      const PushOptions& options) {
  const int64_t now_ms = clock_.NowUnixMs();
  auto bundle = verifier_.VerifyConfigBundle(envelope, now_ms / 1000);
  if (!bundle) return std::unexpected(bundle.error());
  const uint64_t version = bundle->meta().version();

  if (version <= highest_) {
    const std::string why = "version " + std::to_string(version) +
                            " is not above the highest accepted (" + std::to_string(highest_) + ")";
    if (options.downgrade_authorization.empty())
      return Refuse(Rejection::kVersionNotNewer,
                    why + "; a downgrade needs a signed authorisation naming version " +
                        std::to_string(version));
    auto auth = verifier_.VerifyDowngrade(options.downgrade_authorization, now_ms / 1000);
    if (!auth)
      return Refuse(auth.error().reason, "downgrade authorisation: " + auth.error().message);
    if (auth->meta().version() != version)
      return Refuse(Rejection::kVersionNotNewer,
                    why + "; the downgrade authorisation names version " +
                        std::to_string(auth->meta().version()));
  }

  if (auto ok = base::WriteFileAtomically(dir_ / kBundlesDir, std::to_string(version) + ".bundle",
                                          envelope, options_.crash_hook);
      !ok)
    return StorageError(ok.error());

  schema::StoreState next = state_;
  auto* history = next.mutable_history();
  history->erase(std::remove(history->begin(), history->end(), version), history->end());
  history->Add(version);
  // A chain of unconfirmed pushes reverts to the last confirmed config.
  const uint64_t revert_to =
      state_.has_pending() ? state_.pending().revert_to() : state_.running_version();
  next.clear_pending();
  if (options.confirm_within_s) {
    next.mutable_pending()->set_version(version);
    next.mutable_pending()->set_revert_to(revert_to);
    next.mutable_pending()->set_deadline_unix_ms(now_ms +
                                                 int64_t{*options.confirm_within_s} * 1000);
  }
  next.set_running_version(version);
  if (auto ok = Commit(std::move(next)); !ok) return std::unexpected(ok.error());
  return version;
}

std::expected<void, TrustError> ConfigStore::Confirm() {
  if (!state_.has_pending())
    return Refuse(Rejection::kNothingPending, "no push is waiting for confirmation");
  schema::StoreState next = state_;
  next.clear_pending();
  return Commit(std::move(next));
}

std::expected<void, TrustError> ConfigStore::Revert() {
  schema::StoreState next = state_;
  next.add_reverted(state_.pending().version());
  next.set_running_version(state_.pending().revert_to());
  next.clear_pending();
  return Commit(std::move(next));
}

std::optional<std::string> ConfigStore::Tick() {
  if (!state_.has_pending() || clock_.NowUnixMs() < state_.pending().deadline_unix_ms())
    return std::nullopt;
  const uint64_t pending = state_.pending().version(), revert_to = state_.pending().revert_to();
  if (auto valid = revert_to == 0 ? std::expected<void, TrustError>() : StillValid(revert_to);
      !valid) {
    // Nothing valid to go back to: the pushed version stays, confirmed by necessity.
    schema::StoreState next = state_;
    next.clear_pending();
    if (!Commit(std::move(next))) return std::nullopt;
    return "version " + std::to_string(pending) +
           " was not confirmed in time, but is kept: " + valid.error().message;
  }
  if (!Revert()) return std::nullopt;
  return "version " + std::to_string(pending) + " was not confirmed in time; reverted to version " +
         std::to_string(revert_to);
}

std::expected<void, TrustError> ConfigStore::StillValid(uint64_t version) const {
  auto envelope = ReadBundle(version);
  if (!envelope) return std::unexpected(envelope.error());
  auto bundle = verifier_.VerifyConfigBundle(*envelope, clock_.NowUnixMs() / 1000);
  if (!bundle) {
    std::string why = "stored version " + std::to_string(version) + ": " + bundle.error().message;
    if (bundle.error().reason == Rejection::kExpired)
      why +=
          "; an expired version cannot run again (the dataplane would refuse it): sign a newer one";
    return Refuse(bundle.error().reason, why);
  }
  return {};
}

std::expected<void, TrustError> ConfigStore::Rollback(uint64_t version) {
  if (auto valid = StillValid(version); !valid) return std::unexpected(valid.error());
  schema::StoreState next = state_;
  next.clear_pending();
  next.set_running_version(version);
  return Commit(std::move(next));
}

std::expected<std::string, TrustError> ConfigStore::Diff(uint64_t from, uint64_t to) const {
  schema::ConfigBundle bundles[2];
  const uint64_t versions[2] = {from, to};
  for (int i = 0; i < 2; ++i) {
    auto envelope = ReadBundle(versions[i]);
    if (!envelope) return std::unexpected(envelope.error());
    schema::SignedEnvelope parsed;
    if (!parsed.ParseFromString(*envelope) || !bundles[i].ParseFromString(parsed.payload()))
      return StorageError("stored version " + std::to_string(versions[i]) + " is unreadable");
  }
  return config::DiffConfigs(bundles[0].config(), bundles[1].config(),
                             "version " + std::to_string(from), "version " + std::to_string(to));
}

std::optional<std::string> ConfigStore::RunningEnvelope() const {
  if (state_.running_version() == 0) return std::nullopt;
  auto bytes = ReadBundle(state_.running_version());
  if (!bytes) return std::nullopt;
  return *bytes;
}

std::optional<schema::ConfigBundle> ConfigStore::Running() const {
  auto envelope = RunningEnvelope();
  if (!envelope) return std::nullopt;
  schema::SignedEnvelope parsed;
  schema::ConfigBundle bundle;
  if (!parsed.ParseFromString(*envelope) || !bundle.ParseFromString(parsed.payload()))
    return std::nullopt;
  return bundle;
}

std::expected<uint64_t, std::string> ReadRunningVersion(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir / kStateFile, ec)) return 0;
  auto bytes = base::ReadFile(dir / kStateFile);
  schema::StoreState state;
  if (!bytes || !state.ParseFromString(*bytes))
    return std::unexpected("config store " + dir.string() + ": " + kStateFile + " is unreadable");
  return state.running_version();
}

}  // namespace sbc::mgmt::store
