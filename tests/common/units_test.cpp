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

TEST(ParseSizeAt, ReadsSizeAndTime) {
  EXPECT_EQ(*parseSizeAt("200M@30s"), (SizeAt{200 * MiB, 30.0}));
  EXPECT_EQ(*parseSizeAt("1.5G@250ms"), (SizeAt{3 * GiB / 2, 0.25}));
  EXPECT_EQ(*parseSizeAt("4096@0"), (SizeAt{4096, 0.0}));
  for (const char* bad : {"200M", "@30s", "200M@", "200M@soon", "lots@30s", "", "200M@30s@1s"})
    EXPECT_FALSE(parseSizeAt(bad)) << bad;
  EXPECT_NE(parseSizeAt("200M").error().message.find("SIZE@TIME"), std::string::npos);
}

TEST(FormatExact, ReadsBackToTheByteAndTheMillisecond) {
  EXPECT_EQ(formatSizeExact(150 * MiB), "150M");
  EXPECT_EQ(formatSizeExact(1536 * KiB), "1536K");
  EXPECT_EQ(formatSizeExact(2 * GiB), "2G");
  EXPECT_EQ(formatSizeExact(1000), "1000");
  EXPECT_EQ(formatSizeExact(0), "0");
  EXPECT_EQ(formatDurationExact(Seconds(5)), "5s");
  EXPECT_EQ(formatDurationExact(Seconds(0.25)), "250ms");
  EXPECT_EQ(formatSizeAt({700 * MiB, 20}), "700M@20s");
  for (std::uint64_t bytes : {std::uint64_t{1}, 1000 * KiB + 1, 3 * GiB / 2, 64 * GiB})
    EXPECT_EQ(*parseSize(formatSizeExact(bytes)), bytes);
  for (const SizeAt s : {SizeAt{700 * MiB, 20}, SizeAt{1, 0.001}, SizeAt{5 * GiB, 86400}})
    EXPECT_EQ(*parseSizeAt(formatSizeAt(s)), s);
}

namespace oom {
namespace {

TEST(FormatTenths, AMeasuredLengthToATenthOfASecond) {
  EXPECT_EQ(formatTenths(2.0778), "2.1s");
  EXPECT_EQ(formatTenths(0.0), "0.0s");
  EXPECT_EQ(formatTenths(95.5883), "95.6s");
}

}  // namespace
}  // namespace oom
