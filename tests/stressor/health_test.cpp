// oomstress --health-port: the stressor as a service a probe can see. Real sockets on
// the host's loopback, the real binary: refused before its target is held, 200 while it
// holds it, refused again the moment the main process dies.
#include <arpa/inet.h>
#include <netinet/in.h>

#include "health.hpp"
#include "options.hpp"
#include "stressor_process.hpp"

using namespace oomstress_test;

namespace {

// A port nothing listens on now (the kernel's pick for an ephemeral bind).
std::uint16_t freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// GET /health on 127.0.0.1:port: the whole answer, or "refused" when the connect is.
std::string getHealth(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "refused";
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[1024];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

nlohmann::json waitForStressorEvent(Stressor& s, const std::string& event, double timeout = 15) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
  while (Clock::now() < deadline)
    if (auto line = s.nextLine(timeout); line.is_null() || line.value("event", "") == event) return line;
  return nullptr;
}

}  // namespace

TEST(OomstressHealth, PortIsAWholeNumberFrom1To65535) {
  auto o = oom::stress::parseOptions({"--target", "1G", "--health-port", "8080"});
  ASSERT_TRUE(o) << o.error().str();
  EXPECT_EQ(o->health_port, 8080);
  EXPECT_EQ(oom::stress::parseOptions({"--target", "1G"})->health_port, 0) << "none unless asked";
  for (const char* bad : {"0", "65536", "http", "80x", ""}) {
    auto e = oom::stress::parseOptions({"--target", "1G", "--health-port", bad});
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().where, "--health-port");
    EXPECT_NE(e.error().message.find("1 to 65535"), std::string::npos) << e.error().message;
  }
}

TEST(OomstressHealth, TheAnswerIsOneHttpResponseWithItsLength) {
  const auto r = oom::stress::healthResponse("oomstress pid 7: holding, 64MiB held");
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 37\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "oomstress pid 7: holding, 64MiB held\n");
}

TEST(OomstressHealth, RefusedUntilReadyAnsweredWhileHoldingRefusedOnceTheMainProcessDies) {
  const auto port = freeLoopbackPort();
  Stressor s({"--target", "96M", "--rate", "48M/s", "--processes", "2", "--health-port", std::to_string(port),
              "--report-interval", "200ms"});
  ASSERT_FALSE(s.nextLine().is_null());
  EXPECT_EQ(getHealth(port), "refused") << "before its share of the target is held: not up";
  const auto listening = waitForStressorEvent(s, "listening");
  ASSERT_FALSE(listening.is_null()) << s.stderrTextNow();
  EXPECT_EQ(listening["port"], port);
  EXPECT_EQ(listening["pid"], s.pid());
  const auto answer = getHealth(port);
  EXPECT_EQ(answer.rfind("HTTP/1.0 200 OK", 0), 0u) << answer;
  EXPECT_NE(answer.find("oomstress pid " + std::to_string(s.pid()) + ": holding, 48MiB held"), std::string::npos)
      << "the main process's half of the target: " << answer;
  // The child never held the socket: once the main process is gone, nothing answers.
  const auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 1u);
  ::kill(s.pid(), SIGKILL);
  EXPECT_EQ(s.wait(), 128 + SIGKILL);
  EXPECT_EQ(getHealth(port), "refused") << "the child (pid " << kids[0] << ") is still alive";
  ::kill(kids[0], SIGKILL);
}

TEST(OomstressHealth, APortAlreadyTakenStopsItBeforeAnyAllocation) {
  const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto port = std::to_string(ntohs(addr.sin_port));
  Stressor s({"--target", "64M", "--health-port", port});
  EXPECT_EQ(s.wait(), 2);
  const auto err = s.stderrText();
  EXPECT_NE(err.find("--health-port"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot bind 0.0.0.0:" + port), std::string::npos) << err;
  EXPECT_EQ(s.stdoutText(), "") << "nothing allocated, nothing reported";
  ::close(taken);
}
