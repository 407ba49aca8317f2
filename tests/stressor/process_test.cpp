// Runs the real oomstress binary and checks from outside what it claims.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr double MiB = 1024.0 * 1024.0;

namespace {

class Stressor {
 public:
  explicit Stressor(std::vector<std::string> args, std::vector<std::string> env = {},
                    std::function<void()> in_child = {}) {
    int out[2], err[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    started_ = Clock::now();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (auto& e : env) ::putenv(e.data());
      if (in_child) in_child();
      std::vector<char*> argv{const_cast<char*>(OOMSTRESS_BIN)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(OOMSTRESS_BIN, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Stressor() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(err_);
  }
  pid_t pid() const { return pid_; }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  // Next JSON line on stdout, or null after `timeout` seconds.
  nlohmann::json nextLine(double timeout = 10) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
    while (true) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        auto line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return nlohmann::json::parse(line, nullptr, false);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return nullptr;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return nullptr;
      char chunk[4096];
      const ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return nullptr;
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // Waits for exit; returns the exit status (or 128+signal).
  int wait(double timeout = 10) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string stdoutText() {
    std::string s = buf_;
    char chunk[4096];
    for (ssize_t n; (n = ::read(out_, chunk, sizeof chunk)) > 0;) s.append(chunk, static_cast<std::size_t>(n));
    return s;
  }
  std::string stderrTextNow() {
    pollfd p{err_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return "";
    char chunk[4096];
    const ssize_t n = ::read(err_, chunk, sizeof chunk);
    return n > 0 ? std::string(chunk, static_cast<std::size_t>(n)) : "";
  }
  std::string stderrText() {
    std::string s;
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(err_, chunk, sizeof chunk)) > 0) s.append(chunk, static_cast<std::size_t>(n));
    return s;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool reaped_ = false;
  std::string buf_;
  Clock::time_point started_;
};

double vmRssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024;
  return 0;
}

std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> kids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = s.rfind(')');
    if (close == std::string::npos) continue;
    int ppid = 0;
    char state;
    if (std::sscanf(s.c_str() + close + 2, "%c %d", &state, &ppid) == 2 && ppid == pid)
      kids.push_back(std::stoi(name));
  }
  return kids;
}

nlohmann::json waitForPhase(Stressor& s, const std::string& phase, double timeout = 15) {
  for (auto line = s.nextLine(timeout); !line.is_null(); line = s.nextLine(timeout))
    if (line.value("phase", "") == phase) return line;
  return nullptr;
}

}  // namespace

TEST(OomstressProcess, RssReachesTargetWithinTwoPercent) {
  Stressor s({"--target", "128M", "--report-interval", "200ms"});
  const auto line = waitForPhase(s, "holding");
  ASSERT_FALSE(line.is_null());
  const double rss = vmRssBytes(s.pid());
  EXPECT_NEAR(rss, 128 * MiB, 0.02 * 128 * MiB) << "VmRSS seen from outside";
  EXPECT_NEAR(line["rss_bytes"].get<double>(), rss, 0.02 * 128 * MiB) << "its own report agrees";
  EXPECT_EQ(line["bytes_allocated"], 128 * 1024 * 1024);
}

TEST(OomstressProcess, ReportLinesCarryWhatTheHarnessReads) {
  Stressor s({"--target", "8M", "--rate", "16M/s", "--report-interval", "100ms"});
  const auto line = s.nextLine();
  ASSERT_TRUE(line.is_object());
  for (const char* key : {"t", "pid", "phase", "processes_alive", "bytes_allocated", "rss_bytes",
                          "rss_scope", "rate_bps_interval", "rate_bps_overall"})
    EXPECT_TRUE(line.contains(key)) << key;
  EXPECT_EQ(line["phase"], "ramping");
  EXPECT_EQ(line["pid"], s.pid());
  EXPECT_TRUE(s.stderrTextNow().empty()) << "stderr is for errors only";
}

