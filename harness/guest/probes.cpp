#include "guest/probes.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "guest/command.hpp"
#include "oom/clock.hpp"
#include "oom/text.hpp"
#include "scenario/probe_address.hpp"
#include "scenario/scenario.hpp"

namespace oom {
namespace {

// Every page of a thread's stack is locked (mlockall): a probe needs little.
constexpr std::size_t kProbeStackBytes = 256 * 1024;
// The response head (status line and headers) kept besides the body.
constexpr std::size_t kHeadKept = 16 * 1024;
// How often a command that closed its output is checked for its exit.
constexpr double kReapEverySec = 0.01;
constexpr const char* kStopped = "stopped";
constexpr const char* kTimeout = "timeout";

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

enum class Wait { ready, timeout, stopped };

// Waits until `fd` has one of `events`, `until` (monotonic seconds) passes or `stop_fd` is readable.
Wait waitFor(int fd, short events, int stop_fd, double until) {
  while (true) {
    const double left = until - monotonicSeconds();
    if (left <= 0) return Wait::timeout;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const timespec ts{static_cast<time_t>(left), static_cast<long>((left - std::floor(left)) * 1e9)};
    const int n = ::ppoll(fds, stop_fd >= 0 ? 2 : 1, &ts, nullptr);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Wait::timeout;
    if (stop_fd >= 0 && fds[1].revents) return Wait::stopped;
    if (n > 0) return Wait::ready;
  }
}

std::string errnoResult(int err) {
  if (err == ECONNREFUSED) return "refused";
  if (err == ECONNRESET || err == EPIPE) return "reset";
  if (err == ETIMEDOUT) return kTimeout;
  return std::string("unreachable: ") + std::strerror(err);
}

// A quoted piece of the answer or of the scenario, short and printable.
std::string quotedPiece(std::string_view text) {
  std::string s = printable(text.substr(0, 60));
  return "\"" + s + (text.size() > 60 ? "...\"" : "\"");
}

// A connected socket, or -1 and the failure in `result`.
int connectTo(const ProbeAddress& a, double until, int stop_fd, std::string& result) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result = std::string("unreachable: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(a.port);
  ::inet_pton(AF_INET, a.ipv4().c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) return fd;
  int err = errno;
  if (err == EINPROGRESS) {
    if (const Wait w = waitFor(fd, POLLOUT, stop_fd, until); w != Wait::ready) {
      result = w == Wait::stopped ? kStopped : kTimeout;
      ::close(fd);
      return -1;
    }
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) return fd;
  }
  result = errnoResult(err);
  ::close(fd);
  return -1;
}

bool sendAll(int fd, const std::string& data, double until, int stop_fd, std::string& result) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      result = errnoResult(errno);
      return false;
    }
    if (const Wait w = waitFor(fd, POLLOUT, stop_fd, until); w != Wait::ready) {
      result = w == Wait::stopped ? kStopped : kTimeout;
      return false;
    }
  }
  return true;
}

// The response until the server closes it (or kHeadKept + kProbeOutputKept is
// read); false, with the failure in `result`, on an error or at `until`.
bool readResponse(int fd, double until, int stop_fd, std::string& response, std::string& result) {
  char buf[4096];
  while (response.size() < kHeadKept + kProbeOutputKept) {
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, kHeadKept + kProbeOutputKept - response.size()), 0);
    if (n > 0) {
      response.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return true;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      result = errnoResult(errno);
      return false;
    }
    if (const Wait w = waitFor(fd, POLLIN, stop_fd, until); w != Wait::ready) {
      result = w == Wait::stopped ? kStopped : kTimeout;
      return false;
    }
  }
  return true;
}

// "HTTP/1.1 503 Service Unavailable\r\n...": the status, 0 when the line is not one.
int statusOf(std::string_view response) {
  if (!startsWith(response, "HTTP/") || response.size() < 12) return 0;
  const auto space = response.find(' ');
  if (space == std::string_view::npos || space + 4 > response.size()) return 0;
  const auto code = parseNumber<int>(response.substr(space + 1, 3));
  return code && *code >= 100 && *code <= 599 ? *code : 0;
}

void tcpAttempt(const PlannedProbe& p, double until, int stop_fd, ProbeAttempt& a) {
  const auto address = parseProbeHostPort(p.target);
  if (!address) {
    a.result = "unreachable: " + address.error();
    return;
  }
  const int fd = connectTo(*address, until, stop_fd, a.result);
  if (fd < 0) return;
  ::close(fd);
  a.ok = true;
  a.result = "ok";
}

