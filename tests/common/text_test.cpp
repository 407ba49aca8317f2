#include "oom/text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

using namespace oom;

TEST(Trim, RemovesWhitespaceAtBothEndsOnly) {
  EXPECT_EQ(trim("  512M \t\n"), "512M");
  EXPECT_EQ(trim("\r\nDebian GNU/Linux 12 (bookworm)\n"), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(trim("a b"), "a b");
  EXPECT_EQ(trim(" \t\n"), "");
  EXPECT_EQ(trim(""), "");
}

TEST(SkipBlanks, RemovesLeadingSpacesAndTabsOnly) {
  EXPECT_EQ(skipBlanks(" \t 42 "), "42 ");
  EXPECT_EQ(skipBlanks("\n42"), "\n42");
}

TEST(ParseNumber, TakesTheWholeTextOrNothing) {
  EXPECT_EQ(parseNumber<int>("42"), 42);
  EXPECT_EQ(parseNumber<int>("-1000"), -1000);
  EXPECT_EQ(parseNumber<unsigned>("64"), 64u);
  EXPECT_EQ(parseNumber<long long>("0"), 0);
  EXPECT_FALSE(parseNumber<int>(""));
  EXPECT_FALSE(parseNumber<int>("4x"));
  EXPECT_FALSE(parseNumber<int>(" 4"));
  EXPECT_FALSE(parseNumber<int>("4 "));
  EXPECT_FALSE(parseNumber<int>("+4"));    // callers that take '+' (systemd's integers) strip it
  EXPECT_FALSE(parseNumber<int>("0x10"));
}

TEST(ParseNumber, RejectsSignsAndValuesTheTypeCannotHold) {
  EXPECT_FALSE(parseNumber<unsigned>("-1"));
  EXPECT_FALSE(parseNumber<std::int32_t>("2147483648"));
  EXPECT_EQ(parseNumber<std::int32_t>("-2147483648"), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(parseNumber<std::uint64_t>("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(parseNumber<std::uint64_t>("18446744073709551616"));
}

TEST(ParseNumber, ReadsDecimalFractions) {
  EXPECT_DOUBLE_EQ(*parseNumber<double>("0.25"), 0.25);
  EXPECT_DOUBLE_EQ(*parseNumber<double>("-3"), -3.0);
  EXPECT_FALSE(parseNumber<double>("1.5s"));
}

TEST(LeadingNumber, ReadsTheNumberAtTheStartAndIgnoresTheRest) {
  EXPECT_EQ(leadingNumber<std::uint64_t>("1007616 kB"), 1007616u);
  EXPECT_EQ(leadingNumber<int>(" \t301\n"), 301);  // cgroup.procs, oom_score
  EXPECT_EQ(leadingNumber<int>("-17"), -17);
  EXPECT_EQ(leadingNumber<std::uint64_t>("12x"), 12u);
  EXPECT_DOUBLE_EQ(*leadingNumber<double>("12.50 avg60"), 12.5);
  EXPECT_FALSE(leadingNumber<int>(""));
  EXPECT_FALSE(leadingNumber<int>("max"));
  EXPECT_FALSE(leadingNumber<int>("\n5"));  // only spaces and tabs are skipped
  EXPECT_FALSE(leadingNumber<std::uint64_t>("-1"));
}

TEST(NumberAfter, ReadsTheNumberFollowingTheFirstKey) {
  const char* line = "Killed process 1234 (oomstress) total-vm:1060852kB, anon-rss:1048576kB, "
                     "file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:2100kB oom_score_adj:600";
  EXPECT_EQ(numberAfter<std::uint64_t>(line, "anon-rss:"), 1048576u);
  EXPECT_EQ(numberAfter<int>(line, "oom_score_adj:"), 600);
  EXPECT_EQ(numberAfter<int>(line, "Killed process "), 1234);
  EXPECT_FALSE(numberAfter<int>(line, "swap-rss:"));
  EXPECT_FALSE(numberAfter<int>("UID:root", "UID:"));
}

TEST(Printable, EscapesControlCharactersAndKeepsTheRest) {
  EXPECT_EQ(printable("api: réservé, \"quoted\" \\x2d"), "api: réservé, \"quoted\" \\x2d");
  EXPECT_EQ(printable("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(printable(std::string_view("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("csi\xc2\x9b" "2J"), "csi\\u{009b}2J");           // C1 CSI as UTF-8
  EXPECT_EQ(printable("rtl\xe2\x80\xae" "txt"), "rtl\\u{202e}txt");     // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(printable("bad\xff\xc3"), "bad\\xff\\xc3");                  // not UTF-8, cut short
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                        // overlong '/'
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, FirstControlCharacter) {
  EXPECT_FALSE(firstControlCharacter("plain text, café"));
  EXPECT_EQ(firstControlCharacter("line\nbreak"), U'\n');
  EXPECT_EQ(firstControlCharacter("esc\x1b["), U'\x1b');
  EXPECT_EQ(firstControlCharacter("c1 \xc2\x85"), U'\u0085');
  EXPECT_FALSE(firstControlCharacter("\xff not utf-8 but no control"));
}

TEST(SplitLines, OneEntryPerLine) {
  EXPECT_EQ(splitLines("a\nb\n\nc"), (std::vector<std::string_view>{"a", "b", "", "c"}));
  EXPECT_EQ(splitLines("a\n"), (std::vector<std::string_view>{"a"}));
  EXPECT_TRUE(splitLines("").empty());
}

TEST(ParseMeminfo, KeysToBytesWhereTheLineSaysKb) {
  const auto m = parseMeminfo("MemTotal:        1007616 kB\nHugePages_Total:       0\n"
                              "Name:\toomstress\nVmRSS:\t  51200 kB\nHuge: 18446744073709551615 kB\n");
  EXPECT_EQ(m.at("MemTotal"), 1007616ull * 1024);
  EXPECT_EQ(m.at("HugePages_Total"), 0u);  // a count, not kB
  EXPECT_EQ(m.at("VmRSS"), 51200ull * 1024);
  EXPECT_EQ(m.count("Name"), 0u);  // not a number
  EXPECT_EQ(m.count("Huge"), 0u);  // would not fit in bytes
}

TEST(Text, StartsWithAndEndsWith) {
  EXPECT_TRUE(oom::startsWith("ConditionPathExists", "Condition"));
  EXPECT_FALSE(oom::startsWith("Cond", "Condition"));
  EXPECT_TRUE(oom::startsWith("x", ""));
  EXPECT_TRUE(oom::endsWith("api.service", ".service"));
  EXPECT_FALSE(oom::endsWith("service", ".service"));
  EXPECT_TRUE(oom::endsWith("", ""));
}
