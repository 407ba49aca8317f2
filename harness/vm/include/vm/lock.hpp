#pragma once
// flock(2) locks that several oomharness processes starting at once agree on: the
// image cache, the accelerator probe, the image a guest boots from and each live
// run's temporary folder. A lock lives as long as its open file description, so
// it dies with its process, however that process ends (SIGKILL included): there
// is never a stale lock to clean up, and never a pid to trust.
#include <sys/file.h>

#include <filesystem>
#include <optional>
#include <string>

#include "oom/expected.hpp"
#include "oom/units.hpp"

namespace oom {

class FileLock {
 public:
  FileLock() = default;
  explicit FileLock(int fd) : fd_(fd) {}
  FileLock(FileLock&& other) noexcept : fd_(other.fd_), noted_(other.noted_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();
  bool held() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Says what the holder is doing, for whoever waits (acquireLock's message);
  // cleared again when the lock goes.
  void note(const std::string& text);

 private:
  int fd_ = -1;
  bool noted_ = false;
};

// The lock on `path` (LOCK_EX or LOCK_SH), if it can be had at once. `path` is a
// file (created when missing) or a directory.
std::optional<FileLock> tryLock(const std::filesystem::path& path, int operation);

// Waits for the lock: when someone else holds it, prints once on stderr
// "vm: waiting for another oomharness <what the holder noted, or `doing`>..."
// then retries every 200 ms. A setup error after `timeout`; an interrupted error
// when SIGINT or SIGTERM arrives meanwhile.
Expected<FileLock> acquireLock(const std::filesystem::path& path, int operation, Seconds timeout,
                               const std::string& doing);

}  // namespace oom
