#include "vm/channel.hpp"

#include <fstream>

namespace oom {

void LineFollower::poll(const std::function<void(const std::string&)>& onLine) {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(offset_));
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    offset_ += n;
    partial_.append(buf, n);
  }
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = partial_.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    onLine(line);
  }
  partial_.erase(0, start);
}

void LineFollower::flush(const std::function<void(const std::string&)>& onLine) {
  if (!partial_.empty()) onLine(partial_);
  partial_.clear();
}

}  // namespace oom
