#include "systemd/directives.hpp"
#include "systemd/unit_values.hpp"

#include <gtest/gtest.h>

#include <limits>

using namespace oom;

TEST(Directives, RestartSecBecomesRestartUSecInMicroseconds) {
  auto p = toDbusProperty("RestartSec", "5s");
  ASSERT_TRUE(p) << p.error().str();
  EXPECT_EQ(p->name, "RestartUSec");
  EXPECT_EQ(p->signature, 't');
  EXPECT_EQ(std::get<std::uint64_t>(p->value), 5'000'000u);
}

TEST(Directives, OOMScoreAdjustIsInt32InRange) {
  auto p = toDbusProperty("OOMScoreAdjust", "-300");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->signature, 'i');
  EXPECT_EQ(std::get<std::int32_t>(p->value), -300);
  EXPECT_FALSE(toDbusProperty("OOMScoreAdjust", "1001"));
  EXPECT_FALSE(toDbusProperty("OOMScoreAdjust", "12x"));
}

TEST(Directives, MemoryMaxAcceptsSizesAndInfinity) {
  auto p = toDbusProperty("MemoryMax", "256M");
  ASSERT_TRUE(p);
  EXPECT_EQ(std::get<std::uint64_t>(p->value), 256u * 1024 * 1024);
  auto inf = toDbusProperty("MemoryMax", "infinity");
  ASSERT_TRUE(inf);
  EXPECT_EQ(std::get<std::uint64_t>(inf->value), std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(toDbusProperty("MemoryMax", "50%"));
}

TEST(Directives, BadValueSaysWhatTheDirectiveAccepts) {
  auto p = toDbusProperty("OOMPolicy", "murder");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("expected one of continue, stop, kill; got \"murder\""),
            std::string::npos)
      << p.error().message;
}

TEST(Directives, UnknownDirectiveListsSupportedOnes) {
  auto p = toDbusProperty("OOMKiller", "yes");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("OOMPolicy"), std::string::npos);
  EXPECT_NE(p.error().message.find("MemoryMax"), std::string::npos);
}

TEST(Directives, EveryListedDirectiveConverts) {
  for (const auto& d : supportedDirectives()) {
    auto q = toDbusProperty(d.directive, "definitely-bad");
    EXPECT_FALSE(q) << d.directive;
    if (!q) {
      EXPECT_EQ(q.error().message.find("unknown directive"), std::string::npos);
    }
  }
}

// One grammar for OOMScoreAdjust=: a scenario's `unit` value and a unit file's line are
// read alike (systemd's safe_atoi: a sign, hex and octal count), so the value the guest
// applies, the one lint judges and the one the checks expect never differ.
TEST(Directives, OomScoreAdjustReadsAsUnitFilesReadIt) {
  for (const char* text : {"500", "+500", "-1000", "1000", "0x1f4", "0764", "-0x3e8", "1001", "-1001", " 5", "5 ",
                           "", "five", "0x", "99999999999999999999"}) {
    SCOPED_TRACE(text);
    const auto from_unit_file = parseOomScoreAdjust(text);
    const auto from_scenario = toDbusProperty("OOMScoreAdjust", text);
    ASSERT_EQ(from_unit_file.has_value(), bool(from_scenario));
    if (from_unit_file) {
      EXPECT_EQ(std::get<std::int32_t>(from_scenario->value), *from_unit_file);
      EXPECT_EQ(oomScoreAdjustOf({{"OOMScoreAdjust", text}}), *from_unit_file);
    }
  }
  EXPECT_EQ(*parseOomScoreAdjust("0x1f4"), 500);
  EXPECT_EQ(*parseOomScoreAdjust("0764"), 500);
  EXPECT_EQ(oomScoreAdjustOf({}), 0);  // systemd's default
  EXPECT_EQ(oomScoreAdjustOf({{"OOMScoreAdjust", "100"}, {"OOMScoreAdjust", "-200"}}), -200);  // the last one wins
}
