// The stream contract: what RecordSink writes, the host's applyStreamLine reads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "guest/record_sink.hpp"
#include "timeline/timeline.hpp"

namespace oom {
namespace {

Timeline fold(const std::string& path, int* not_understood) {
  Timeline timeline;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!applyStreamLine(timeline, line)) ++*not_understood;
  return timeline;
}

TEST(RecordSink, EveryRecordTypeFoldsBackIntoATimeline) {
  char path[] = "/tmp/oomharness-guest-sink-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    RecordSink sink(path);
    ASSERT_TRUE(sink.ok());
    sink.emit("guest", GuestInfo{"Debian GNU/Linux 13 (trixie)", "6.12.12-cloud-amd64", "257", "memory", 1, 0, 1, -1, ""});
    KernelOomKill kill;
    kill.t = 41.2;
    kill.pid = 331;
    kill.unit = "image-worker.service";
    kill.lines = {"Out of memory: Killed process 331 (oomstress) \xff invalid utf-8"};
    sink.emit("oom_kill", kill);
    UnitStateChange state;
    state.unit = "image-worker.service";
    state.Result = "oom-kill";
    sink.emit("unit_state", state);
    sink.emit("kmsg", {{"t", 41.2}, {"line", "oom-kill:constraint=CONSTRAINT_NONE"}});
    sink.emit("phase", Phase{42, "settled", ""});
    sink.emit(kRecordEnd, {{"status", 0}});
  }
  int not_understood = 0;
  const Timeline t = fold(path, &not_understood);
  ::unlink(path);
  EXPECT_EQ(not_understood, 0);
  EXPECT_EQ(t.guest.kernel, "6.12.12-cloud-amd64");
  ASSERT_EQ(t.kills.size(), 1u);
  EXPECT_EQ(t.kills[0].pid, 331);
  // A kernel line that is not UTF-8 must not lose the record.
  ASSERT_EQ(t.kills[0].lines.size(), 1u);
  ASSERT_EQ(t.states.size(), 1u);
  EXPECT_EQ(t.states[0].Result, "oom-kill");
  EXPECT_EQ(t.raw_kernel_oom_lines.size(), 1u);
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.guest_status, 0);
}

TEST(RecordSink, RecordedGuestRunIsUnderstoodLineByLine) {
  // oomharness-guest's own output from a real bookworm guest (scenarios/image-worker.json).
  int not_understood = 0;
  const Timeline t = fold(std::string(OOM_GUEST_FIXTURES) + "/recorded/image-worker-bookworm.jsonl", &not_understood);
  EXPECT_EQ(not_understood, 0);
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.guest_status, 0);
  ASSERT_EQ(t.kills.size(), 2u);
  EXPECT_FALSE(t.kills[0].group_kill);
  EXPECT_TRUE(t.kills[1].group_kill);
  EXPECT_EQ(t.setup.size(), 2u);
  EXPECT_FALSE(t.journal.empty());
  EXPECT_FALSE(t.samples.empty());
}

}  // namespace
}  // namespace oom
