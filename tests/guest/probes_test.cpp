// Probes against real sockets on the loopback and real commands: a tiny listener
// in a thread answers as each test needs (an HTTP status, or nothing at all).
#include "guest/probes.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "oom/clock.hpp"
#include "scenario/scenario.hpp"

using namespace oom;

namespace {

// A socket bound to 127.0.0.1 on an ephemeral port.
int boundSocket(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
  return fd;
}

// Accepts connections; answers each request with `response`, or, when it is
// empty, holds the connection open without a word until destroyed.
class Listener {
 public:
  explicit Listener(std::string response) : response_(std::move(response)) {
    fd_ = boundSocket(port_);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~Listener() {
    running_ = false;
    thread_.join();
    for (int c : held_) ::close(c);
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (running_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      if (response_.empty()) {
        held_.push_back(c);
        continue;
      }
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      [[maybe_unused]] auto n = ::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::string response_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> running_{true};
  std::vector<int> held_;
  std::thread thread_;
};

PlannedProbe probe(const std::string& name, const std::string& kind, double timeout = 1) {
  PlannedProbe p;
  p.name = name;
  p.kind = kind;
  p.timeout_sec = timeout;
  return p;
}

PlannedProbe httpProbe(const Listener& l, const std::string& path = "/health") {
  PlannedProbe p = probe("health", kProbeHttp);
  p.target = "http://127.0.0.1:" + std::to_string(l.port()) + path;
  return p;
}

PlannedProbe commandProbe(std::vector<std::string> argv, double timeout = 1) {
  PlannedProbe p = probe("cmd", kProbeCommand, timeout);
  p.command = std::move(argv);
  return p;
}

bool noChildLeft() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

const char* kOk = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall good: PONG\n";

}  // namespace

TEST(ProbeAttempt, HttpIsOkWhenTheStatusMatches) {
  Listener l(kOk);
  const ProbeAttempt a = attemptProbe(httpProbe(l));
  EXPECT_TRUE(a.ok) << a.result;
  EXPECT_EQ(a.result, "ok");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.probe, "health");
  EXPECT_GT(a.t, 0);
  EXPECT_GE(a.latency_sec, 0);
  EXPECT_LT(a.latency_sec, 1);
}

TEST(ProbeAttempt, HttpFailsOnAnotherStatus) {
  Listener l("HTTP/1.0 503 Service Unavailable\r\n\r\nbusy");
  const ProbeAttempt a = attemptProbe(httpProbe(l));
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.result, "status 503");
  EXPECT_EQ(a.status, 503);
}

TEST(ProbeAttempt, HttpChecksTheBodyForTheExpectedOutput) {
  Listener l(kOk);
  PlannedProbe p = httpProbe(l);
  p.output = "PONG";
  EXPECT_TRUE(attemptProbe(p).ok);
  p.output = "READY";
  const ProbeAttempt a = attemptProbe(p);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.result, "output lacks \"READY\"");
  EXPECT_EQ(a.status, 200);
}

TEST(ProbeAttempt, HttpTimesOutOnAServerThatNeverAnswers) {
  Listener l("");
  PlannedProbe p = httpProbe(l);
  p.timeout_sec = 0.3;
  const double t0 = monotonicSeconds();
  const ProbeAttempt a = attemptProbe(p);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.result, "timeout");
  EXPECT_DOUBLE_EQ(a.latency_sec, 0.3);
  EXPECT_LT(monotonicSeconds() - t0, 3.0);
}

TEST(ProbeAttempt, TcpIsOkWhenItConnectsAndRefusedOnAClosedPort) {
  Listener l("");
  PlannedProbe p = probe("port", kProbeTcp);
  p.target = l.address();
  EXPECT_EQ(attemptProbe(p).result, "ok");
  std::uint16_t closed = 0;
  ::close(boundSocket(closed));  // bound, never listened on, closed: nothing there
  p.target = "127.0.0.1:" + std::to_string(closed);
  const ProbeAttempt a = attemptProbe(p);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.result, "refused");
  PlannedProbe h = probe("health", kProbeHttp);
  h.target = "http://localhost:" + std::to_string(closed) + "/";
  EXPECT_EQ(attemptProbe(h).result, "refused");
}

