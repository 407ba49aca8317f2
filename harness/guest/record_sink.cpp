#include "guest/record_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "timeline/timeline.hpp"

namespace oom {

namespace {

struct Locked {
  explicit Locked(pthread_mutex_t& m) : m_(m) { pthread_mutex_lock(&m_); }
  ~Locked() { pthread_mutex_unlock(&m_); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;
  pthread_mutex_t& m_;
};

}  // namespace

RecordSink::RecordSink(const std::string& path)
    : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&mutex_, &attr);
  pthread_mutexattr_destroy(&attr);
  line_.reserve(64 * 1024);
}

RecordSink::~RecordSink() {
  if (fd_ >= 0) ::close(fd_);
  pthread_mutex_destroy(&mutex_);
}

void RecordSink::emit(const std::string& type, const nlohmann::json& body) {
  Locked lock(mutex_);
  if (ended_.load()) return;
  writeLocked(type, body);
}

bool RecordSink::end(int status) {
  Locked lock(mutex_);
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
