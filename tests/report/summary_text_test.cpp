// The summary is printed to the terminal and saved as summary.txt: text that came
// from the guest (process names, versions, check evidence) must not carry control
// characters into either, nor fake a line of its own.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "report/report.hpp"
#include "scenario/parse.hpp"

using namespace oom;

TEST(SummaryText, GuestTextIsEscapedAndCannotFakeALine) {
  const std::filesystem::path source = OOM_SOURCE_DIR;
  RunReport r;
  auto c = loadScenarioFile(source / "scenarios/three-services.json");
  ASSERT_TRUE(c.ok());
  r.scenario = *c.scenario;
  std::ifstream in(source / "tests/checks/fixtures/recorded-three-services-bookworm.jsonl");
  for (std::string line; std::getline(in, line);) applyStreamLine(r.timeline, line);
  ASSERT_FALSE(r.timeline.kills.empty());
  r.timeline.kills[0].comm = "oom\x1b[2J\nFAKE kill";         // a process may name itself anything
  r.timeline.guest.kernel = "6.1\x1b]0;pwned\x07";             // an OSC title sequence
  r.verdict = evaluate(r.scenario, r.timeline);
  ASSERT_FALSE(r.verdict.checks.empty());
  r.verdict.checks[0].observed = "held\r\nPASS everything";
  r.verdict.reason += "\xc2\x9b" "31m";                        // C1 CSI as UTF-8

  const std::string s = summarize(r);
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    EXPECT_TRUE(ch == '\n' || (u >= 0x20 && u != 0x7f)) << "raw control byte " << int(u) << " in\n" << s;
  }
  EXPECT_EQ(s.find("\xc2\x9b"), std::string::npos) << s;
  EXPECT_NE(s.find("(oom\\x1b[2J\\nFAKE kill)"), std::string::npos) << s;
  EXPECT_NE(s.find("kernel 6.1\\x1b]0;pwned\\x07"), std::string::npos) << s;
  EXPECT_NE(s.find("held\\r\\nPASS everything"), std::string::npos) << s;
  std::istringstream lines(s);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(line.rfind("FAKE", 0), 0u) << line;
    EXPECT_NE(line.rfind("PASS everything", 0), 0u) << line;
  }
}
