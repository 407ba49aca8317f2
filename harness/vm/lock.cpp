#include "vm/lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "vm/process.hpp"

namespace fs = std::filesystem;

namespace oom {

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    this->~FileLock();
    fd_ = other.fd_;
    noted_ = other.noted_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  if (noted_) (void)!::ftruncate(fd_, 0);
  ::close(fd_);
  fd_ = -1;
}

void FileLock::note(const std::string& text) {
  if (fd_ < 0) return;
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return;
  const std::string line = "(pid " + std::to_string(::getpid()) + ") " + text + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, line.data(), line.size(), 0) > 0) noted_ = true;
}

namespace {

int openForLock(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

std::string holderNote(int fd) {
  char buf[256];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<std::size_t>(n));
  s.erase(s.find_last_not_of(" \n") + 1);
  return s.find('\n') == std::string::npos ? s : "";
}

}  // namespace

std::optional<FileLock> tryLock(const fs::path& path, int operation) {
  const int fd = openForLock(path);
  if (fd < 0) return std::nullopt;
  if (::flock(fd, operation | LOCK_NB) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return FileLock(fd);
}

Expected<FileLock> acquireLock(const fs::path& path, int operation, Seconds timeout, const std::string& doing) {
  const int fd = openForLock(path);
  if (fd < 0) return failSetup(path.string(), std::string("cannot open the lock: ") + std::strerror(errno));
  FileLock lock(fd);
  const auto started = std::chrono::steady_clock::now();
  bool said = false;
  while (::flock(fd, operation | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return failSetup(path.string(), std::string("cannot lock: ") + std::strerror(errno));
    const Seconds waited = std::chrono::steady_clock::now() - started;
    if (!said && waited.count() >= 1) {
      const std::string holder = holderNote(fd);
      std::fprintf(stderr, "vm: waiting for another oomharness %s (%s; up to %s)...\n",
                   holder.empty() ? doing.c_str() : holder.c_str(), path.c_str(),
                   formatDuration(timeout).c_str());
      said = true;
    }
    if (interruptRequested())
      return failInterrupted(path.string(), "interrupted by a signal while waiting for the lock");
    if (waited > timeout)
      return failSetup(path.string(), "another oomharness has held this lock for " + formatDuration(timeout) +
                                          " (" + (holderNote(fd).empty() ? doing : holderNote(fd)) +
                                          "); try again later, or find it with fuser " + path.string());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return lock;
}

}  // namespace oom
