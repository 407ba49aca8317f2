#include "schedule.hpp"

#include <gtest/gtest.h>

#include "oom/units.hpp"

using namespace oom;
using namespace oom::stress;

namespace {
Options opts(std::uint64_t target, std::uint64_t rate) {
  Options o;
  o.target = target;
  o.rate = rate;
  return o;
}
}  // namespace

TEST(Schedule, RampsAtTheRateThenHolds) {
  const auto o = opts(100 * MiB, 10 * MiB);
  EXPECT_EQ(desiredBytes(o, {0.0, {}, 0}), 0u);
  EXPECT_EQ(desiredBytes(o, {2.5, {}, 0}), 25 * MiB);
  EXPECT_EQ(desiredBytes(o, {20.0, {}, 0}), 100 * MiB);
  EXPECT_EQ(desiredBytes(o, {30.0, 10.0, 0}), 100 * MiB);
  EXPECT_EQ(phaseAt(o, {30.0, 10.0, 0}), Phase::holding);
}

TEST(Schedule, NoRateMeansTheWholeTargetAtOnce) {
  EXPECT_EQ(desiredBytes(opts(64 * MiB, 0), {0.0, {}, 0}), 64 * MiB);
}

TEST(Schedule, LeakReachesTheTargetFastThenGrowsAtTheRate) {
  auto o = opts(100 * MiB, 20 * MiB);
  o.leak = true;
  EXPECT_EQ(desiredBytes(o, {0.0, {}, 0}), 100 * MiB);
  EXPECT_EQ(desiredBytes(o, {3.0, 1.0, 0}), 140 * MiB);
  EXPECT_EQ(phaseAt(o, {3.0, 1.0, 0}), Phase::leaking);
}

TEST(Schedule, SpikeAddsOnTopAtItsTime) {
  auto o = opts(100 * MiB, 0);
  o.spike = Spike{50 * MiB, 10.0};
  EXPECT_EQ(desiredBytes(o, {9.9, 0.1, 0}), 100 * MiB);
  EXPECT_EQ(desiredBytes(o, {10.0, 0.1, 0}), 150 * MiB);
  o.start_after_sec = 4.0;  // TIME counts from the start, waiting included
  EXPECT_EQ(desiredBytes(o, {5.9, 0.1, 0}), 100 * MiB);
  EXPECT_EQ(desiredBytes(o, {6.0, 0.1, 0}), 150 * MiB);
}

TEST(Schedule, SawtoothDropsToHalfAndGrowsBack) {
  auto o = opts(100 * MiB, 10 * MiB);
  o.sawtooth = true;
  // Target reached at t=10; period = 50MiB / 10MiB/s = 5 s.
  EXPECT_EQ(desiredBytes(o, {10.0, 10.0, 0}), 50 * MiB);
  EXPECT_EQ(desiredBytes(o, {12.0, 10.0, 0}), 70 * MiB);
  EXPECT_EQ(desiredBytes(o, {15.0, 10.0, 0}), 50 * MiB);
  EXPECT_EQ(phaseAt(o, {12.0, 10.0, 0}), Phase::sawtooth);
}

TEST(Schedule, ResumedJobRebuildsItsWorkingSetAtOnceThenKeepsTheRate) {
  auto o = opts(100 * MiB, 10 * MiB);
  o.checkpoint = "/tmp/x";
  EXPECT_EQ(desiredBytes(o, {0.0, {}, 60 * MiB}), 60 * MiB);  // no re-ramp of finished work
  EXPECT_EQ(desiredBytes(o, {2.0, {}, 60 * MiB}), 80 * MiB);
  EXPECT_EQ(desiredBytes(o, {9.0, {}, 60 * MiB}), 100 * MiB);  // capped at the target
}

TEST(Schedule, WorkCountsAcrossRunsAndNeverGoesBack) {
  auto o = opts(100 * MiB, 10 * MiB);
  o.checkpoint = "/tmp/x";
  EXPECT_EQ(workDone(o, 0, 30 * MiB, false), 30 * MiB);
  EXPECT_EQ(workDone(o, 60 * MiB, 10 * MiB, false), 60 * MiB);  // still rebuilding
  EXPECT_EQ(workDone(o, 60 * MiB, 70 * MiB, false), 70 * MiB);
  EXPECT_EQ(workDone(o, 60 * MiB, 100 * MiB, true), 100 * MiB);
}

TEST(Schedule, LeakedBytesAreWorkAndARestartRebuildsOnlyTheTarget) {
  auto o = opts(100 * MiB, 10 * MiB);
  o.leak = true;
  o.checkpoint = "/tmp/x";
  EXPECT_EQ(workDone(o, 0, 130 * MiB, true), 130 * MiB);
  // Resumed at 130 MiB of work: the leak is gone, the target comes back at once.
  EXPECT_EQ(desiredBytes(o, {0.0, {}, 130 * MiB}), 100 * MiB);
  EXPECT_EQ(workDone(o, 130 * MiB, 100 * MiB, true), 130 * MiB);
  EXPECT_EQ(workDone(o, 130 * MiB, 120 * MiB, true), 150 * MiB);
  EXPECT_FALSE(workComplete(o, {100.0, 1.0, 0}));  // leaking work never completes
}

TEST(Schedule, CheckpointedWorkCompletesAfterTheHold) {
  auto o = opts(100 * MiB, 10 * MiB);
  o.checkpoint = "/tmp/x";
  EXPECT_FALSE(workComplete(o, {5.0, {}, 0}));
  EXPECT_TRUE(workComplete(o, {10.0, 10.0, 0}));  // no --hold: done when the target is held
  o.hold_sec = 3.0;
  EXPECT_FALSE(workComplete(o, {12.0, 10.0, 0}));
  EXPECT_TRUE(workComplete(o, {13.0, 10.0, 0}));
}
