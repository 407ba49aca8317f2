#pragma once
// A client of qemu's machine protocol (QMP) on a unix socket: one command at a
// time, each answer awaited with a deadline; events that arrive meanwhile are
// kept (events()) but answer nothing. Used to save a guest and to restore it
// (vm/saved_guest.hpp), never while a run's channels depend on it.
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

class QmpClient {
 public:
  // Connects (retrying while qemu has not yet made the socket), reads the
  // greeting and leaves the capabilities negotiation: ready for commands.
  static Expected<QmpClient> connect(const std::filesystem::path& socket, std::chrono::milliseconds wait);
  QmpClient(QmpClient&& other) noexcept;
  QmpClient& operator=(QmpClient&& other) noexcept;
  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;
  ~QmpClient();

  // Runs `command` with `arguments` (an object, or null for none) and returns its
  // "return" value; qemu's "error" (class and description), a closed socket or
  // no answer within `wait` is a setup error naming the command.
  Expected<nlohmann::json> execute(const std::string& command, const nlohmann::json& arguments = nullptr,
                                   std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Asks query-migrate every 20 ms until the migration is "completed"; "failed",
  // "cancelled" or no end within `wait` is a setup error with qemu's words.
  Expected<nlohmann::json> awaitMigration(std::chrono::milliseconds wait);
  const std::vector<nlohmann::json>& events() const { return events_; }

 private:
  explicit QmpClient(int fd) : fd_(fd) {}
  Expected<nlohmann::json> readMessage(std::chrono::steady_clock::time_point deadline, const std::string& what);
  int fd_ = -1;
  std::string buffer_;
  std::vector<nlohmann::json> events_;
};

}  // namespace oom
