#include "options.hpp"

#include <gtest/gtest.h>

#include "oom/units.hpp"

using namespace oom;
using namespace oom::stress;

TEST(OomstressOptions, ParsesEveryShape) {
  auto o = parseOptions({"--target", "300MiB", "--rate", "50M/s", "--leak", "--spike", "200M@30s",
                         "--processes", "4", "--start-after", "5s", "--report-interval", "250ms"});
  ASSERT_TRUE(o) << o.error().str();
  EXPECT_EQ(o->target, 300 * MiB);
  EXPECT_EQ(o->rate, 50 * MiB);
  EXPECT_TRUE(o->leak);
  ASSERT_TRUE(o->spike);
  EXPECT_EQ(o->spike->bytes, 200 * MiB);
  EXPECT_DOUBLE_EQ(o->spike->at_sec, 30.0);
  EXPECT_EQ(o->processes, 4u);
  EXPECT_DOUBLE_EQ(o->start_after_sec, 5.0);
  EXPECT_DOUBLE_EQ(o->report_interval_sec, 0.25);
  EXPECT_FALSE(o->hold_sec);
}

TEST(OomstressOptions, ErrorsNameTheFlagAndTheAcceptedForm) {
  auto bad_rate = parseOptions({"--target", "1G", "--rate", "fast"});
  ASSERT_FALSE(bad_rate);
  EXPECT_EQ(bad_rate.error().where, "--rate");
  EXPECT_NE(bad_rate.error().message.find("50M/s"), std::string::npos);
  EXPECT_NE(bad_rate.error().message.find("'fast'"), std::string::npos);
  EXPECT_EQ(parseOptions({"--rate", "1M/s"}).error().where, "--target");
  EXPECT_EQ(parseOptions({"--target", "1G", "--leak"}).error().where, "--leak");
  EXPECT_EQ(parseOptions({"--target", "1G", "--processes", "0"}).error().where, "--processes");
  // A whole number and nothing else (oom/text.hpp parseNumber).
  for (const char* n : {"65", "2x", " 2", "+2", "-1", ""})
    EXPECT_EQ(parseOptions({"--target", "1G", "--processes", n}).error().where, "--processes") << n;
  EXPECT_EQ(parseOptions({"--target", "1G", "--spike", "200M"}).error().where, "--spike");
  for (const char* n : {"0", "17", "2.5", ""})
    EXPECT_EQ(parseOptions({"--target", "1G", "--compress-ratio", n}).error().where, "--compress-ratio") << n;
  EXPECT_EQ(parseOptions({"--target", "1G", "--compress-ratio", "3"})->compress_ratio, 3u);
  EXPECT_EQ(parseOptions({"--target", "1G"})->compress_ratio, 1u);
  EXPECT_EQ(parseOptions({"--target", "1G", "--bogus"}).error().where, "--bogus");
  EXPECT_EQ(parseOptions({"--target"}).error().where, "--target");
}

TEST(OomstressOptions, SharesAddUpToTheWhole) {
  auto o = parseOptions({"--target", "100M", "--rate", "10M/s", "--processes", "3"});
  ASSERT_TRUE(o);
  std::uint64_t target = 0, rate = 0;
  for (unsigned i = 0; i < 3; ++i) {
    target += shareFor(*o, i).target;
    rate += shareFor(*o, i).rate;
  }
  EXPECT_EQ(target, 100 * MiB);
  EXPECT_EQ(rate, 10 * MiB);
  EXPECT_NEAR(static_cast<double>(shareFor(*o, 2).target), 100.0 * MiB / 3, 1.0);
}

TEST(OomstressOptions, ASupervisorHoldsNothingItsWorkersTheWhole) {
  auto o = parseOptions({"--target", "100M", "--leak", "--rate", "8M/s", "--spike", "20M@9s", "--hold", "5s",
                         "--processes", "4", "--supervisor", "--start-after", "2s", "--health-port", "8080"});
  ASSERT_TRUE(o) << o.error().str();
  EXPECT_TRUE(o->supervisor);
  EXPECT_FALSE(parseOptions({"--target", "1G"})->supervisor);
  const Options main = supervisorShare(*o);
  EXPECT_EQ(main.target, 0u);
  EXPECT_EQ(main.rate, 0u);
  EXPECT_FALSE(main.leak);
  EXPECT_FALSE(main.spike);
  EXPECT_FALSE(main.hold_sec) << "it stays until its workers are gone";
  EXPECT_DOUBLE_EQ(main.start_after_sec, 2.0);
  EXPECT_EQ(main.health_port, 8080) << "the main process answers the health port";
  // Each job needs a checkpoint of its own, and a supervisor has none.
  auto both = parseOptions({"--target", "1G", "--supervisor", "--checkpoint", "/var/lib/job.ckpt"});
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().where, "--supervisor");
  EXPECT_NE(both.error().message.find("--checkpoint"), std::string::npos) << both.error().message;
}

TEST(OomstressOptions, ACheckpointMayStandInForTheTarget) {
  auto o = parseOptions({"--checkpoint", "/var/lib/job.ckpt", "--rate", "10M/s"});
  ASSERT_TRUE(o) << o.error().str();
  EXPECT_TRUE(o->target_from_checkpoint);
  EXPECT_FALSE(parseOptions({"--target", "1G", "--checkpoint", "f"})->target_from_checkpoint);
}

TEST(OomstressOptions, HelpNeedsNothingElse) {
  auto o = parseOptions({"--help"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->help);
}
