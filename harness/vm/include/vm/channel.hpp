#pragma once
// Guest output, bounded. Each channel (a virtio-serial port, the console) is a
// FIFO that qemu writes into (`-chardev file` on a FIFO: qemu opens it
// non-blocking and holds the guest back while it is full). The harness reads it
// while the guest runs, appends what it read to the host file and cuts it into
// lines:
//   - a line longer than the line cap is cut: its first bytes are handed out as a
//     line, the rest of it is dropped, and it is counted;
//   - past the file cap the channel is drained but neither kept nor handed out
//     (the guest never blocks on a full channel, and neither the host disk nor the
//     harness's memory grows), counted;
//   - a host file that cannot be written (results disk full) stops growing at the
//     first error; its lines are still handed out, and the error is kept.
// Whatever qemu passed on before the guest died is read after qemu exits.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "oom/expected.hpp"
#include "oom/units.hpp"

namespace oom {

using LineSink = std::function<void(const std::string&)>;

inline constexpr std::size_t kMaxLineBytes = MiB;

// What one channel kept and lost.
struct ChannelCounters {
  std::string file;                   // host file name, e.g. "results.jsonl"
  std::uint64_t cap_bytes = 0;
  std::uint64_t bytes_read = 0;       // everything qemu passed on
  std::uint64_t bytes_kept = 0;       // written to the host file
  std::uint64_t bytes_over_cap = 0;   // read past the cap: dropped
  std::uint64_t lines_cut = 0;        // lines longer than kMaxLineBytes, cut
  std::string write_error;            // why the host file stopped growing, if it did
  bool lostSomething() const { return bytes_over_cap > 0 || lines_cut > 0 || !write_error.empty(); }
  // "journal.txt: 3 lines over 1MiB cut; 2MiB past its 16MiB cap dropped; not
  // written past 64KiB: No space left on device"; "" when nothing was lost.
  std::string describe() const;
};

// Cuts a byte stream into lines (a trailing \r is dropped), none longer than max_line.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = kMaxLineBytes) : max_(max_line) {}
  void feed(std::string_view bytes, const LineSink& onLine);
  // The unterminated tail, if any (the guest died mid-line).
  void flush(const LineSink& onLine);
  std::uint64_t linesCut() const { return cut_; }

 private:
  std::size_t max_;
  std::string partial_;
  bool discarding_ = false;  // inside a line that was already cut
  std::uint64_t cut_ = 0;
};

class ChannelRelay {
 public:
  // Creates `fifo` (qemu's end; removed again by the destructor) and opens its
  // read end, and creates or truncates `file`. onLine may be empty: the channel is
  // then only kept, not split into lines.
  static Expected<ChannelRelay> open(const std::filesystem::path& fifo, const std::filesystem::path& file,
                                     std::uint64_t cap_bytes, LineSink onLine = {});
  ChannelRelay(ChannelRelay&& other) noexcept;
  ChannelRelay& operator=(ChannelRelay&&) = delete;
  ChannelRelay(const ChannelRelay&) = delete;
  ~ChannelRelay();

  // Moves what qemu has written so far into the file and hands out complete lines.
  void poll();
  // After qemu exited: what is left in the FIFO, then an unterminated last line.
  void finish();
  ChannelCounters counters() const;

 private:
  ChannelRelay() = default;
  void take(std::string_view bytes);

  std::filesystem::path fifo_;
  int read_fd_ = -1;
  int file_fd_ = -1;
  LineSink on_line_;
  LineSplitter splitter_;
  ChannelCounters counters_;
};

}  // namespace oom
