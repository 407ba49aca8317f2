#pragma once
// Follows a file that qemu appends to (a virtio-serial port written by the
// guest) and hands out complete lines as they arrive. A partial last line is
// held until its newline comes, or returned by flush() when the guest is gone.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace oom {

class LineFollower {
 public:
  explicit LineFollower(std::filesystem::path file) : file_(std::move(file)) {}
  // Reads what was appended since the last call; calls onLine for each complete line.
  void poll(const std::function<void(const std::string&)>& onLine);
  // The unterminated tail, if any (the guest died mid-line); clears it.
  void flush(const std::function<void(const std::string&)>& onLine);

 private:
  std::filesystem::path file_;
  std::uint64_t offset_ = 0;
  std::string partial_;
};

}  // namespace oom
