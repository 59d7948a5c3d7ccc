// The control service behind the real TLS server: every RPC with every role over mTLS,
// allowed or denied exactly as the roles' jobs say; config push/diff/rollback/confirm
// through it; every call in the audit log, which verifies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "sbc/mgmt/clock/settable_clock.h"
#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/mgmt/service/control_service.h"
#include "sbc/mgmt/service/rpc_registry.h"
#include "sbc/mgmt/tls/tls_server.h"
#include "sbc/mgmt/users/passwords.h"
#include "sbc/schema/trust.pb.h"
#include "support/role_matrix.h"
#include "support/signing.h"
#include "support/test_pki.h"
#include "support/tls_client.h"
#include "support/wait.h"

namespace sbc::mgmt::service {
namespace {

using ::testing::HasSubstr;

const std::map<schema::Role, std::string> kUserOf = {{schema::VIEWER, "vera-viewer"},
                                                     {schema::OPERATOR, "otto-operator"},
                                                     {schema::SIGNALING, "sig-proxy"},
                                                     {schema::AUDITOR, "ada-auditor"},
                                                     {schema::SECURITY_ADMIN, "sam-secadmin"}};

class ControlServiceTest : public ::testing::Test {
 protected:
  ControlServiceTest() : signers_(1, 1) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sbc-service-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto settable = clock::OffsetFileClock(dir_ / "clock-offset");
    ASSERT_TRUE(settable.has_value()) << settable.error();
    clock_ = std::move(*settable);
    auto verifier = trust::Verifier::Create(signers_.root(), signers_.Identity("SN-1"));
    ASSERT_TRUE(verifier.has_value());
    verifier_.emplace(std::move(*verifier));
    auto store = store::ConfigStore::Open(dir_ / "config", *verifier_, *clock_, {});
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
      u->add_keys(*pki::KeyId(CredentialOf(name).cert_pem));  // the one certificate it logs in with
    }
    service_ = std::make_unique<ControlService>(users, *store_, *audit_, (dir_ / "audit").string(),
                                                *clock_);
    service_->AttachClock(clock_.get());
    service_->AttachCertificateAuthority(&pki_.ca());
    service_->SetUserPersistence(
        [this](const schema::UserDirectory& d) -> std::expected<void, std::string> {
          saved_users_ = d;
          return {};
        });

