#include "timeline/timeline.hpp"

#include <gtest/gtest.h>

using namespace oom;

TEST(TimelineStream, FoldsRecordsAndNeedsTheEndSentinel) {
  Timeline t;
  KernelOomKill kill;
  kill.pid = 310;
  kill.comm = "oomstress";
  kill.unit = "worker.service";
  EXPECT_TRUE(applyStreamLine(t, toStreamRecord("oom_kill", kill).dump()));
  EXPECT_FALSE(t.complete);
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"end","status":0})"));
  ASSERT_EQ(t.kills.size(), 1u);
  EXPECT_EQ(t.kills[0].pid, 310);
  EXPECT_EQ(t.kills[0].unit, "worker.service");
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.guest_status, 0);
}

TEST(TimelineStream, ATruncatedLineIsSkippedNotFatal) {
  Timeline t;
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"oom_kill","pid":3)"));
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"no_such_record"})"));
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"phase","t":1.5,"name":"pressure"})"));
  ASSERT_EQ(t.phases.size(), 1u);
  EXPECT_EQ(t.phases[0].name, "pressure");
  EXPECT_TRUE(t.kills.empty());
}