void httpAttempt(const PlannedProbe& p, double until, int stop_fd, ProbeAttempt& a) {
  const auto address = parseProbeUrl(p.target);
  if (!address) {
    a.result = "unreachable: " + address.error();
    return;
  }
  Fd fd(connectTo(*address, until, stop_fd, a.result));
  if (fd.get() < 0) return;
  // Host as curl sends it: with the port unless it is 80.
  const std::string host = address->host + (address->port == 80 ? "" : ":" + std::to_string(address->port));
  const std::string request = "GET " + address->path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  std::string response;
  if (!sendAll(fd.get(), request, until, stop_fd, a.result) ||
      !readResponse(fd.get(), until, stop_fd, response, a.result))
    return;
  a.status = statusOf(response);
  if (a.status == 0) {
    a.result = response.empty() ? "closed without an answer"
                                : "not an HTTP answer: " + quotedPiece(response.substr(0, response.find('\r')));
    return;
  }
  const auto head_end = response.find("\r\n\r\n");
  const std::string_view body =
      head_end == std::string::npos ? std::string_view() : std::string_view(response).substr(head_end + 4);
  if (a.status != p.status) a.result = "status " + std::to_string(a.status);
  else if (p.output && body.find(*p.output) == std::string_view::npos) a.result = "output lacks " + quotedPiece(*p.output);
  else a.ok = true, a.result = "ok";
}

// -signal when killed, else the exit status.
int exitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) return -WTERMSIG(wait_status);
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

void commandAttempt(const PlannedProbe& p, double until, int stop_fd, ProbeAttempt& a) {
  auto child = ChildCommand::start(p.command, p.name);
  if (!child) {
    a.result = child.error().message;  // "cannot run it: No such file or directory"
    return;
  }
  child->keepAtMost(kProbeOutputKept);
  // Its output to the end, then its exit; killed (and reaped) at the timeout.
  Wait w = Wait::ready;
  while (w == Wait::ready && !child->readAvailable()) w = waitFor(child->fd(), POLLIN, stop_fd, until);
  std::optional<int> status;
  while (w == Wait::ready && !(status = child->reapIfExited())) {
    if (monotonicSeconds() >= until) w = Wait::timeout;  // it closed its output but runs on
    else if (waitFor(-1, 0, stop_fd, std::min(until, monotonicSeconds() + kReapEverySec)) == Wait::stopped)
      w = Wait::stopped;
  }
  if (!status) {
    a.status = exitStatus(child->killAndReap());
    a.result = w == Wait::stopped ? kStopped : kTimeout;
    return;
  }
  a.status = exitStatus(*status);
  if (WIFSIGNALED(*status)) a.result = std::string("killed by signal ") + std::to_string(WTERMSIG(*status));
  else if (a.status != 0) a.result = "exit " + std::to_string(a.status);
  else if (p.output && child->output().find(*p.output) == std::string::npos) a.result = "output lacks " + quotedPiece(*p.output);
  else a.ok = true, a.result = "ok";
}

}  // namespace

ProbeAttempt attemptProbe(const PlannedProbe& probe, int stop_fd) {
  ProbeAttempt a;
  a.probe = probe.name;
  a.t = monotonicSeconds();
  const double until = a.t + probe.timeout_sec;
  if (probe.kind == kProbeTcp) tcpAttempt(probe, until, stop_fd, a);
  else if (probe.kind == kProbeHttp) httpAttempt(probe, until, stop_fd, a);
  else if (probe.kind == kProbeCommand) commandAttempt(probe, until, stop_fd, a);
  else a.result = "unreachable: unknown probe kind " + quotedPiece(probe.kind);
  a.latency_sec = std::min(monotonicSeconds() - a.t, probe.timeout_sec);
  return a;
}

ProbeRunner::ProbeRunner(RecordSink& sink, std::vector<PlannedProbe> probes)
    : sink_(sink), stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  for (auto& p : probes) workers_.push_back(std::make_unique<Worker>(Worker{this, std::move(p)}));
}

ProbeRunner::~ProbeRunner() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

Expected<void> ProbeRunner::start() {
  if (stop_fd_ < 0) return fail("probes", std::string("cannot make an eventfd: ") + std::strerror(errno));
  t0_ = monotonicSeconds();
  for (auto& w : workers_) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kProbeStackBytes);
    // Normal priority whatever the starting thread has: the sampler alone is real-time.
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
    sched_param param{};
    pthread_attr_setschedparam(&attr, &param);
    const int r = pthread_create(&w->thread, &attr, threadMain, w.get());
    pthread_attr_destroy(&attr);
    if (r != 0) {
      stop();
      return fail("probe " + w->probe.name, std::string("cannot start its thread: ") + std::strerror(r));
    }
    w->started = true;
  }
  return {};
}

void ProbeRunner::stop() {
  if (!stopping_.exchange(true) && stop_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);  // never read: stays readable
  }
  for (auto& w : workers_)
    if (w->started) {
      pthread_join(w->thread, nullptr);
      w->started = false;
    }
}

void* ProbeRunner::threadMain(void* worker) {
  auto* w = static_cast<Worker*>(worker);
  w->runner->run(w->probe);
  return nullptr;
}

void ProbeRunner::run(const PlannedProbe& probe) {
  const double interval = std::max(probe.interval_sec, 0.001);
  for (double slot = 0; !stopping_.load();) {
    if (waitFor(-1, 0, stop_fd_, t0_ + slot * interval) == Wait::stopped) return;
    ProbeAttempt a = attemptProbe(probe, stop_fd_);
    if (a.result == kStopped) return;  // cut short by the end of the run: not what a client saw
    sink_.emit(kRecordProbe, a);
    // The next slot after this one; an attempt that overran skips those it missed.
    slot = std::max(slot + 1, std::ceil((monotonicSeconds() - t0_) / interval));
  }
}

}  // namespace oom
