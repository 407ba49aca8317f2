#include "health.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace oom::stress {
namespace {

constexpr int kReadWaitMs = 200;       // a client sends its request right after connecting
constexpr std::size_t kRequestMax = 4096;

std::string errnoText(const char* what, std::uint16_t port) {
  return std::string(what) + " 0.0.0.0:" + std::to_string(port) + ": " + std::strerror(errno);
}

// Reads what the client sends until the end of its request head, it closes, or the
// wait runs out. Returns whether a request arrived.
bool readRequest(int fd) {
  std::string request;
  char buf[1024];
  while (request.size() < kRequestMax && request.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kReadWaitMs) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<std::size_t>(n));
  }
  return !request.empty();
}

}  // namespace

std::string healthResponse(std::string_view status) {
  std::string body(status);
  body += '\n';
  return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

Expected<HealthEndpoint> HealthEndpoint::bind(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail("--health-port", errnoText("socket for", port));
  HealthEndpoint endpoint(fd);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // a restarted service rebinds at once
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return fail("--health-port", errnoText("cannot bind", port));
  return endpoint;
}

HealthEndpoint::~HealthEndpoint() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<void> HealthEndpoint::listen() {
  if (::listen(fd_, 16) != 0) return fail("--health-port", std::string("listen: ") + std::strerror(errno));
  listening_ = true;
  return {};
}

void HealthEndpoint::answer(const std::function<std::string()>& status) {
  if (!listening_) return;
  for (int client; (client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
    if (readRequest(client)) {
      const std::string response = healthResponse(status());
      (void)!::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      ::shutdown(client, SHUT_WR);
    }
    ::close(client);
  }
}

}  // namespace oom::stress
