#include "vm/qmp.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace fs = std::filesystem;
using QmpClock = std::chrono::steady_clock;

namespace oom {
namespace {

// A reply or event larger than this is not qemu's: the socket is given up.
constexpr std::size_t kQmpMessageCap = 1 << 20;

}  // namespace

Expected<QmpClient> QmpClient::connect(const fs::path& socket, std::chrono::milliseconds wait) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof(address.sun_path)) return failSetup(path, "QMP socket path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const auto deadline = QmpClock::now() + wait;
  for (;;) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return failSetup(path, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      QmpClient client(fd);
      auto greeting = client.readMessage(deadline, "the greeting");
      if (!greeting) return tl::unexpected(greeting.error());
      if (!greeting->contains("QMP")) return failSetup(path, "no QMP greeting: " + greeting->dump());
      if (auto ready = client.execute("qmp_capabilities"); !ready) return tl::unexpected(ready.error());
      return client;
    }
    const int why = errno;
    ::close(fd);
    if (QmpClock::now() >= deadline)
      return failSetup(path, std::string("qemu's QMP socket did not open: ") + std::strerror(why));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

QmpClient::QmpClient(QmpClient&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)), events_(std::move(other.events_)) {
  other.fd_ = -1;
}

QmpClient& QmpClient::operator=(QmpClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
    buffer_ = std::move(other.buffer_);
    events_ = std::move(other.events_);
  }
  return *this;
}

QmpClient::~QmpClient() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<nlohmann::json> QmpClient::readMessage(QmpClock::time_point deadline, const std::string& what) {
  for (;;) {
    if (const auto end = buffer_.find('\n'); end != std::string::npos) {
      auto message = nlohmann::json::parse(buffer_.substr(0, end), nullptr, false);
      buffer_.erase(0, end + 1);
      if (message.is_discarded() || !message.is_object())
        return failSetup("qmp", "not a QMP message while waiting for " + what);
      return message;
    }
    if (buffer_.size() > kQmpMessageCap) return failSetup("qmp", "a QMP message over 1 MiB while waiting for " + what);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - QmpClock::now()).count();
    if (left <= 0) return failSetup("qmp", "qemu did not answer " + what + " in time");
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends it
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failSetup("qmp", "qemu closed its QMP socket while we waited for " + what);
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Expected<nlohmann::json> QmpClient::execute(const std::string& command, const nlohmann::json& arguments,
                                            std::chrono::milliseconds wait) {
  nlohmann::json request = {{"execute", command}};
  if (!arguments.is_null()) request["arguments"] = arguments;
  const std::string line = request.dump() + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failSetup("qmp", command + ": " + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = QmpClock::now() + wait;
  for (;;) {
    auto message = readMessage(deadline, "'" + command + "'");
    if (!message) return message;
    if (message->contains("event")) {
      events_.push_back(std::move(*message));
      continue;
    }
    if (const auto error = message->find("error"); error != message->end())
      return failSetup("qmp", command + ": " + error->value("class", std::string("?")) + ": " +
                                  error->value("desc", std::string("")));
    if (const auto value = message->find("return"); value != message->end()) return *value;
  }
}

Expected<nlohmann::json> QmpClient::awaitMigration(std::chrono::milliseconds wait) {
  const auto deadline = QmpClock::now() + wait;
  for (;;) {
    auto state = execute("query-migrate");
    if (!state) return state;
    const std::string status = state->value("status", std::string());
    if (status == "completed") return state;
    if (status == "failed" || status == "cancelled")
      return failSetup("qmp", "migration " + status + ": " + state->value("error-desc", std::string("(no reason given)")));
    if (QmpClock::now() >= deadline) return failSetup("qmp", "migration not completed in time (status " + status + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace oom