    const testing::Credential server = pki_.Issue("sbc-appliance");
    auto tls = tls::TlsServer::Start(
        {.port = 0,
         .ca_pem = pki_.ca_pem(),
         .cert_pem = server.cert_pem,
         .key_pem = server.key_pem},
        [this](const tls::ClientIdentity& who, const std::string& frame) {
          return service_->HandleFrame({.name = who.common_name, .key_id = who.key_id}, frame);
        });
    ASSERT_TRUE(tls.has_value()) << tls.error();
    tls_ = std::move(*tls);
  }
  void TearDown() override {
    tls_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `user` makes a key and a request, `admin` approves it (CERT_APPROVE, which binds
  // the key to the user), and the user connects with the certificate.
  std::unique_ptr<testing::TlsTestClient> ApprovedClientFor(testing::TlsTestClient& admin,
                                                            const std::string& user) {
    auto request = pki::CreateRequest(user);
    EXPECT_TRUE(request.has_value());
    if (!request) return nullptr;
    schema::Request approve = Rpc(schema::CERT_APPROVE);
    approve.mutable_cert_approve()->set_name(user);
    approve.mutable_cert_approve()->set_csr_pem(request->cert_pem);
    const schema::Response approved = Call(admin, approve);
    EXPECT_EQ(approved.outcome(), schema::OK) << approved.error();
    return std::make_unique<testing::TlsTestClient>(
        tls_->port(), pki_.ca_pem(),
        testing::TlsClientOptions{
            .credential = testing::Credential{approved.certificate_pem(), request->key_pem}});
  }
  // A certificate for `user` from the management CA, the same each time.
  const testing::Credential& CredentialOf(const std::string& user) {
    auto it = credentials_.find(user);
    if (it == credentials_.end()) it = credentials_.emplace(user, pki_.Issue(user)).first;
    return it->second;
  }
  std::unique_ptr<testing::TlsTestClient> ClientFor(const std::string& user) {
    return std::make_unique<testing::TlsTestClient>(
        tls_->port(), pki_.ca_pem(), testing::TlsClientOptions{.credential = CredentialOf(user)});
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
  // A call of `rpc` with its arguments empty (nothing set: an RPC not served yet).
  static schema::Request Rpc(schema::Rpc rpc) {
    schema::Request r;
    if (const auto* field = schema::Request::descriptor()->FindFieldByNumber(rpc))
      r.GetReflection()->MutableMessage(&r, field);
    return r;
  }
  // Pushes a config whose management section is `management`, as the operator.
  void PushManagement(const schema::Management& management, uint64_t version = 1) {
    schema::ConfigBundle bundle;
    *bundle.mutable_meta() = testing::TestSigners::Meta(version, schema::DEVELOPMENT);
    *bundle.mutable_config() = testing::SampleConfig();
    *bundle.mutable_config()->mutable_management() = management;
    schema::Request push = Rpc(schema::CONFIG_PUSH);
    push.mutable_config_push()->set_bundle(signers_.Sign(bundle, {0}));
    const schema::Response pushed = Call(*ClientFor("otto-operator"), push);
    ASSERT_EQ(pushed.outcome(), schema::OK) << pushed.error();
  }
  void SetPassword(const std::string& user, const std::string& password, schema::Outcome expected,
                   const std::string& error = "") {
    schema::Request set = Rpc(schema::USER_SET_PASSWORD);
    set.mutable_user_set_password()->set_name(user);
    set.mutable_user_set_password()->set_password(password);
    const schema::Response r = Call(*ClientFor("sam-secadmin"), set);
    EXPECT_EQ(r.outcome(), expected) << r.error();
    EXPECT_THAT(r.error(), HasSubstr(error));
  }
  // Audit entries of `rpc`, oldest first.
  std::vector<schema::AuditEntry> Audited(schema::Rpc rpc) {
    std::vector<schema::AuditEntry> found;
    auto entries = audit::ReadAll(dir_ / "audit");
    EXPECT_TRUE(entries.has_value());
    for (const auto& e : entries.value_or(std::vector<schema::AuditEntry>{}))
      if (e.rpc() == rpc) found.push_back(e);
    return found;
  }

  testing::TestSigners signers_;
  std::optional<trust::Verifier> verifier_;
  std::unique_ptr<clock::SettableClock> clock_;
  std::filesystem::path dir_;
  std::unique_ptr<store::ConfigStore> store_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<ControlService> service_;
  testing::TestPki pki_;
  std::map<std::string, testing::Credential> credentials_;
  std::unique_ptr<tls::TlsServer> tls_;
  schema::UserDirectory saved_users_;
};

TEST_F(ControlServiceTest, SecurityAdminsManageUsersAndTheLastOneStays) {
  auto admin = ClientFor("sam-secadmin");
  schema::Request add = Rpc(schema::USER_ADD);
  add.mutable_user_add()->set_name("nina");
  add.mutable_user_add()->add_roles(schema::OPERATOR);
  ASSERT_EQ(Call(*admin, add).outcome(), schema::OK);
  EXPECT_EQ(saved_users_.users_size(), 6) << "the change was not persisted";
  // The new user is served once a certificate of theirs is approved, with the role given.
  auto nina = ApprovedClientFor(*admin, "nina");
  ASSERT_NE(nina, nullptr);
  EXPECT_EQ(Call(*nina, Rpc(schema::CONFIG_HISTORY)).outcome(), schema::OK);
  EXPECT_EQ(Call(*nina, Rpc(schema::AUDIT_READ)).outcome(), schema::DENIED);

  schema::Request demote = Rpc(schema::USER_SET_ROLES);
  demote.mutable_user_set_roles()->set_name("sam-secadmin");
  demote.mutable_user_set_roles()->add_roles(schema::VIEWER);
  const schema::Response refused = Call(*admin, demote);
  EXPECT_EQ(refused.outcome(), schema::REFUSED);
  EXPECT_THAT(refused.error(), HasSubstr("last security-admin"));

  schema::Request remove = Rpc(schema::USER_REMOVE);
  remove.mutable_user_remove()->set_name("nina");
  EXPECT_EQ(Call(*admin, remove).outcome(), schema::OK);
  EXPECT_EQ(Call(*nina, Rpc(schema::STATUS)).outcome(), schema::DENIED);

  const schema::Response list = Call(*admin, Rpc(schema::USER_LIST));
  ASSERT_EQ(list.outcome(), schema::OK);
  EXPECT_EQ(list.users_size(), 5);
  for (const auto& u : list.users())
    EXPECT_FALSE(u.has_password()) << "a password hash left the appliance";
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

// A user is their bound keys, not a name: removing "nina" and adding the name again
// revives none of her certificates, and her old key stays revoked.
TEST_F(ControlServiceTest, ARemovedUserAddedAgainIsNotServedWithAnOldCertificate) {
  auto admin = ClientFor("sam-secadmin");
  schema::Request add = Rpc(schema::USER_ADD);
  add.mutable_user_add()->set_name("nina");
  add.mutable_user_add()->add_roles(schema::SECURITY_ADMIN);
  ASSERT_EQ(Call(*admin, add).outcome(), schema::OK);
  auto request = pki::CreateRequest("nina");
  ASSERT_TRUE(request.has_value());
  schema::Request approve = Rpc(schema::CERT_APPROVE);
  approve.mutable_cert_approve()->set_name("nina");
  approve.mutable_cert_approve()->set_csr_pem(request->cert_pem);
  const schema::Response approved = Call(*admin, approve);
  ASSERT_EQ(approved.outcome(), schema::OK) << approved.error();
  const testing::Credential old{approved.certificate_pem(), request->key_pem};
  auto with_old = [&] {
    return std::make_unique<testing::TlsTestClient>(tls_->port(), pki_.ca_pem(),
                                                    testing::TlsClientOptions{.credential = old});
  };
  EXPECT_EQ(Call(*with_old(), Rpc(schema::USER_LIST)).outcome(), schema::OK);

  schema::Request remove = Rpc(schema::USER_REMOVE);
  remove.mutable_user_remove()->set_name("nina");
  ASSERT_EQ(Call(*admin, remove).outcome(), schema::OK);
  ASSERT_EQ(Call(*admin, add).outcome(), schema::OK);  // the name again, a new user
  const schema::Response refused = Call(*with_old(), Rpc(schema::USER_LIST));
  EXPECT_EQ(refused.outcome(), schema::DENIED);
  EXPECT_THAT(refused.error(), HasSubstr("the certificate's key is not bound to user \"nina\""));
  EXPECT_EQ(Call(*ClientFor("nina"), Rpc(schema::STATUS)).outcome(), schema::DENIED)
      << "a certificate never approved";
  const schema::Response reused = Call(*admin, approve);  // the old key asks again
  EXPECT_EQ(reused.outcome(), schema::REFUSED);
  EXPECT_THAT(reused.error(), HasSubstr("that key was revoked"));
  EXPECT_EQ(saved_users_.revoked_keys_size(), 1);
  ASSERT_NE(ApprovedClientFor(*admin, "nina"), nullptr);  // a new key: served
  EXPECT_EQ(Call(*ApprovedClientFor(*admin, "nina"), Rpc(schema::STATUS)).outcome(), schema::OK);
}

// The appliance's own names are not users': "sbc-mgmtd" signs its own audit entries,
// "sbc-appliance" is its server certificate.
TEST_F(ControlServiceTest, TheAppliancesOwnNamesCannotBeUsers) {
  auto admin = ClientFor("sam-secadmin");
  for (const char* name : {"sbc-mgmtd", "sbc-appliance", "sbc-anything"}) {
    schema::Request add = Rpc(schema::USER_ADD);
    add.mutable_user_add()->set_name(name);
    add.mutable_user_add()->add_roles(schema::SECURITY_ADMIN);
    const schema::Response r = Call(*admin, add);
    EXPECT_EQ(r.outcome(), schema::REFUSED) << name;
    EXPECT_THAT(r.error(), HasSubstr("is reserved")) << name;
  }
}

// A console login for a name that does not exist (or has no password, or is locked)
// runs PBKDF2 on a decoy, as long as a real check: how long the answer takes says
// nothing of which accounts exist (unknown names used to be answered at once).
TEST_F(ControlServiceTest, AConsoleLoginCostsTheSameWhetherTheUserExistsOrNot) {
  uint64_t before = users::Derivations();
  EXPECT_EQ(service_->ConsoleLogin("nobody-here", "Correct-Horse-42").outcome(), schema::DENIED);
  EXPECT_EQ(users::Derivations() - before, 1u) << "an unknown user";
  before = users::Derivations();
  EXPECT_EQ(service_->ConsoleLogin("vera-viewer", "Correct-Horse-42").outcome(), schema::DENIED);
  EXPECT_EQ(users::Derivations() - before, 1u) << "a user without a console password";
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
      EXPECT_EQ(denied, FindRpc(rpc) == nullptr || !allowed.contains(rpc))
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
  push.mutable_config_push()->set_bundle(signers_.Sign(bundle, {0}));
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

// A dataplane that verifies nothing: it runs the version of each bundle it is handed,
// unless told to refuse (as the real one refuses a bundle that does not verify).
class FakeDataplane final : public DataplaneLink {
 public:
  std::expected<schema::DataplaneResponse, std::string> Call(
      const schema::DataplaneRequest& request) override {
    schema::DataplaneResponse response;
    response.set_ok(true);
    if (request.has_apply_bundle()) {
      schema::SignedEnvelope envelope;
      schema::ConfigBundle bundle;
      if (refuse || !envelope.ParseFromString(request.apply_bundle()) ||
          !bundle.ParseFromString(envelope.payload())) {
        response.set_ok(false);
        response.set_error("refused: expired");
      } else {
        rules_version = bundle.meta().version();
      }
    }
    response.set_rules_version(rules_version);
    return response;
  }
  bool refuse = false;
  uint64_t rules_version = 0;
};

// STATUS reports what the dataplane enforces beside what the store runs, and says so
// when they differ (the dataplane verifies every bundle itself and may refuse one).
TEST_F(ControlServiceTest, StatusSaysWhichVersionTheDataplaneEnforces) {
  FakeDataplane dataplane;
  service_->AttachDataplane(&dataplane);
  auto op = ClientFor("otto-operator");
  schema::Request push = Rpc(schema::CONFIG_PUSH);
  push.mutable_config_push()->set_bundle(signers_.Bundle(1, 2));
  ASSERT_EQ(Call(*op, push).outcome(), schema::OK);
  schema::Response status = Call(*op, Rpc(schema::STATUS));
  EXPECT_TRUE(status.dataplane_reachable());
  EXPECT_EQ(status.dataplane_version(), 1u);
  EXPECT_EQ(status.warning(), "");

  dataplane.refuse = true;
  push.mutable_config_push()->set_bundle(signers_.Bundle(2, 3));
  const schema::Response pushed = Call(*op, push);
  EXPECT_EQ(pushed.outcome(), schema::OK);
  EXPECT_THAT(pushed.warning(),
              HasSubstr("not yet in the dataplane: the dataplane refused it: refused: expired"));
  status = Call(*op, Rpc(schema::STATUS));
  EXPECT_EQ(status.running_version(), 2u);
  EXPECT_EQ(status.dataplane_version(), 1u);
  EXPECT_EQ(status.warning(), "the dataplane enforces version 1, not the running version 2");
  service_->AttachDataplane(nullptr);
}

// A dataplane that answers COUNTERS only when told to, and says when one is waiting.
class StuckDataplane final : public DataplaneLink {
 public:
  std::expected<schema::DataplaneResponse, std::string> Call(
      const schema::DataplaneRequest& request) override {
    if (request.get_counters()) {
      waiting_.set_value();
      release_.wait();
    }
    schema::DataplaneResponse response;
    response.set_ok(true);
    return response;
  }
  std::future<void> Waiting() { return waiting_.get_future(); }
  void Release() { released_.set_value(); }

 private:
  std::promise<void> waiting_;
  std::promise<void> released_;
  std::shared_future<void> release_ = released_.get_future().share();
};

// The service's lock is not held across a call to the dataplane: while one RPC waits
// on a dataplane that does not answer (it may take the link's 30 s timeout), every RPC
// that needs only the service's own state is answered. Before the registry, COUNTERS
// held the lock for the whole dataplane call and stalled the API behind it.
TEST_F(ControlServiceTest, OtherCallsAreAnsweredWhileOneWaitsOnTheDataplane) {
  StuckDataplane dataplane;
  std::future<void> waiting = dataplane.Waiting();
  service_->AttachDataplane(&dataplane);
  // As the console calls: a logged-in user, no certificate.
  auto handle = [this](const std::string& user, schema::Rpc rpc) {
    return service_->Handle({.name = user, .console = true}, Rpc(rpc));
  };
  auto stuck =
      std::async(std::launch::async, [&] { return handle("vera-viewer", schema::COUNTERS); });
  waiting.wait();  // COUNTERS is inside the dataplane call now

  // Each on its own thread, so that a call stuck behind the lock fails the test (after
  // the event deadline, a bound for a failing test only) instead of hanging it.
  for (schema::Rpc rpc : {schema::CONFIG_HISTORY, schema::AUDIT_VERIFY}) {
    auto answer = std::async(std::launch::async, [&] { return handle("ada-auditor", rpc); });
    const bool answered = answer.wait_for(std::chrono::seconds(testing::kEventDeadlineS)) ==
                          std::future_status::ready;
    EXPECT_TRUE(answered) << schema::Rpc_Name(rpc) << " waited behind the dataplane call";
    if (!answered) {
      dataplane.Release();  // lets both finish, so the test ends
      return;
    }
    EXPECT_EQ(answer.get().outcome(), schema::OK) << schema::Rpc_Name(rpc);
  }
  dataplane.Release();
  const schema::Response answered = stuck.get();
  EXPECT_EQ(answered.outcome(), schema::OK) << answered.error();
  service_->AttachDataplane(nullptr);
}

TEST_F(ControlServiceTest, OperatorPushesDiffsRollsBackAndConfirms) {
  auto op = ClientFor("otto-operator");
  schema::Request push = Rpc(schema::CONFIG_PUSH);
  push.mutable_config_push()->set_bundle(signers_.Bundle(1, 2));
  EXPECT_EQ(Call(*op, push).outcome(), schema::OK);
  push.mutable_config_push()->set_bundle(signers_.Bundle(2, 3));
  push.mutable_config_push()->set_confirm_within_s(60);
  const schema::Response pushed = Call(*op, push);
  EXPECT_EQ(pushed.outcome(), schema::OK) << pushed.error();
  EXPECT_EQ(pushed.running_version(), 2u);

  schema::Request status = Rpc(schema::STATUS);
  EXPECT_EQ(Call(*op, status).pending_version(), 2u);
  EXPECT_EQ(Call(*op, Rpc(schema::CONFIG_CONFIRM)).outcome(), schema::OK);
  EXPECT_EQ(Call(*op, status).pending_version(), 0u);

  schema::Request diff = Rpc(schema::CONFIG_DIFF);
  diff.mutable_config_diff()->set_from_version(1);
  diff.mutable_config_diff()->set_to_version(2);
  EXPECT_THAT(Call(*op, diff).text(), HasSubstr("+  name: \"rule-2\""));

  push.mutable_config_push()->set_bundle("garbage");
  const schema::Response refused = Call(*op, push);
  EXPECT_EQ(refused.outcome(), schema::REFUSED);
  EXPECT_THAT(refused.error(), HasSubstr("malformed"));

  schema::Request rollback = Rpc(schema::CONFIG_ROLLBACK);
  rollback.mutable_config_rollback()->set_version(1);
  EXPECT_EQ(Call(*op, rollback).outcome(), schema::OK);
  EXPECT_EQ(Call(*op, status).running_version(), 1u);
  EXPECT_EQ(Call(*op, status).highest_version(), 2u);

  // The auditor sees the change recorded with what changed.
  auto auditor = ClientFor("ada-auditor");
  const schema::Response log = Call(*auditor, Rpc(schema::AUDIT_READ));
  ASSERT_EQ(log.outcome(), schema::OK);
  bool diff_recorded = false, rollback_recorded = false;
  for (const auto& e : log.audit()) {
    diff_recorded |= e.rpc() == schema::CONFIG_PUSH &&
                     e.detail().find("+  name: \"rule-2\"") != std::string::npos;
    rollback_recorded |=
        e.rpc() == schema::CONFIG_ROLLBACK && e.detail() == "rolled back from version 2 to 1";
  }
  EXPECT_TRUE(diff_recorded);
  EXPECT_TRUE(rollback_recorded);
  const schema::Response verify = Call(*auditor, Rpc(schema::AUDIT_VERIFY));
  EXPECT_TRUE(verify.audit_intact()) << verify.error();
}

TEST_F(ControlServiceTest, ConsolePasswordsFollowTheConfiguredPolicyAndLockOut) {
  schema::Management management;
  management.set_login_banner("Authorised use only.");
  management.mutable_password_policy()->set_min_length(14);
  management.mutable_password_policy()->set_max_failed_logins(2);
  management.mutable_password_policy()->set_lockout_s(600);
  PushManagement(management);

  // The configured policy, not the default: 13 characters are too few here.
  SetPassword("otto-operator", "Correct-Hors3", schema::REFUSED, "shorter than 14");
  SetPassword("nobody", "Correct-Horse-42", schema::REFUSED, "no user \"nobody\"");
  SetPassword("otto-operator", "Correct-Horse-42", schema::OK);
  SetPassword("sam-secadmin", "Battery-Staple-7", schema::OK);
  const schema::Response list = Call(*ClientFor("sam-secadmin"), Rpc(schema::USER_LIST));
  for (const auto& u : list.users()) {
    EXPECT_FALSE(u.has_password()) << "a password hash left the appliance";
    EXPECT_EQ(u.password_set(), u.name() == "otto-operator" || u.name() == "sam-secadmin")
        << u.name();
  }
  ASSERT_TRUE(saved_users_.users(1).has_password()) << "the hash was not persisted";

  // A good login carries the banner; a wrong one says nothing about which part was wrong.
  const schema::Response ok = service_->ConsoleLogin("otto-operator", "Correct-Horse-42");
  EXPECT_EQ(ok.outcome(), schema::OK) << ok.error();
  EXPECT_EQ(ok.login_banner(), "Authorised use only.");
  const schema::Response wrong = service_->ConsoleLogin("otto-operator", "Correct-Horse-43");
  EXPECT_EQ(wrong.outcome(), schema::DENIED);
  EXPECT_EQ(wrong.error(), "wrong user name or password");
  // The second failure (max_failed_logins 2) locks otto out: the right password no
  // longer works, and the answer is the same as for a wrong one.
  EXPECT_EQ(service_->ConsoleLogin("otto-operator", "nope").outcome(), schema::DENIED);
  const schema::Response locked = service_->ConsoleLogin("otto-operator", "Correct-Horse-42");
  EXPECT_EQ(locked.outcome(), schema::DENIED);
  EXPECT_EQ(locked.error(), "wrong user name or password");
  EXPECT_GT(saved_users_.users(1).locked_until_unix(), 0) << "the lockout was not persisted";

  // The last security-admin able to log in is not locked out, but slowed down: past the
  // limit each try must wait (1 s after the second failure here), then gets in.
  // The appliance's clock is the host's plus an offset, so it moves while this runs (a
  // PBKDF2 under ASan on a loaded machine takes seconds): the tries are placed against
  // the end of the wait that was recorded, not against how quickly they follow.
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(service_->ConsoleLogin("sam-secadmin", "wrong").outcome(), schema::DENIED);
  int64_t wait_ends_s = 0;
  for (const auto& u : saved_users_.users())
    if (u.name() == "sam-secadmin") wait_ends_s = u.locked_until_unix();
  ASSERT_GT(wait_ends_s, 0) << "the wait was not recorded";
  ASSERT_TRUE(clock_->Set((wait_ends_s - 60) * 1000).has_value());
  EXPECT_EQ(service_->ConsoleLogin("sam-secadmin", "Battery-Staple-7").outcome(), schema::DENIED)
      << "too soon";
  ASSERT_TRUE(clock_->Set((wait_ends_s + 1) * 1000).has_value());
  EXPECT_EQ(service_->ConsoleLogin("sam-secadmin", "Battery-Staple-7").outcome(), schema::OK);
  // A new password from a security-admin lifts otto's lockout.
  SetPassword("otto-operator", "Another-Horse-43", schema::OK);
  EXPECT_EQ(service_->ConsoleLogin("otto-operator", "Another-Horse-43").outcome(), schema::OK);
  EXPECT_EQ(service_->ConsoleLogin("vera-viewer", "no-password-set").outcome(), schema::DENIED);
  EXPECT_EQ(service_->ConsoleLogin("Correct-Horse-42", "typed one field early").outcome(),
            schema::DENIED);

  // Every attempt is audited, with why it failed, and no password anywhere in the log.
  std::vector<std::string> details;
  for (const auto& e : Audited(schema::CONSOLE_LOGIN))
    details.push_back(e.user() + ": " + e.detail());
  EXPECT_THAT(
      details,
      ::testing::ElementsAre(
          "otto-operator: console login", "otto-operator: console login: wrong password",
          ::testing::StartsWith(
              "otto-operator: console login: wrong password; locked out until 20"),
          ::testing::StartsWith("otto-operator: console login refused: locked out until 20"),
          "sam-secadmin: console login: wrong password",
          ::testing::StartsWith("sam-secadmin: console login: wrong password; locked out until 20"),
          ::testing::StartsWith("sam-secadmin: console login refused: locked out until 20"),
          "sam-secadmin: console login", "otto-operator: console login",
          "vera-viewer: console login: no such user, or no console password set",
          "(unknown user): console login: no such user, or no console password set"));
  const auto changes = Audited(schema::USER_SET_PASSWORD);
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[2].detail(), "set the console password of otto-operator");
  auto all = audit::ReadAll(dir_ / "audit");
  ASSERT_TRUE(all.has_value());
  for (const auto& e : *all)
    for (const char* secret :
         {"Correct-Horse-42", "Battery-Staple-7", "Another-Horse-43", "Correct-Hors3"})
      EXPECT_EQ(e.detail().find(secret), std::string::npos)
          << "a password in the audit log: " << e.detail();
}

TEST_F(ControlServiceTest, AClockChangeIsAuditedWithTheOldAndNewTime) {
  auto admin = ClientFor("sam-secadmin");
  const int64_t before = Call(*admin, Rpc(schema::STATUS)).clock_unix_ms();
  EXPECT_NEAR(static_cast<double>(before), static_cast<double>(base::SystemClock().NowUnixMs()),
              60000.0);

  const int64_t target = *clock::ParseUtc("2031-03-04T05:06:07Z");
  schema::Request set = Rpc(schema::CLOCK_SET);
  set.mutable_clock_set()->set_unix_ms(target);
  const schema::Response r = Call(*admin, set);
  ASSERT_EQ(r.outcome(), schema::OK) << r.error();
  EXPECT_NEAR(static_cast<double>(Call(*admin, Rpc(schema::STATUS)).clock_unix_ms()),
              static_cast<double>(target), 60000.0);

  set.mutable_clock_set()->set_unix_ms(0);
  const schema::Response refused = Call(*admin, set);
  EXPECT_EQ(refused.outcome(), schema::REFUSED);
  EXPECT_THAT(refused.error(),
              HasSubstr("1970-01-01T00:00:00.000Z is outside 2024-01-01T00:00:00.000Z"));

  const auto entries = Audited(schema::CLOCK_SET);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_THAT(
      entries[0].detail(),
      ::testing::MatchesRegex("clock set from 20[0-9-]+T[0-9:.]+Z to 2031-03-04T05:06:07.000Z"));
  EXPECT_THAT(entries[0].detail(), HasSubstr(clock::FormatUtc(before).substr(0, 16)));
  // Entries after the change carry the new time; the offset survives a restart.
  EXPECT_GE(entries[1].time_unix_ms(), target);
  auto reopened = clock::OffsetFileClock(dir_ / "clock-offset");
  ASSERT_TRUE(reopened.has_value());
  EXPECT_NEAR(static_cast<double>((*reopened)->NowUnixMs()), static_cast<double>(target), 60000.0);
}

TEST_F(ControlServiceTest, AKeyRotationIsAuditedByKeyAndUnknownKeysAreRefused) {
  std::string current = pki_.Issue("sbc-appliance").cert_pem;
  service_->AttachKeyRotation("mgmtd-tls", [&]() -> std::expected<std::string, std::string> {
    const testing::Credential next = pki_.Issue("sbc-appliance");
    if (auto ok = tls_->ReplaceCredential(next.cert_pem, next.key_pem); !ok)
      return std::unexpected(ok.error());
    const std::string detail =
        "key " + *pki::KeyFingerprint(current) + " -> " + *pki::KeyFingerprint(next.cert_pem);
    current = next.cert_pem;
    return detail;
  });
  auto admin = ClientFor("sam-secadmin");
  schema::Request rotate = Rpc(schema::KEY_ROTATE);
  rotate.mutable_key_rotate()->set_key_name("mgmtd-tls");
  const schema::Response r = Call(*admin, rotate);
  ASSERT_EQ(r.outcome(), schema::OK) << r.error();
  EXPECT_THAT(r.text(), ::testing::MatchesRegex(
                            "rotated mgmtd-tls: key sha256:[0-9a-f]{16} -> sha256:[0-9a-f]{16}"));
  EXPECT_THAT(r.text(), HasSubstr(*pki::KeyFingerprint(current)));
  EXPECT_EQ(Call(*ClientFor("sam-secadmin"), Rpc(schema::STATUS)).outcome(), schema::OK)
      << "not served after rotation";

  rotate.mutable_key_rotate()->set_key_name("ssh-host");
  const schema::Response refused = Call(*admin, rotate);
  EXPECT_EQ(refused.outcome(), schema::REFUSED);
  EXPECT_EQ(refused.error(), "no key \"ssh-host\" to rotate; this appliance rotates: mgmtd-tls");
  const auto entries = Audited(schema::KEY_ROTATE);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].detail(), r.text());
  EXPECT_EQ(entries[1].outcome(), schema::REFUSED);
}

}  // namespace
}  // namespace sbc::mgmt::service