TEST(ProbeAttempt, CommandIsOkOnExitZeroWithTheExpectedOutput) {
  PlannedProbe p = commandProbe({"/bin/echo", "PONG"});
  p.output = "PONG";
  const ProbeAttempt a = attemptProbe(p);
  EXPECT_TRUE(a.ok) << a.result;
  EXPECT_EQ(a.status, 0);
  p.output = "PANG";
  EXPECT_EQ(attemptProbe(p).result, "output lacks \"PANG\"");
  EXPECT_TRUE(attemptProbe(commandProbe({"true"})).ok);  // a name looked up in PATH
  EXPECT_TRUE(noChildLeft());
}

TEST(ProbeAttempt, CommandFailsOnItsExitStatus) {
  const ProbeAttempt a = attemptProbe(commandProbe({"/bin/false"}));
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.result, "exit 1");
  EXPECT_EQ(a.status, 1);
  const ProbeAttempt missing = attemptProbe(commandProbe({"/nonexistent/probe"}));
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.result.find("No such file"), std::string::npos) << missing.result;
}

TEST(ProbeAttempt, CommandIsKilledAndReapedAtItsTimeout) {
  const double t0 = monotonicSeconds();
  const ProbeAttempt a = attemptProbe(commandProbe({"/bin/sleep", "5"}, 0.3));
  EXPECT_LT(monotonicSeconds() - t0, 3.0);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.result, "timeout");
  EXPECT_EQ(a.status, -9);
  EXPECT_TRUE(noChildLeft());
}

namespace {

struct TempFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("oomharness-probes-" + std::to_string(::getpid()) + ".jsonl");
  ~TempFile() { std::filesystem::remove(path); }
  std::vector<nlohmann::json> records() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

}  // namespace

TEST(ProbeRunner, TriesEachProbeOnItsScheduleAndRecordsEveryAttempt) {
  TempFile file;
  Listener l(kOk);
  std::uint16_t closed = 0;
  ::close(boundSocket(closed));
  PlannedProbe up = httpProbe(l);
  PlannedProbe down = probe("port", kProbeTcp);
  down.target = "127.0.0.1:" + std::to_string(closed);
  for (auto* p : {&up, &down}) p->interval_sec = 0.3;
  {
    RecordSink sink(file.path.string());
    ProbeRunner runner(sink, {up, down});
    ASSERT_TRUE(runner.start());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    runner.stop();
  }
  std::map<std::string, std::vector<nlohmann::json>> by_probe;
  for (const auto& r : file.records()) {
    EXPECT_EQ(r["type"], kRecordProbe);
    by_probe[r["probe"]].push_back(r);
  }
  for (const char* name : {"health", "port"}) {
    SCOPED_TRACE(name);
    const auto& attempts = by_probe[name];
    EXPECT_GE(attempts.size(), 3u);  // at 0, 0.3, ... 1.5 s: about 5 or 6
    EXPECT_LE(attempts.size(), 7u);
    for (std::size_t i = 1; i < attempts.size(); ++i)  // never two in one slot
      EXPECT_GE(attempts[i]["t"].get<double>() - attempts[i - 1]["t"].get<double>(), 0.25);
  }
  for (const auto& a : by_probe["health"]) EXPECT_EQ(a["result"], "ok");
  for (const auto& a : by_probe["port"]) EXPECT_EQ(a["result"], "refused");
}

TEST(ProbeRunner, StopEndsAnAttemptUnderWayWithoutRecordingIt) {
  TempFile file;
  {
    RecordSink sink(file.path.string());
    ProbeRunner runner(sink, {commandProbe({"/bin/sleep", "5"}, 10)});
    ASSERT_TRUE(runner.start());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const double t0 = monotonicSeconds();
    runner.stop();
    EXPECT_LT(monotonicSeconds() - t0, 2.0);
  }
  EXPECT_TRUE(file.records().empty());
  EXPECT_TRUE(noChildLeft());
}

TEST(ProbeRunner, NothingIsWrittenAfterTheStreamEnded) {
  TempFile file;
  {
    RecordSink sink(file.path.string());
    PlannedProbe p = commandProbe({"true"});
    p.interval_sec = 0.2;
    ProbeRunner runner(sink, {p});  // its destructor stops it
    ASSERT_TRUE(runner.start());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sink.end(0);  // as the sampler's hard end does
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  const auto records = file.records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["type"], kRecordEnd);
}