TEST(OomstressProcess, RateHoldsWithinThreePercent) {
  Stressor s({"--target", "64M", "--rate", "32M/s", "--hold", "0", "--report-interval", "500ms"});
  // Outside: from spawn until VmRSS reaches 64 MiB; the binary's own pages (rss
  // minus bytes_allocated in its last report) are taken out of the bytes counted.
  double outside = -1;
  while (s.elapsed() < 5) {
    if (vmRssBytes(s.pid()) >= 64 * MiB) {
      outside = s.elapsed();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  nlohmann::json last;
  for (auto line = s.nextLine(); !line.is_null(); line = s.nextLine()) last = line;
  EXPECT_EQ(s.wait(), 0);
  ASSERT_TRUE(last.contains("time_to_target"));
  const double own = 64 * MiB / last["time_to_target"].get<double>() / (32 * MiB);
  EXPECT_GE(own, 0.97) << "own report";
  EXPECT_LE(own, 1.03) << "own report";
  ASSERT_GT(outside, 0);
  const double base = last["rss_bytes"].get<double>() - last["bytes_allocated"].get<double>();
  const double seen = (64 * MiB - base) / outside / (32 * MiB);
  EXPECT_GE(seen, 0.97) << "outside: " << outside << " s";
  EXPECT_LE(seen, 1.03) << "outside: " << outside << " s";
}

TEST(OomstressProcess, ProcessesSplitTheTarget) {
  Stressor s({"--target", "96M", "--processes", "3", "--report-interval", "200ms"});
  nlohmann::json line;
  do line = waitForPhase(s, "holding");
  while (!line.is_null() && line.value("process", -1) != 0);
  ASSERT_FALSE(line.is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 2u);
  for (pid_t pid : {s.pid(), kids[0], kids[1]})
    EXPECT_NEAR(vmRssBytes(pid), 32 * MiB, 0.05 * 32 * MiB) << "pid " << pid;
}

TEST(OomstressProcess, SigtermExitsZeroPromptlyWithALastLine) {
  Stressor s({"--target", "32M", "--report-interval", "200ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  const auto t0 = Clock::now();
  ::kill(s.pid(), SIGTERM);
  EXPECT_FALSE(waitForPhase(s, "exiting", 2).is_null());
  EXPECT_EQ(s.wait(2), 0);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.2);
}

TEST(OomstressProcess, ChildKilledIsReportedNotRespawned) {
  Stressor s({"--target", "32M", "--processes", "2", "--report-interval", "200ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 1u);
  ::kill(kids[0], SIGKILL);
  nlohmann::json event;
  for (auto line = s.nextLine(3); !line.is_null(); line = s.nextLine(3))
    if (line.value("event", "") == "child_exited") { event = line; break; }
  ASSERT_FALSE(event.is_null());
  EXPECT_EQ(event["signal"], 9);
  EXPECT_EQ(event["respawn"], false);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(childrenOf(s.pid()).empty());  // half-alive, as OOMPolicy=continue would leave it
}

TEST(OomstressProcess, CheckpointResumesAfterAKill) {
  const fs::path ckpt = fs::temp_directory_path() / ("oomstress-resume-" + std::to_string(::getpid()));
  fs::remove(ckpt);
  {
    Stressor first({"--target", "64M", "--rate", "32M/s", "--checkpoint", ckpt.string(),
                    "--report-interval", "200ms"});
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    ::kill(first.pid(), SIGKILL);  // as the OOM killer would
    first.wait();
  }
  std::ifstream in(ckpt);
  const auto saved = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(saved.is_object());
  const auto done = saved["done"].get<std::uint64_t>();
  EXPECT_GT(done, 16 * MiB);
  EXPECT_LT(done, 64 * MiB);

  Stressor second({"--target", "64M", "--rate", "32M/s", "--checkpoint", ckpt.string(),
                   "--report-interval", "200ms", "--hold", "0"});
  auto resumed = second.nextLine();
  EXPECT_EQ(resumed.value("event", ""), "resumed");
  EXPECT_EQ(resumed["resumed_from"].get<std::uint64_t>(), done);
  EXPECT_EQ(second.wait(), 0);
  std::ifstream again(ckpt);
  const auto finished = nlohmann::json::parse(again, nullptr, false);
  EXPECT_TRUE(finished["complete"].get<bool>());
  EXPECT_EQ(finished["runs"], 2);
  fs::remove(ckpt);
}

TEST(OomstressProcess, BadArgumentExitsTwoNamingTheFlag) {
  Stressor s({"--target", "lots"});
  EXPECT_EQ(s.wait(), 2);
  const auto err = s.stderrText();
  EXPECT_NE(err.find("--target"), std::string::npos) << err;
  EXPECT_NE(err.find("512M"), std::string::npos) << err;
}

namespace {

// A datagram socket standing in for systemd's notify socket. `abstract`: the
// Linux abstract namespace, named "@name" in $NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(bool abstract) {
    name_ = "oomstress-notify-" + std::to_string(::getpid()) + (abstract ? "-abstract" : "");
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = 0;
    if (abstract) {
      std::memcpy(addr.sun_path + 1, name_.data(), name_.size());
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size());
      env_ = "NOTIFY_SOCKET=@" + name_;
    } else {
      path_ = (fs::temp_directory_path() / name_).string();
      ::unlink(path_.c_str());
      std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
      len = sizeof addr;
      env_ = "NOTIFY_SOCKET=" + path_;
    }
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  const std::string& env() const { return env_; }
  // Next datagram, or "" after `timeout` seconds.
  std::string next(double timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout * 1000)) <= 0) return "";
    char msg[512];
    const ssize_t n = ::recv(fd_, msg, sizeof msg, 0);
    return n > 0 ? std::string(msg, static_cast<std::size_t>(n)) : "";
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
  std::string name_, path_, env_;
};

// Waits for READY=1; returns the seconds since spawn (or -1) and every STATUS= seen.
double waitForReady(NotifySocket& sock, Stressor& s, std::vector<std::string>* statuses,
                    double* rss_at_ready = nullptr) {
  while (s.elapsed() < 5) {
    const std::string msg = sock.next(0.1);
    if (msg.rfind("STATUS=", 0) == 0 && statuses) statuses->push_back(msg);
    if (msg == "READY=1") {
      const double at = s.elapsed();
      if (rss_at_ready) {
        *rss_at_ready = vmRssBytes(s.pid());
        for (pid_t kid : childrenOf(s.pid())) *rss_at_ready += vmRssBytes(kid);
      }
      return at;
    }
  }
  return -1;
}

}  // namespace

TEST(OomstressProcess, SendsReadyToSystemdOnceTheTargetIsHeld) {
  NotifySocket sock(false);
  ASSERT_TRUE(sock.bound());
  Stressor s({"--target", "64M", "--rate", "64M/s", "--processes", "2", "--report-interval", "200ms"},
             {sock.env()});
  std::vector<std::string> statuses;
  double rss = 0;
  const double ready_at = waitForReady(sock, s, &statuses, &rss);
  ASSERT_GT(ready_at, 0) << "no READY=1";
  EXPECT_GE(ready_at, 0.95) << "READY=1 must wait until the 1 s ramp is done";
  EXPECT_GE(rss, 0.98 * 64 * MiB) << "both processes hold their share when READY=1 arrives";
  EXPECT_FALSE(statuses.empty()) << "STATUS= at each report";
  // READY=1 is sent once.
  for (std::string msg = sock.next(0.5); !msg.empty(); msg = sock.next(0.1)) EXPECT_NE(msg, "READY=1");
}

TEST(OomstressProcess, NotifiesAnAbstractSocketToo) {
  NotifySocket sock(true);
  ASSERT_TRUE(sock.bound());
  Stressor s({"--target", "8M"}, {sock.env()});
  EXPECT_GT(waitForReady(sock, s, nullptr), 0) << "no READY=1 on " << sock.env();
}

TEST(OomstressProcess, LeakSendsReadyAtTheBaselineAndKeepsGrowing) {
  NotifySocket sock(false);
  ASSERT_TRUE(sock.bound());
  Stressor s({"--target", "32M", "--leak", "--rate", "64M/s", "--report-interval", "100ms"}, {sock.env()});
  double rss = 0;
  ASSERT_GT(waitForReady(sock, s, nullptr, &rss), 0);
  EXPECT_GE(rss, 0.98 * 32 * MiB);
  const auto line = waitForPhase(s, "leaking");
  ASSERT_FALSE(line.is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GT(vmRssBytes(s.pid()), 48 * MiB) << "half a second of leaking at 64M/s";
}

namespace {

struct CheckpointFile {
  fs::path path = fs::temp_directory_path() /
                  ("oomstress-ckpt-" + std::to_string(::getpid()) + "-" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  CheckpointFile() { fs::remove(path); }
  ~CheckpointFile() { fs::remove(path); }
  nlohmann::json read() const {
    std::ifstream in(path);
    return nlohmann::json::parse(in, nullptr, false);
  }
};

}  // namespace

TEST(OomstressProcess, LeakingCheckpointedJobResumesAndLeaksAgainFromItsBaseline) {
  CheckpointFile ckpt;
  {
    Stressor first({"--target", "16M", "--leak", "--rate", "32M/s", "--checkpoint", ckpt.path.string(),
                    "--report-interval", "100ms"});
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ::kill(first.pid(), SIGKILL);  // as the OOM killer would
    first.wait();
  }
  const auto saved = ckpt.read();
  ASSERT_TRUE(saved.is_object());
  const auto done = saved["done"].get<std::uint64_t>();
  EXPECT_GT(done, 24 * MiB) << "the baseline and some leaked bytes are work";
  EXPECT_TRUE(saved["leak"].get<bool>());

  Stressor second({"--target", "16M", "--leak", "--rate", "32M/s", "--checkpoint", ckpt.path.string(),
                   "--report-interval", "100ms"});
  const auto resumed = second.nextLine();
  EXPECT_EQ(resumed.value("event", ""), "resumed");
  EXPECT_EQ(resumed["resumed_from"].get<std::uint64_t>(), done);
  const auto first_report = second.nextLine();
  ASSERT_TRUE(first_report.is_object());
  EXPECT_LT(first_report["bytes_allocated"].get<double>(), 16 * MiB + 8 * MiB)
      << "a restart frees the leak: it rebuilds its baseline, not everything it ever leaked";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GT(ckpt.read()["done"].get<std::uint64_t>(), done) << "the work goes on from the checkpoint";
  EXPECT_EQ(ckpt.read()["runs"], 2);
}

TEST(OomstressProcess, ResumesTheTargetItsCheckpointRecordsAndAFinishedJobExitsAtOnce) {
  CheckpointFile ckpt;
  {
    Stressor first({"--target", "8M", "--processes", "2", "--checkpoint", ckpt.path.string()});
    EXPECT_EQ(first.wait(), 0);
  }
  EXPECT_TRUE(ckpt.read()["complete"].get<bool>());
  EXPECT_EQ(ckpt.read()["job_target"], 8 * 1024 * 1024);
  Stressor again({"--checkpoint", ckpt.path.string(), "--processes", "2"});  // no --target
  const auto resumed = again.nextLine();
  EXPECT_EQ(resumed.value("event", ""), "resumed");
  EXPECT_EQ(resumed["target"], 4 * 1024 * 1024) << "this process's share of the recorded 8M";
  EXPECT_TRUE(resumed["complete"].get<bool>());
  EXPECT_EQ(again.wait(2), 0);
  fs::remove(ckpt.path.string() + ".1");
}

TEST(OomstressProcess, CorruptCheckpointExitsTwoNamingTheFile) {
  CheckpointFile ckpt;
  std::ofstream(ckpt.path) << "{\"format\":\"oomstress-checkpoint/1\",\"done\":";
  Stressor s({"--target", "8M", "--checkpoint", ckpt.path.string()});
  EXPECT_EQ(s.wait(), 2);
  const auto err = s.stderrText();
  EXPECT_NE(err.find(ckpt.path.string()), std::string::npos) << err;
  EXPECT_NE(err.find("delete it"), std::string::npos) << err;
}

TEST(OomstressProcess, HelpExplainsTheCheckpointWorkAndExitsZero) {
  Stressor s({"--help"});
  EXPECT_EQ(s.wait(), 0);
  const std::string out = s.stdoutText();
  EXPECT_NE(out.find("usage: oomstress"), std::string::npos) << out;
  EXPECT_NE(out.find("resumed_from"), std::string::npos) << "--help defines a checkpointed job's work";
}

TEST(OomstressProcess, StartAfterReportsWaitingThenRamps) {
  Stressor s({"--target", "8M", "--start-after", "300ms", "--report-interval", "100ms"});
  const auto first = s.nextLine();
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["phase"], "waiting");
  EXPECT_EQ(first["bytes_allocated"], 0);
  const auto holding = waitForPhase(s, "holding", 3);
  ASSERT_FALSE(holding.is_null());
  EXPECT_GE(holding["t"].get<double>(), 0.3);
}

TEST(OomstressProcess, SpikeAddsItsSizeAtOnceAtItsTime) {
  Stressor s({"--target", "16M", "--spike", "32M@400ms", "--report-interval", "100ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  EXPECT_LT(vmRssBytes(s.pid()), 24 * MiB);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_NEAR(vmRssBytes(s.pid()), 48 * MiB, 0.03 * 48 * MiB);
}

TEST(OomstressProcess, SawtoothReturnsMemoryAndGrowsBack) {
  Stressor s({"--target", "32M", "--rate", "64M/s", "--sawtooth", "--report-interval", "50ms"});
  ASSERT_FALSE(waitForPhase(s, "sawtooth").is_null());
  double low = 1e18, high = 0;
  for (int i = 0; i < 60; ++i) {  // 0.6 s: two periods of 0.25 s
    const double rss = vmRssBytes(s.pid());
    low = std::min(low, rss);
    high = std::max(high, rss);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LT(low, 22 * MiB) << "munmap gives the upper half back";
  EXPECT_GT(high, 28 * MiB) << "and it grows back towards the target";
}

TEST(OomstressProcess, SigtermToTheMainProcessStopsEveryProcess) {
  Stressor s({"--target", "24M", "--processes", "3", "--report-interval", "100ms"});
  nlohmann::json line;
  do line = waitForPhase(s, "holding");
  while (!line.is_null() && line.value("process", -1) != 0);
  ASSERT_FALSE(line.is_null());
  const auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 2u);
  const auto t0 = Clock::now();
  ::kill(s.pid(), SIGTERM);  // the main process only, as KillMode=mixed would
  EXPECT_EQ(s.wait(2), 0);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.2);
  for (pid_t kid : kids) EXPECT_FALSE(fs::exists("/proc/" + std::to_string(kid))) << "child " << kid;
}

TEST(OomstressProcess, MlockLocksWhatItHolds) {
  Stressor s({"--target", "16M", "--mlock", "--report-interval", "100ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  std::ifstream in("/proc/" + std::to_string(s.pid()) + "/status");
  double locked = 0;
  for (std::string l; std::getline(in, l);)
    if (l.rfind("VmLck:", 0) == 0) locked = std::stod(l.substr(6)) * 1024;
  if (locked == 0 && !s.stderrTextNow().empty()) GTEST_SKIP() << "mlock not allowed here";
  EXPECT_NEAR(locked, 16 * MiB, 0.02 * 16 * MiB);
}

TEST(OomstressProcess, RefusedMemoryIsReportedOnceAndRetried) {
  // An address-space limit makes mmap fail, as vm.overcommit_memory=2 would.
  Stressor s({"--target", "128M", "--report-interval", "100ms"}, {}, [] {
    rlimit limit{64u << 20, 64u << 20};
    ::setrlimit(RLIMIT_AS, &limit);
  });
  const auto line = waitForPhase(s, "ramping");
  ASSERT_FALSE(line.is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto err = s.stderrTextNow();
  EXPECT_NE(err.find("oomstress: mmap failed"), std::string::npos) << err;
  EXPECT_EQ(err.find("mmap failed", err.find("mmap failed") + 1), std::string::npos) << "once: " << err;
  EXPECT_LT(s.nextLine()["bytes_allocated"].get<double>(), 64 * MiB) << "it reports what it holds";
  ::kill(s.pid(), SIGTERM);
  EXPECT_EQ(s.wait(2), 0);
}
