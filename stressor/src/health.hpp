#pragma once
// oomstress --health-port PORT: the stressor as a service a probe can see. The port is
// bound when oomstress starts (a port already taken fails at once, exit 2) and
// listened on only once every process holds its share of the target, the moment
// READY=1 goes to systemd: before that a connect is refused, after it every request
// gets "HTTP/1.0 200 OK" and a one-line status. A kill closes it with the process.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "oom/expected.hpp"

namespace oom::stress {

class HealthEndpoint {
 public:
  // 0.0.0.0:port, bound, not yet listening.
  static Expected<HealthEndpoint> bind(std::uint16_t port);
  HealthEndpoint(HealthEndpoint&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  HealthEndpoint& operator=(HealthEndpoint&&) = delete;
  HealthEndpoint(const HealthEndpoint&) = delete;
  ~HealthEndpoint();

  Expected<void> listen();
  bool listening() const { return listening_; }
  // Answers every connection waiting to be accepted (none blocks the caller for
  // more than a fraction of a second): an HTTP request gets 200 and `status()`; a
  // bare connect that sends nothing (a TCP check) is closed. `status` runs only when
  // a request came: the caller's loop calls this every few milliseconds.
  void answer(const std::function<std::string()>& status);

 private:
  explicit HealthEndpoint(int fd) : fd_(fd) {}
  int fd_ = -1;
  bool listening_ = false;
};

// The answer to one request: an HTTP/1.0 response carrying `status` as its body.
std::string healthResponse(std::string_view status);

}  // namespace oom::stress
