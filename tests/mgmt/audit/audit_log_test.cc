// The audit log finds every edit, deletion, reordering and cut, naming the first bad
// entry, and tells what a crash leaves from tampering.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <mbedtls/md.h>

#include "sbc/mgmt/audit/audit_log.h"

namespace sbc::mgmt::audit {
namespace {

using ::testing::HasSubstr;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sbc-audit-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto log = AuditLog::Open(dir_);
    ASSERT_TRUE(log.has_value()) << log.error();
    for (int i = 1; i <= 5; ++i) {
      schema::AuditEntry e;
      e.set_time_unix_ms(1'700'000'000'000 + i);
      e.set_user("operator-" + std::to_string(i));
      e.add_roles(schema::OPERATOR);
      e.set_rpc(schema::CONFIG_PUSH);
      e.set_outcome(schema::OK);
      e.set_detail("pushed version " + std::to_string(i));
      ASSERT_TRUE((*log)->Append(e).has_value());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Log() {
    std::ifstream in(dir_ / "audit.log", std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  void SetLog(const std::string& bytes) {
    std::ofstream(dir_ / "audit.log", std::ios::binary | std::ios::trunc) << bytes;
  }
  // [start, end) of each record in the file.
  std::vector<std::pair<size_t, size_t>> Records() {
    const std::string log = Log();
    std::vector<std::pair<size_t, size_t>> out;
    for (size_t off = 0; off < log.size();) {
      const auto* p = reinterpret_cast<const unsigned char*>(log.data() + off);
      const size_t len = size_t(p[0]) << 24 | size_t(p[1]) << 16 | size_t(p[2]) << 8 | p[3];
      out.push_back({off, off + 4 + len + 32});
      off += 4 + len + 32;
    }
    return out;
  }
  std::filesystem::path dir_;
};

TEST_F(AuditLogTest, AnIntactLogVerifiesAndContinuesAfterReopening) {
  VerifyResult r = Verify(dir_);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.entries, 5u);
  auto log = AuditLog::Open(dir_);
  ASSERT_TRUE(log.has_value()) << log.error();
  schema::AuditEntry e;
  e.set_user("auditor");
  e.set_rpc(schema::AUDIT_VERIFY);
  auto appended = (*log)->Append(e);
  ASSERT_TRUE(appended.has_value());
  EXPECT_EQ(appended->sequence(), 6u);
  auto all = ReadAll(dir_);
  ASSERT_TRUE(all.has_value()) << all.error();
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ((*all)[2].detail(), "pushed version 3");
  EXPECT_EQ((*all)[5].previous_hash(), (*all)[4].hash());
}

TEST_F(AuditLogTest, AnEditedEntryIsFound) {
  std::string log = Log();
  const size_t at = log.find("operator-3");
  ASSERT_NE(at, std::string::npos);
  log[at + 9] = '9';  // operator-3 -> operator-9
  SetLog(log);
  const VerifyResult r = Verify(dir_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 3u);
  EXPECT_THAT(r.reason, HasSubstr("entry 3: hash does not match its content (edited)"));
  EXPECT_FALSE(AuditLog::Open(dir_).has_value()) << "appended to a tampered log";
}

TEST_F(AuditLogTest, AnEditedEntryWithARecomputedHashIsFoundByTheNextLink) {
  // Whoever edits entry 3 and recomputes its own hash still breaks entry 4's link.
  const auto rec = Records();
  std::string log = Log();
  const size_t body_start = rec[2].first + 4, body_len = rec[2].second - 32 - body_start;
  std::string body = log.substr(body_start, body_len);
  body[body.find("operator-3") + 9] = '9';
  unsigned char hash[32];
  mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
             reinterpret_cast<const unsigned char*>(body.data()), body.size(), hash);
  log.replace(body_start, body_len, body);
  log.replace(body_start + body_len, 32, std::string(reinterpret_cast<char*>(hash), 32));
  SetLog(log);
  const VerifyResult r = Verify(dir_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 4u);
  EXPECT_THAT(r.reason, HasSubstr("entry 4: previous_hash does not match entry 3"));
}

TEST_F(AuditLogTest, ADeletedEntryIsFound) {
  const auto rec = Records();
  std::string log = Log();
  log.erase(rec[2].first, rec[2].second - rec[2].first);
  SetLog(log);
  const VerifyResult r = Verify(dir_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 3u);
  EXPECT_THAT(r.reason, HasSubstr("found sequence 4 (an entry was deleted or the log reordered)"));
}

TEST_F(AuditLogTest, ReorderedEntriesAreFound) {
  const auto rec = Records();
  const std::string log = Log();
  const std::string swapped =
      log.substr(0, rec[1].first) + log.substr(rec[2].first, rec[2].second - rec[2].first) +
      log.substr(rec[1].first, rec[1].second - rec[1].first) + log.substr(rec[2].second);
  SetLog(swapped);
  const VerifyResult r = Verify(dir_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 2u);
}

TEST_F(AuditLogTest, ACutLogIsFound) {
  const auto rec = Records();
  SetLog(Log().substr(0, rec[2].second));  // entries 4 and 5 gone
  const VerifyResult r = Verify(dir_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 4u);
  EXPECT_THAT(
      r.reason,
      HasSubstr(
          "the log ends at entry 3 but its head records entry 5 (the log was cut or replaced)"));
  SetLog(Log().substr(0, rec[3].second + 10));  // entry 5 cut inside its record
  EXPECT_FALSE(Verify(dir_).ok);
}

TEST_F(AuditLogTest, WhatACrashLeavesIsNotTamperingAndIsRepaired) {
  // A crash mid-append: part of a sixth record after the entry the head names.
  SetLog(Log() + std::string("\0\0\0\x40partial", 11));
  VerifyResult r = Verify(dir_);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.entries, 5u);
  auto log = AuditLog::Open(dir_);
  ASSERT_TRUE(log.has_value()) << log.error();
  ASSERT_TRUE((*log)->Append(schema::AuditEntry{}).has_value());
  r = Verify(dir_);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.entries, 6u);

