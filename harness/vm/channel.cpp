#include "vm/channel.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "oom/files.hpp"

namespace fs = std::filesystem;

namespace oom {

std::string ChannelCounters::describe() const {
  std::string parts;
  auto add = [&parts](const std::string& s) { parts += (parts.empty() ? "" : "; ") + s; };
  if (lines_cut > 0)
    add(std::to_string(lines_cut) + " line(s) over " + formatSize(kMaxLineBytes) + " cut");
  if (bytes_over_cap > 0)
    add(formatSize(bytes_over_cap) + " past its " + formatSize(cap_bytes) + " cap dropped");
  if (!write_error.empty())
    add("not written past " + formatSize(bytes_kept) + ": " + write_error);
  return parts.empty() ? "" : file + ": " + parts;
}

void LineSplitter::feed(std::string_view bytes, const LineSink& onLine) {
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (!discarding_) {
      const std::size_t room = max_ - partial_.size();
      partial_.append(piece.substr(0, room));
      if (piece.size() > room) {
        ++cut_;
        onLine(partial_);
        partial_.clear();
        discarding_ = true;
      }
    }
    if (nl == std::string_view::npos) return;
    if (!discarding_) {
      if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
      onLine(partial_);
    }
    partial_.clear();
    discarding_ = false;
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush(const LineSink& onLine) {
  if (!partial_.empty() && !discarding_) onLine(partial_);
  partial_.clear();
  discarding_ = false;
}

Expected<ChannelRelay> ChannelRelay::open(const fs::path& fifo, const fs::path& file,
                                          std::uint64_t cap_bytes, LineSink onLine) {
  ChannelRelay relay;
  relay.counters_.file = file.filename().string();
  relay.counters_.cap_bytes = cap_bytes;
  relay.on_line_ = std::move(onLine);
  if (::mkfifo(fifo.c_str(), 0600) != 0)
    return failSetup(fifo.string(), std::string("cannot create a FIFO: ") + std::strerror(errno));
  relay.fifo_ = fifo;
  // Non-blocking read end first, so that qemu's open for writing does not wait.
  relay.read_fd_ = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (relay.read_fd_ < 0)
    return failSetup(fifo.string(), std::string("cannot open the FIFO: ") + std::strerror(errno));
  ::fcntl(relay.read_fd_, F_SETPIPE_SZ, static_cast<int>(MiB));  // fewer stalls; best effort
  relay.file_fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, outputFileMode());
  if (relay.file_fd_ < 0)
    return failSetup(file.string(), std::string("cannot create: ") + std::strerror(errno));
  return relay;
}

ChannelRelay::ChannelRelay(ChannelRelay&& o) noexcept
    : fifo_(std::move(o.fifo_)),
      read_fd_(o.read_fd_),
      file_fd_(o.file_fd_),
      on_line_(std::move(o.on_line_)),
      splitter_(std::move(o.splitter_)),
      counters_(std::move(o.counters_)) {
  o.fifo_.clear();
  o.read_fd_ = o.file_fd_ = -1;
}

ChannelRelay::~ChannelRelay() {
  if (read_fd_ >= 0) ::close(read_fd_);
  if (file_fd_ >= 0) ::close(file_fd_);
  if (!fifo_.empty()) ::unlink(fifo_.c_str());
}

void ChannelRelay::take(std::string_view bytes) {
  counters_.bytes_read += bytes.size();
  const std::uint64_t before = counters_.bytes_read - bytes.size();
  if (before >= counters_.cap_bytes) {
    counters_.bytes_over_cap += bytes.size();
    return;
  }
  if (before + bytes.size() > counters_.cap_bytes) {
    const auto keep = static_cast<std::size_t>(counters_.cap_bytes - before);
    counters_.bytes_over_cap += bytes.size() - keep;
    bytes = bytes.substr(0, keep);
  }
  // The file is a clean prefix of the channel: it stops at the first write error.
  for (std::string_view rest = bytes; counters_.write_error.empty() && !rest.empty();) {
    const ssize_t n = ::write(file_fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      counters_.write_error = std::strerror(errno);
      break;
    }
    counters_.bytes_kept += static_cast<std::uint64_t>(n);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (on_line_) splitter_.feed(bytes, on_line_);
}

void ChannelRelay::poll() {
  if (read_fd_ < 0) return;
  static thread_local std::vector<char> buf(256 * KiB);
  // Bounded per call, so that a flooding guest cannot keep the caller from its watchdog.
  for (std::size_t round = 0; round < 64; ++round) {
    const ssize_t n = ::read(read_fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: empty for now; 0: no writer (not yet, or qemu is gone)
    take(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
}

void ChannelRelay::finish() {
  // qemu is gone: the FIFO has no writer, so read() returns 0 once it is empty.
  for (std::uint64_t last = UINT64_MAX; last != counters_.bytes_read;) {
    last = counters_.bytes_read;
    poll();
  }
  // A tail cut off by the cap is not a line the guest finished.
  if (on_line_ && counters_.bytes_over_cap == 0) splitter_.flush(on_line_);
}

ChannelCounters ChannelRelay::counters() const {
  ChannelCounters c = counters_;
  c.lines_cut = splitter_.linesCut();
  return c;
}

}  // namespace oom
