// The control service behind the real TLS server: every RPC with every role over mTLS,
// allowed or denied exactly as the roles' jobs say; config push/diff/rollback/confirm
// through it; every call in the audit log, which verifies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "sbc/mgmt/service/control_service.h"
#include "sbc/mgmt/tls/tls_server.h"
#include "support/role_matrix.h"
#include "support/signing.h"
#include "support/test_pki.h"
#include "support/tls_client.h"

namespace sbc::mgmt::service {
namespace {

using ::testing::HasSubstr;

const std::map<schema::Role, std::string> kUserOf = {
    {schema::VIEWER, "vera-viewer"},       {schema::OPERATOR, "otto-operator"},
    {schema::SIGNALING, "sig-proxy"},      {schema::AUDITOR, "ada-auditor"},
    {schema::SECURITY_ADMIN, "sam-secadmin"}};

class ControlServiceTest : public ::testing::Test {
 protected:
  ControlServiceTest() : signers_(1, 1) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sbc-service-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto verifier = trust::Verifier::Create(signers_.root(), signers_.Identity("SN-1"));
    ASSERT_TRUE(verifier.has_value());
    verifier_.emplace(std::move(*verifier));
    auto store = store::ConfigStore::Open(dir_ / "config", *verifier_, clock_, {});
    ASSERT_TRUE(store.has_value()) << store.error();
    store_ = std::move(*store);
    auto audit = audit::AuditLog::Open(dir_ / "audit");
    ASSERT_TRUE(audit.has_value()) << audit.error();
    audit_ = std::move(*audit);

    schema::UserDirectory users;
    for (const auto& [role, name] : kUserOf) {
      schema::User* u = users.add_users();
      u->set_name(name);
      u->add_roles(role);
    }
    service_ = std::make_unique<ControlService>(users, *store_, *audit_, (dir_ / "audit").string(), clock_);
    service_->SetUserPersistence([this](const schema::UserDirectory& d) -> std::expected<void, std::string> {
      saved_users_ = d;
      return {};
    });

