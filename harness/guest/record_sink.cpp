#include "guest/record_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "timeline/timeline.hpp"

namespace oom {

RecordSink::RecordSink(const std::string& path)
    : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
  line_.reserve(64 * 1024);
}

RecordSink::~RecordSink() {
  if (fd_ >= 0) ::close(fd_);
}

void RecordSink::emit(const std::string& type, const nlohmann::json& body) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ended_.load()) return;
  writeLocked(type, body);
}

bool RecordSink::end(int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ended_.exchange(true)) return false;
  writeLocked(kRecordEnd, {{"status", status}});
  return true;
}

void RecordSink::writeLocked(const std::string& type, const nlohmann::json& body) {
  if (fd_ < 0) return;
  line_ = toStreamRecord(type, body).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line_ += '\n';
  std::size_t off = 0;
  while (off < line_.size()) {
    const ssize_t n = ::write(fd_, line_.data() + off, line_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace oom
