#include "oom/units.hpp"

#include <gtest/gtest.h>

using namespace oom;

TEST(ParseSize, AcceptsSystemdStyleSuffixes) {
  EXPECT_EQ(*parseSize("4096"), 4096u);
  EXPECT_EQ(*parseSize("512M"), 512 * MiB);
  EXPECT_EQ(*parseSize("2G"), 2 * GiB);
  EXPECT_EQ(*parseSize("300MiB"), 300 * MiB);
  EXPECT_EQ(*parseSize("1.5G"), 3 * GiB / 2);
  EXPECT_EQ(*parseSize("64k"), 64 * KiB);
}

TEST(ParseSize, RejectsGarbageWithTheAcceptedForm) {
  auto bad = parseSize("lots");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("512M"), std::string::npos);
  EXPECT_FALSE(parseSize("12X"));
  EXPECT_FALSE(parseSize(""));
  EXPECT_FALSE(parseSize("-5M"));
}

TEST(ParseDuration, AcceptsSystemdTimeSpans) {
  EXPECT_DOUBLE_EQ(parseDuration("30s")->count(), 30.0);
  EXPECT_DOUBLE_EQ(parseDuration("250ms")->count(), 0.25);
  EXPECT_DOUBLE_EQ(parseDuration("2min")->count(), 120.0);
  EXPECT_DOUBLE_EQ(parseDuration("1h")->count(), 3600.0);
  EXPECT_DOUBLE_EQ(parseDuration("5")->count(), 5.0);
  EXPECT_FALSE(parseDuration("soon"));
  EXPECT_FALSE(parseDuration("5 fortnights"));
}

TEST(ParseRate, AcceptsPerSecondSuffix) {
  EXPECT_EQ(*parseRate("50M/s"), 50 * MiB);
  EXPECT_EQ(*parseRate("1G/sec"), GiB);
  EXPECT_EQ(*parseRate("0"), 0u);
  EXPECT_FALSE(parseRate("fast"));
}

TEST(FormatSize, RoundTripsWholeUnits) {
  EXPECT_EQ(formatSize(512 * MiB), "512MiB");
  EXPECT_EQ(formatSize(3 * GiB / 2), "1.5GiB");
  EXPECT_EQ(formatSize(100), "100B");
}
