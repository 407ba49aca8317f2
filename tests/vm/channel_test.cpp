#include "vm/channel.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace oom;
namespace fs = std::filesystem;

namespace {

std::string readAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A scratch folder per test, removed afterwards.
struct ChannelScratch {
  fs::path dir;
  explicit ChannelScratch(const std::string& name)
      : dir(fs::temp_directory_path() / ("oomharness-channel-test-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~ChannelScratch() { fs::remove_all(dir); }
};

// qemu's end of the FIFO.
struct Writer {
  int fd;
  explicit Writer(const fs::path& fifo) : fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) {}
  ~Writer() { close(); }
  void write(const std::string& s) const { ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

}  // namespace

TEST(LineSplitter, HoldsAPartialLineUntilItsNewlineArrives) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  auto collect = [&](const std::string& l) { lines.push_back(l); };
  splitter.feed("one\ntw", collect);
  ASSERT_EQ(lines, std::vector<std::string>{"one"});
  splitter.feed("o\r\nthree", collect);
  ASSERT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  splitter.flush(collect);  // the guest died mid-line: the tail is still evidence
  EXPECT_EQ(lines.back(), "three");
  splitter.flush(collect);
  EXPECT_EQ(lines.size(), 3u);
}

TEST(LineSplitter, ManyLinesInOneFeedAndALineSplitAcrossManyFeeds) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  auto collect = [&](const std::string& l) { lines.push_back(l); };
  for (const char* piece : {"{\"a\":", "1", "}\n{\"b\":2}\n\n{\"c\"", ":3}\n"}) splitter.feed(piece, collect);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"}));
  splitter.flush(collect);  // nothing pending: no extra line
  EXPECT_EQ(lines.size(), 4u);
  EXPECT_EQ(splitter.linesCut(), 0u);
}

TEST(LineSplitter, ALineOverTheCapIsCutCountedAndTheNextLineIsWhole) {
  LineSplitter splitter(8);
  std::vector<std::string> lines;
  auto collect = [&](const std::string& l) { lines.push_back(l); };
  splitter.feed("12345678\n", collect);           // exactly the cap: whole
  splitter.feed("abcdefghij", collect);           // over the cap, no newline yet
  splitter.feed("klmnop", collect);               // still the same line: dropped
  splitter.feed("qr\nnext\nABCDEFGHI", collect);  // its end, a normal line, and another long one
  splitter.flush(collect);                        // the cut tail is not handed out again
  EXPECT_EQ(lines, (std::vector<std::string>{"12345678", "abcdefgh", "next", "ABCDEFGH"}));
  EXPECT_EQ(splitter.linesCut(), 2u);
}

TEST(ChannelRelay, KeepsWhatQemuWroteAndHandsOutLines) {
  ChannelScratch s("relay");
  std::vector<std::string> lines;
  auto relay = ChannelRelay::open(s.dir / "fifo", s.dir / "out.log", MiB,
                                  [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(relay) << relay.error().str();
  relay->poll();  // no writer yet: nothing, and no blocking
  Writer qemu(s.dir / "fifo");
  ASSERT_GE(qemu.fd, 0);
  qemu.write("{\"a\":1}\n{\"b\"");
  relay->poll();
  EXPECT_EQ(lines, std::vector<std::string>{"{\"a\":1}"});
  qemu.write(":2}\npartial");
  qemu.close();  // qemu is gone
  relay->finish();
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "partial"}));
  EXPECT_EQ(readAll(s.dir / "out.log"), "{\"a\":1}\n{\"b\":2}\npartial");
  const auto c = relay->counters();
  EXPECT_EQ(c.file, "out.log");
  EXPECT_EQ(c.bytes_read, 23u);
  EXPECT_EQ(c.bytes_kept, 23u);
  EXPECT_FALSE(c.lostSomething());
  EXPECT_EQ(c.describe(), "");
}

TEST(ChannelRelay, PastItsCapTheChannelIsDrainedButNeitherKeptNorRead) {
  ChannelScratch s("cap");
  std::vector<std::string> lines;
  auto relay = ChannelRelay::open(s.dir / "fifo", s.dir / "results.jsonl", 10,
                                  [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(relay);
  Writer qemu(s.dir / "fifo");
  qemu.write("1234\n6789\nabcdef\n");
  qemu.write(std::string(100000, 'x'));  // a flood: drained, so the guest never waits on us
  qemu.close();
  relay->finish();
  EXPECT_EQ(readAll(s.dir / "results.jsonl"), "1234\n6789\n");
  EXPECT_EQ(lines, (std::vector<std::string>{"1234", "6789"}));
  const auto c = relay->counters();
  EXPECT_EQ(c.bytes_read, 100017u);
  EXPECT_EQ(c.bytes_over_cap, 100007u);
  EXPECT_TRUE(c.lostSomething());
  EXPECT_EQ(c.describe(), "results.jsonl: 97.7KiB past its 10B cap dropped");
}

TEST(ChannelRelay, TheFifoGoesWithTheRelay) {
  ChannelScratch s("fifo");
  {
    auto relay = ChannelRelay::open(s.dir / "fifo", s.dir / "out.log", MiB);
    ASSERT_TRUE(relay);
    EXPECT_TRUE(fs::is_fifo(s.dir / "fifo"));
  }
  EXPECT_FALSE(fs::exists(s.dir / "fifo"));
  EXPECT_TRUE(fs::exists(s.dir / "out.log"));
  // A folder that cannot hold the host file is a setup error naming it.
  auto bad = ChannelRelay::open(s.dir / "fifo2", s.dir / "missing" / "out.log", MiB);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::setup);
  EXPECT_NE(bad.error().str().find("missing/out.log"), std::string::npos);
}

// A full results disk: the file stops at the first failed write (a clean prefix),
// the lines still reach the harness, and the error is kept.
TEST(ChannelRelay, AFullDiskStopsTheFileButNotTheLines) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  ChannelScratch s("full");
  std::vector<std::string> lines;
  auto relay = ChannelRelay::open(s.dir / "fifo", "/dev/full", MiB,
                                  [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(relay);
  Writer qemu(s.dir / "fifo");
  qemu.write("a\nb\n");
  qemu.close();
  relay->finish();
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b"}));
  const auto c = relay->counters();
  EXPECT_EQ(c.bytes_kept, 0u);
  EXPECT_EQ(c.write_error, "No space left on device");
  EXPECT_EQ(c.describe(), "full: not written past 0B: No space left on device");
}

TEST(ChannelCounters, DescribesEveryLoss) {
  ChannelCounters c;
  c.file = "output.log";
  c.cap_bytes = 16 * MiB;
  c.lines_cut = 2;
  c.bytes_over_cap = 3 * MiB;
  EXPECT_EQ(c.describe(), "output.log: 2 line(s) over 1MiB cut; 3MiB past its 16MiB cap dropped");
}
