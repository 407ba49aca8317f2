// `oomharness evaluate`'s timeline file: what is refused before it is read.
#include "run/recorded_timeline.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "run/exit_status.hpp"

using namespace oom;
namespace fs = std::filesystem;

namespace {
const fs::path kSource = OOM_SOURCE_DIR;

struct TimelineScratch {
  fs::path dir = fs::temp_directory_path() / ("oomharness-timeline-file-test-" + std::to_string(::getpid()));
  TimelineScratch() { fs::remove_all(dir); fs::create_directories(dir); }
  ~TimelineScratch() { fs::remove_all(dir); }
};

// A file of `bytes` bytes that takes no disk space (a hole), so the test stays cheap.
fs::path sparseFile(const fs::path& file, std::uint64_t bytes) {
  std::ofstream(file).put('\0');
  fs::resize_file(file, bytes);
  return file;
}

void expectRefused(const fs::path& file, const std::string& expected) {
  const auto got = readTimelineFile(file);
  ASSERT_FALSE(got) << file << " was read";
  EXPECT_EQ(got.error().where, file.string());
  EXPECT_EQ(got.error().message, expected) << file;
  EXPECT_EQ(exitStatusFor(got.error()), kExitBadInput) << file;
}
}  // namespace

TEST(TimelineFile, ARecordedRunIsReadWhole) {
  const auto got = readTimelineFile(kSource / "tests/checks/fixtures/recorded-three-services-bookworm.jsonl");
  ASSERT_TRUE(got) << got.error().str();
  EXPECT_EQ(got->lines_ignored, 0u);
  EXPECT_EQ(got->timeline.kills.size(), 1u);
}

TEST(TimelineFile, AFolderAFifoAndADeviceAreRefusedWithoutBeingRead) {
  TimelineScratch s;
  expectRefused(s.dir, "expected a regular file; got a directory");
  // Opening a FIFO with no writer would wait forever if it were opened to be read.
  const fs::path fifo = s.dir / "results.jsonl";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expectRefused(fifo, "expected a regular file; got a FIFO (named pipe)");
  // Endless zeros: reading it whole would never end.
  expectRefused("/dev/zero", "expected a regular file; got a character device");
}

TEST(TimelineFile, AFileOverTheCapIsRefusedBeforeBeingRead) {
  TimelineScratch s;
  const std::string expected_head = "expected a timeline file (observer JSON lines) of at most 32MiB (33554432 bytes); got ";
  expectRefused(sparseFile(s.dir / "one-byte-over.jsonl", kMaxTimelineFileBytes + 1),
                expected_head + "33554433 bytes");
  // 1 TiB: were it read before the size is checked, the test would run out of memory.
  const std::uint64_t tib = std::uint64_t{1} << 40;
  expectRefused(sparseFile(s.dir / "huge.jsonl", tib), expected_head + std::to_string(tib) + " bytes");
}

TEST(TimelineFile, AFileOfExactlyTheCapIsRead) {
  TimelineScratch s;
  // 32 MiB of NUL bytes: one line, not a record, so read and counted as ignored.
  const auto got = readTimelineFile(sparseFile(s.dir / "at-the-cap.jsonl", kMaxTimelineFileBytes));
  ASSERT_TRUE(got) << got.error().str();
  EXPECT_EQ(got->lines_ignored, 1u);
}
