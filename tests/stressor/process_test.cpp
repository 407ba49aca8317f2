// Runs the real oomstress binary and checks from outside what it claims.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
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
  explicit Stressor(std::vector<std::string> args, std::vector<std::string> env = {}) {
    int out[2], err[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    started_ = Clock::now();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (auto& e : env) ::putenv(e.data());
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
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  const double rss = vmRssBytes(s.pid());
  EXPECT_NEAR(rss, 128 * MiB, 0.02 * 128 * MiB) << "VmRSS seen from outside";
}

TEST(OomstressProcess, RateHoldsWithinThreePercent) {
  Stressor s({"--target", "64M", "--rate", "32M/s", "--hold", "0", "--report-interval", "500ms"});
  nlohmann::json last;
  for (auto line = s.nextLine(); !line.is_null(); line = s.nextLine()) last = line;
  EXPECT_EQ(s.wait(), 0);
  const double outside = s.elapsed();
  ASSERT_TRUE(last.contains("time_to_target"));
  const double achieved = 64 * MiB / last["time_to_target"].get<double>() / (32 * MiB);
  EXPECT_GE(achieved, 0.97);
  EXPECT_LE(achieved, 1.03);
  EXPECT_NEAR(outside, 2.0, 0.25) << "outside timing of a 2 s ramp";
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

TEST(OomstressProcess, SendsReadyToSystemdOnceTheTargetIsHeld) {
  const std::string path = (fs::temp_directory_path() / ("oomstress-notify-" + std::to_string(::getpid()))).string();
  ::unlink(path.c_str());
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  Stressor s({"--target", "64M", "--rate", "64M/s", "--processes", "2"}, {"NOTIFY_SOCKET=" + path});
  std::string ready;
  double ready_at = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char msg[512];
    const ssize_t n = ::recv(sock, msg, sizeof msg, 0);
    if (n > 0 && std::string(msg, static_cast<std::size_t>(n)) == "READY=1") {
      ready = "READY=1";
      ready_at = s.elapsed();
      break;
    }
  }
  EXPECT_EQ(ready, "READY=1");
  EXPECT_GE(ready_at, 0.95) << "READY=1 must wait until the 1 s ramp is done";
  ::close(sock);
  ::unlink(path.c_str());
}
