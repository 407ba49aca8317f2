#include "oom/utc.hpp"

#include <chrono>
#include <ctime>

namespace oom {

std::string utcNow(const char* strftime_format) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, strftime_format, &tm));
}

}  // namespace oom