    const testing::Credential server = pki_.Issue("sbc-appliance");
    auto tls = tls::TlsServer::Start({.port = 0, .ca_pem = pki_.ca_pem(), .cert_pem = server.cert_pem,
                                      .key_pem = server.key_pem},
                                     [this](const tls::ClientIdentity& who, const std::string& frame) {
                                       return service_->HandleFrame(who.common_name, frame);
                                     });
    ASSERT_TRUE(tls.has_value()) << tls.error();
    tls_ = std::move(*tls);
  }
  void TearDown() override {
    tls_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<testing::TlsTestClient> ClientFor(const std::string& user) {
    return std::make_unique<testing::TlsTestClient>(tls_->port(), pki_.ca_pem(),
                                                    testing::TlsClientOptions{.credential = pki_.Issue(user)});
  }
  static schema::Response Call(testing::TlsTestClient& client, const schema::Request& request) {
    schema::Response response;
    const auto reply = client.Call(request.SerializeAsString());
    EXPECT_TRUE(reply.has_value());
    if (reply) {
      EXPECT_TRUE(response.ParseFromString(*reply));
    }
    return response;
  }
  static schema::Request Rpc(schema::Rpc rpc) {
    schema::Request r;
    r.set_rpc(rpc);
    return r;
  }

  testing::TestSigners signers_;
  std::optional<trust::Verifier> verifier_;
  store::SystemClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<store::ConfigStore> store_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<ControlService> service_;
  testing::TestPki pki_;
  std::unique_ptr<tls::TlsServer> tls_;
  schema::UserDirectory saved_users_;
};

TEST_F(ControlServiceTest, SecurityAdminsManageUsersAndTheLastOneStays) {
  auto admin = ClientFor("sam-secadmin");
  schema::Request add = Rpc(schema::USER_ADD);
  add.set_user_name("nina");
  add.add_roles(schema::OPERATOR);
  ASSERT_EQ(Call(*admin, add).outcome(), schema::OK);
  EXPECT_EQ(saved_users_.users_size(), 6) << "the change was not persisted";
  // The new user is served at once, with the role given.
  auto nina = ClientFor("nina");
  EXPECT_EQ(Call(*nina, Rpc(schema::CONFIG_HISTORY)).outcome(), schema::OK);
  EXPECT_EQ(Call(*nina, Rpc(schema::AUDIT_READ)).outcome(), schema::DENIED);

  schema::Request demote = Rpc(schema::USER_SET_ROLES);
  demote.set_user_name("sam-secadmin");
  demote.add_roles(schema::VIEWER);
  const schema::Response refused = Call(*admin, demote);
  EXPECT_EQ(refused.outcome(), schema::REFUSED);
  EXPECT_THAT(refused.error(), HasSubstr("last security-admin"));

  schema::Request remove = Rpc(schema::USER_REMOVE);
  remove.set_user_name("nina");
  EXPECT_EQ(Call(*admin, remove).outcome(), schema::OK);
  EXPECT_EQ(Call(*ClientFor("nina"), Rpc(schema::STATUS)).outcome(), schema::DENIED);

  const schema::Response list = Call(*admin, Rpc(schema::USER_LIST));
  ASSERT_EQ(list.outcome(), schema::OK);
  EXPECT_EQ(list.users_size(), 5);
  for (const auto& u : list.users()) EXPECT_FALSE(u.has_password()) << "a password hash left the appliance";
  // The audit log names who was changed.
  auto entries = audit::ReadAll(dir_ / "audit");
  ASSERT_TRUE(entries.has_value());
  bool added = false, removed = false;
  for (const auto& e : *entries) {
    added |= e.rpc() == schema::USER_ADD && e.detail() == "added user nina (OPERATOR)";
    removed |= e.rpc() == schema::USER_REMOVE && e.detail() == "removed user nina (OPERATOR)";
  }
  EXPECT_TRUE(added);
  EXPECT_TRUE(removed);
}

TEST_F(ControlServiceTest, EveryRpcWithEveryRoleOverMutualTls) {
  int calls = 0;
  for (const auto& [role, allowed] : testing::ExpectedRoleMatrix()) {
    auto client = ClientFor(kUserOf.at(role));
    ASSERT_TRUE(client->handshake_ok()) << kUserOf.at(role);
    for (int r = schema::Rpc_MIN; r <= schema::Rpc_MAX; ++r) {
      if (!schema::Rpc_IsValid(r)) continue;
      const auto rpc = static_cast<schema::Rpc>(r);
      const schema::Response response = Call(*client, Rpc(rpc));
      ++calls;
      EXPECT_EQ(response.user(), kUserOf.at(role));
      const bool denied = response.outcome() == schema::DENIED;
      EXPECT_EQ(denied, !allowed.contains(rpc))
          << schema::Rpc_Name(rpc) << " as " << schema::Role_Name(role) << ": " << response.error();
    }
  }
  // Every call, allowed or not, is in the audit log, and the log verifies.
  const audit::VerifyResult verified = audit::Verify(dir_ / "audit");
  EXPECT_TRUE(verified.ok) << verified.reason;
  EXPECT_EQ(verified.entries, uint64_t(calls));
}

TEST_F(ControlServiceTest, StatusCarriesTheConfiguredLoginBanner) {
  auto viewer = ClientFor("vera-viewer");
  EXPECT_EQ(Call(*viewer, Rpc(schema::STATUS)).login_banner(), "");
  schema::ConfigBundle bundle;
  *bundle.mutable_meta() = testing::TestSigners::Meta(1, schema::DEVELOPMENT);
  *bundle.mutable_config() = testing::SampleConfig();
  bundle.mutable_config()->mutable_management()->set_login_banner("Authorised use only.");
  schema::Request push = Rpc(schema::CONFIG_PUSH);
  push.set_bundle(signers_.Sign(bundle, {0}));
  ASSERT_EQ(Call(*ClientFor("otto-operator"), push).outcome(), schema::OK);
  EXPECT_EQ(Call(*viewer, Rpc(schema::STATUS)).login_banner(), "Authorised use only.");
}

TEST_F(ControlServiceTest, UnknownUsersAreDeniedEvenWithAValidCertificate) {
  auto client = ClientFor("mallory");
  ASSERT_TRUE(client->handshake_ok());
  const schema::Response r = Call(*client, Rpc(schema::STATUS));
  EXPECT_EQ(r.outcome(), schema::DENIED);
  EXPECT_THAT(r.error(), HasSubstr("\"mallory\" is not in the user directory"));
}

TEST_F(ControlServiceTest, OperatorPushesDiffsRollsBackAndConfirms) {
  auto op = ClientFor("otto-operator");
  schema::Request push = Rpc(schema::CONFIG_PUSH);
  push.set_bundle(signers_.Bundle(1, 2));
  EXPECT_EQ(Call(*op, push).outcome(), schema::OK);
  push.set_bundle(signers_.Bundle(2, 3));
  push.set_confirm_within_s(60);
  const schema::Response pushed = Call(*op, push);
  EXPECT_EQ(pushed.outcome(), schema::OK) << pushed.error();
  EXPECT_EQ(pushed.running_version(), 2u);

  schema::Request status = Rpc(schema::STATUS);
  EXPECT_EQ(Call(*op, status).pending_version(), 2u);
  EXPECT_EQ(Call(*op, Rpc(schema::CONFIG_CONFIRM)).outcome(), schema::OK);
  EXPECT_EQ(Call(*op, status).pending_version(), 0u);

  schema::Request diff = Rpc(schema::CONFIG_DIFF);
  diff.set_version(1);
  diff.set_other_version(2);
  EXPECT_THAT(Call(*op, diff).text(), HasSubstr("+  name: \"rule-2\""));

  push.set_bundle("garbage");
  const schema::Response refused = Call(*op, push);
  EXPECT_EQ(refused.outcome(), schema::REFUSED);
  EXPECT_THAT(refused.error(), HasSubstr("malformed"));

  schema::Request rollback = Rpc(schema::CONFIG_ROLLBACK);
  rollback.set_version(1);
  EXPECT_EQ(Call(*op, rollback).outcome(), schema::OK);
  EXPECT_EQ(Call(*op, status).running_version(), 1u);
  EXPECT_EQ(Call(*op, status).highest_version(), 2u);

  // The auditor sees the change recorded with what changed.
  auto auditor = ClientFor("ada-auditor");
  const schema::Response log = Call(*auditor, Rpc(schema::AUDIT_READ));
  ASSERT_EQ(log.outcome(), schema::OK);
  bool diff_recorded = false, rollback_recorded = false;
  for (const auto& e : log.audit()) {
    diff_recorded |= e.rpc() == schema::CONFIG_PUSH && e.detail().find("+  name: \"rule-2\"") != std::string::npos;
    rollback_recorded |= e.rpc() == schema::CONFIG_ROLLBACK && e.detail() == "rolled back from version 2 to 1";
  }
  EXPECT_TRUE(diff_recorded);
  EXPECT_TRUE(rollback_recorded);
  const schema::Response verify = Call(*auditor, Rpc(schema::AUDIT_VERIFY));
  EXPECT_TRUE(verify.audit_intact()) << verify.error();
}

}  // namespace
}  // namespace sbc::mgmt::service
