// The console socket with stand-in login and request handlers (the real ones, with
// PBKDF2 and the audit log, are in control_service_integration_test): the first frame
// must be a login, a refused login closes the session, after a login every request is
// served as that user, and idle or surplus sessions are closed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "sbc/mgmt/control/console_server.h"
#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"
#include "support/manual_steady_clock.h"
#include "support/wait.h"

namespace sbc::mgmt::control {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class ConsoleServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("sbc-console-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock"))
                .string();
    Start({.socket_path = path_,
           .max_sessions = 2,
           .read_timeout = 1000ms,
           .idle_timeout = 400ms,
           .clock = &clock_});
  }
  void Start(const ConsoleServerConfig& config) {
    server_.reset();
    auto s = ConsoleServer::Start(
        config,
        [this](const std::string& user, const std::string& password) {
          schema::Response r;
          ++logins_;
          r.set_outcome(user == "otto" && password == "Correct-Horse-42" ? schema::OK
                                                                         : schema::DENIED);
          r.set_user(user);
          return r;
        },
        [](const std::string& user, const std::string& frame) {
          schema::Request request;
          schema::Response r;
          r.set_outcome(request.ParseFromString(frame) ? schema::OK : schema::REFUSED);
          r.set_user(user);
          r.set_text(schema::Rpc_Name(static_cast<schema::Rpc>(request.call_case())));
          return r.SerializeAsString();
        });
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
  }

  struct Session {
    int fd = -1;
    ~Session() {
      if (fd >= 0) close(fd);
    }
    // One request, one reply; nullopt when the server closed the session.
    std::optional<schema::Response> Call(const schema::Request& request) {
      FdTransport t(fd);
      if (!WriteFrame(t, request.SerializeAsString())) return std::nullopt;
      auto reply = ReadFrame(t, std::chrono::seconds(testing::kEventDeadlineS));
      schema::Response r;
      if (!reply || !r.ParseFromString(*reply)) return std::nullopt;
      return r;
    }
    // Whether the server closes the session (nothing more to read) before the test
    // gives up waiting.
    bool WaitClosed() {
      FdTransport t(fd);
      auto frame = ReadFrame(t, std::chrono::seconds(testing::kEventDeadlineS));
      return !frame && frame.error() == FrameError::kClosed;
    }
  };
  std::unique_ptr<Session> Connect() {
    auto fd = ConnectUnix(path_);
    EXPECT_TRUE(fd.has_value());
    auto s = std::make_unique<Session>();
    s->fd = fd.value_or(-1);
    return s;
  }
  static schema::Request Login(const std::string& user, const std::string& password) {
    schema::Request r;
    r.mutable_console_login()->set_name(user);
    r.mutable_console_login()->set_password(password);
    return r;
  }
  static schema::Request Rpc(schema::Rpc rpc) {
    schema::Request r;
    if (const auto* field = schema::Request::descriptor()->FindFieldByNumber(rpc))
      r.GetReflection()->MutableMessage(&r, field);
    return r;
  }

  testing::ManualSteadyClock clock_;  // the server's timeouts run on it
  std::string path_;
  std::unique_ptr<ConsoleServer> server_;
  std::atomic<int> logins_{0};
};

TEST_F(ConsoleServerTest, TheSocketIsOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ConsoleServerTest, AnotherUserIsRefusedEvenIfTheSocketIsOpenedUp) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
  ASSERT_EQ(chmod(path_.c_str(), 0666), 0);  // the mistake the peer check guards against
  const pid_t child = fork();
  if (child == 0) {
    // nobody: connects, tries to log in, and must see the session closed unanswered.
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    auto fd = ConnectUnix(path_);
    if (!fd) _exit(4);
    FdTransport t(*fd);
    (void)WriteFrame(t, Login("otto", "Correct-Horse-42").SerializeAsString());
    _exit(ReadFrame(t, std::chrono::seconds(testing::kEventDeadlineS)).has_value() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(server_->stats().refused_peers, 1u);
  EXPECT_EQ(logins_.load(), 0);
}

TEST_F(ConsoleServerTest, ALoggedInSessionIsServedAsThatUser) {
  auto s = Connect();
  const auto login = s->Call(Login("otto", "Correct-Horse-42"));
  ASSERT_TRUE(login.has_value());
  EXPECT_EQ(login->outcome(), schema::OK);
  for (schema::Rpc rpc : {schema::STATUS, schema::CONFIG_HISTORY}) {
    const auto r = s->Call(Rpc(rpc));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->user(), "otto");
    EXPECT_EQ(r->text(), schema::Rpc_Name(rpc));
  }
}