  // A crash after appending but before the head moved: the head is one entry behind.
  std::ifstream head_in(dir_ / "audit.head");
  std::string head;
  std::getline(head_in, head);
  log->reset();
  ASSERT_TRUE((*AuditLog::Open(dir_))->Append(schema::AuditEntry{}).has_value());
  std::ofstream(dir_ / "audit.head", std::ios::trunc) << head;  // back to entry 6
  r = Verify(dir_);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.entries, 7u);
}

TEST_F(AuditLogTest, AReplacedLogWithoutItsHeadIsFound) {
  std::filesystem::remove(dir_ / "audit.head");
  const VerifyResult r = Verify(dir_);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.reason, HasSubstr("head file is missing"));
}

// The disk fills during an append (RLIMIT_FSIZE stands in for it: the write stops part
// way): the entry is refused, nothing of it stays, the next append continues the
// chain, and the log still opens. It used to leave the torn record in the file, the
// next entry after it, and a log that refused to open.
TEST_F(AuditLogTest, AWriteCutShortByAFullDiskLeavesTheChainWhole) {
  auto log = AuditLog::Open(dir_);
  ASSERT_TRUE(log.has_value());
  const auto size = static_cast<rlim_t>(std::filesystem::file_size(dir_ / "audit.log"));
  struct sigaction ignore {
  }, before{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &before), 0);
  rlimit full{}, was{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &was), 0);
  full = was;
  full.rlim_cur = size + 10;  // room for a fraction of the next record
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &full), 0);
  schema::AuditEntry e;
  e.set_user("operator-6");
  e.set_detail(std::string(200, 'x'));
  const auto refused = (*log)->Append(e);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &was), 0);
  sigaction(SIGXFSZ, &before, nullptr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error(), HasSubstr("nothing of the entry was kept"));
  EXPECT_EQ(std::filesystem::file_size(dir_ / "audit.log"), size) << "a torn record stayed";

  const auto next = (*log)->Append(e);  // the disk has room again
  ASSERT_TRUE(next.has_value()) << next.error();
  EXPECT_EQ(next->sequence(), 6u);
  log->reset();
  const VerifyResult r = Verify(dir_);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.entries, 6u);
  EXPECT_TRUE(AuditLog::Open(dir_).has_value()) << "the appliance starts again";
}

TEST_F(AuditLogTest, PagesCoverTheLogOnceInOrder) {
  auto first = ReadPage(dir_, 1, 2, 1 << 20);
  ASSERT_TRUE(first.has_value()) << first.error();
  ASSERT_EQ(first->entries.size(), 2u);
  EXPECT_EQ(first->entries[0].sequence(), 1u);
  EXPECT_EQ(first->next, 3u);
  auto rest = ReadPage(dir_, 3, 100, 1 << 20);
  ASSERT_TRUE(rest.has_value());
  ASSERT_EQ(rest->entries.size(), 3u);
  EXPECT_EQ(rest->entries[2].sequence(), 5u);
  EXPECT_EQ(rest->next, 0u) << "the end of the log";
  auto small = ReadPage(dir_, 1, 100, 1);  // a byte budget smaller than one entry
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->entries.size(), 1u) << "at least one entry a page";
  EXPECT_EQ(small->next, 2u);
  EXPECT_TRUE(ReadPage(dir_, 9, 100, 1 << 20)->entries.empty());
}

}  // namespace
}  // namespace sbc::mgmt::audit
