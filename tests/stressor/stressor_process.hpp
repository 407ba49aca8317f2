#pragma once
// Runs the real oomstress binary (OOMSTRESS_BIN) for the process-level tests,
// and reads what it did from outside: /proc/PID/status, its children, its
// stdout JSON lines, a stand-in for systemd's notify socket, checkpoint files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
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

namespace oomstress_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr double kMiB = 1024.0 * 1024.0;

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

inline double vmRssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024;
  return 0;
}

inline std::vector<pid_t> childrenOf(pid_t pid) {
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

inline nlohmann::json waitForPhase(Stressor& s, const std::string& phase, double timeout = 15) {
  for (auto line = s.nextLine(timeout); !line.is_null(); line = s.nextLine(timeout))
    if (line.value("phase", "") == phase) return line;
  return nullptr;
}

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
inline double waitForReady(NotifySocket& sock, Stressor& s, std::vector<std::string>* statuses,
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

}  // namespace oomstress_test