TEST_F(ConsoleServerTest, AWrongPasswordClosesTheSession) {
  auto s = Connect();
  const auto login = s->Call(Login("otto", "guess"));
  ASSERT_TRUE(login.has_value());
  EXPECT_EQ(login->outcome(), schema::DENIED);
  EXPECT_FALSE(s->Call(Rpc(schema::STATUS)).has_value()) << "served after a refused login";
  EXPECT_EQ(server_->stats().failed_logins, 1u);
}

TEST_F(ConsoleServerTest, ARequestBeforeTheLoginIsRefusedAndClosesTheSession) {
  auto s = Connect();
  const auto r = s->Call(Rpc(schema::STATUS));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->outcome(), schema::REFUSED);
  EXPECT_THAT(r->error(), HasSubstr("log in first"));
  EXPECT_FALSE(s->Call(Login("otto", "Correct-Horse-42")).has_value());
  EXPECT_EQ(logins_.load(), 0) << "the login handler ran for a non-login frame";
}

TEST_F(ConsoleServerTest, GarbageClosesOneSessionAndOthersGoOn) {
  auto bad = Connect();
  const char junk[] = "\xff\xff\xff\xffjunk";
  ASSERT_EQ(write(bad->fd, junk, sizeof(junk) - 1), ssize_t(sizeof(junk) - 1));
  char byte;
  EXPECT_EQ(read(bad->fd, &byte, 1), 0) << "an oversized frame did not close the session";
  auto good = Connect();
  ASSERT_EQ(good->Call(Login("otto", "Correct-Horse-42"))->outcome(), schema::OK);
  EXPECT_EQ(server_->stats().bad_frames, 1u);
}

TEST_F(ConsoleServerTest, AnIdleSessionIsClosed) {
  auto s = Connect();
  ASSERT_EQ(s->Call(Login("otto", "Correct-Horse-42"))->outcome(), schema::OK);
  for (int i = 0; i < 3; ++i) {  // a frame every 300 ms of 400: never idle long enough
    clock_.Advance(300ms);
    ASSERT_TRUE(s->Call(Rpc(schema::STATUS)).has_value())
        << "closed before the idle timeout, call " << i;
  }
  clock_.Advance(401ms);
  EXPECT_TRUE(s->WaitClosed()) << "the idle session was kept open";
}

TEST_F(ConsoleServerTest, APasswordTypedTooSlowlyEndsTheSession) {
  auto s = Connect();
  ASSERT_TRUE(
      testing::WaitUntil([&] { return server_->stats().sessions == 1; }));  // its login is due
  FdTransport t(s->fd);
  ASSERT_TRUE(
      t.WriteAll(std::string("\0\0\0\x40", 4)).has_value());  // a frame begun, never finished
  clock_.Advance(1001ms);
  EXPECT_TRUE(s->WaitClosed());
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().bad_frames == 1; }));
  EXPECT_EQ(logins_.load(), 0);
}

TEST_F(ConsoleServerTest, SessionsBeyondTheLimitAreRefused) {
  auto a = Connect(), b = Connect();
  ASSERT_EQ(a->Call(Login("otto", "Correct-Horse-42"))->outcome(), schema::OK);
  ASSERT_EQ(b->Call(Login("otto", "Correct-Horse-42"))->outcome(), schema::OK);
  auto c = Connect();
  EXPECT_FALSE(c->Call(Login("otto", "Correct-Horse-42")).has_value());
  // The server counts the refusal just after closing the socket the client saw close.
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().refused_over_limit == 1; }));
  a.reset();
  // The closed session's slot is free again once its thread is done.
  EXPECT_TRUE(testing::WaitUntil([&] {
    auto d = Connect();
    const auto r = d->Call(Login("otto", "Correct-Horse-42"));
    return r.has_value() && r->outcome() == schema::OK;
  }));
}

TEST_F(ConsoleServerTest, ASecondServerOnTheSameSocketIsRefused) {
  auto second = ConsoleServer::Start({.socket_path = path_}, nullptr, nullptr);
  ASSERT_FALSE(second.has_value());
  EXPECT_THAT(second.error(), HasSubstr("already running"));
}

TEST_F(ConsoleServerTest, StoppingRemovesTheSocket) {
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(path_));
}

}  // namespace
}  // namespace sbc::mgmt::control
