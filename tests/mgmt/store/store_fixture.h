// A config store in a fresh temp directory, with real signers and a controllable clock.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "sbc/mgmt/store/config_store.h"
#include "support/signing.h"

namespace sbc::mgmt::store {

class FakeClock final : public base::Clock {
 public:
  int64_t NowUnixMs() const override { return now_ms; }
  void Advance(int64_t seconds) { now_ms += seconds * 1000; }
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
};

class StoreFixture : public ::testing::Test {
 protected:
  StoreFixture() : signers_(3, 2) {}

  void SetUp() override {
    // Parameterised tests' names hold a '/': keep the directory one level deep, so
    // TearDown removes all of it.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = std::filesystem::temp_directory_path() /
           ("sbc-store-test-" + std::to_string(getpid()) + "-" + name);
    std::filesystem::remove_all(dir_);
    auto v = trust::Verifier::Create(signers_.root(), signers_.Identity("SN-1"));
    ASSERT_TRUE(v.has_value()) << v.error();
    verifier_.emplace(std::move(*v));
    Reopen();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Reopen(ConfigStore::Options options = {}) {
    store_.reset();
    auto s = ConfigStore::Open(dir_, *verifier_, clock_, std::move(options));
    ASSERT_TRUE(s.has_value()) << s.error();
    store_ = std::move(*s);
  }

  // Bundle `version` signed by two keys; `rules` varies its content.
  std::string Bundle(uint64_t version, int rules = 3) const {
    return signers_.Bundle(version, rules);
  }

  std::string Downgrade(uint64_t version, std::vector<int> signers = {0, 1}) const {
    schema::DowngradeAuthorization auth;
    *auth.mutable_meta() = testing::TestSigners::Meta(version, schema::DEVELOPMENT);
    auth.set_reason("test");
    return signers_.Sign(auth, signers);
  }

  testing::TestSigners signers_;
  std::optional<trust::Verifier> verifier_;
  FakeClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<ConfigStore> store_;
};

}  // namespace sbc::mgmt::store
