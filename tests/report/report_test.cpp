#include "report/report.hpp"
#include "run/exit_status.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "scenario/parse.hpp"
#include "plan/planner.hpp"

using namespace oom;
namespace fs = std::filesystem;

namespace {
const fs::path kSource = OOM_SOURCE_DIR;

RunReport makeReport(const std::string& scenario, const std::string& fixture) {
  RunReport r;
  auto c = loadScenarioFile(kSource / "scenarios" / scenario);
  EXPECT_TRUE(c.ok());
  r.scenario = *c.scenario;
  r.plan = *makeGuestPlan(r.scenario);
  std::ifstream in(kSource / "tests/checks/fixtures" / fixture);
  for (std::string line; std::getline(in, line);) applyStreamLine(r.timeline, line);
  r.verdict = evaluate(r.scenario, r.timeline);
  r.vm.accelerator = "tcg";
  r.vm.qemu_version = "7.2.11";
  r.vm.image = "bookworm-cloud.qcow2";
  r.vm.boot_sec = 13.4;
  r.vm.run_sec = 71.9;
  r.started_at = "2025-01-01T00:00:00Z";
  r.wall_sec = 75.5;
  r.exit_status = exitStatusFor(r.verdict.verdict);
  return r;
}

// Minimal XML well-formedness: balanced tags, quoted attributes, no stray '<' or '&'.
bool wellFormed(const std::string& xml, std::string& why) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = xml.find('<', i)) != std::string::npos) {
    const auto end = xml.find('>', i);
    if (end == std::string::npos) { why = "unclosed tag"; return false; }
    std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string::npos) { why = "'<' inside a tag"; return false; }
    if (std::count(tag.begin(), tag.end(), '"') % 2) { why = "unbalanced quotes in <" + tag + ">"; return false; }
    if (tag[0] == '?') { i = end; continue; }
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) { why = "mismatched </" + tag.substr(1) + ">"; return false; }
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find(' ')));
    }
    i = end;
  }
  for (std::size_t a = 0; (a = xml.find('&', a)) != std::string::npos; ++a) {
    const auto semi = xml.find(';', a);
    const std::string ent = xml.substr(a, semi - a + 1);
    if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;") {
      why = "bad entity " + ent;
      return false;
    }
  }
  if (!stack.empty()) { why = "unclosed <" + stack.back() + ">"; return false; }
  return true;
}

std::size_t occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}
}  // namespace

TEST(JUnit, WellFormedWithOneTestcasePerCheck) {
  for (auto [scenario, fixture] : {std::pair{"three-services.json", "three-services-pass.jsonl"},
                                   std::pair{"three-services.json", "protected-killed.jsonl"}}) {
    const RunReport r = makeReport(scenario, fixture);
    const std::string xml = junitXml(r);
    std::string why;
    EXPECT_TRUE(wellFormed(xml, why)) << why << "\n" << xml;
    EXPECT_EQ(occurrences(xml, "<testcase "), r.verdict.checks.size());
    EXPECT_NE(xml.find("<testsuite name=\"three-services\""), std::string::npos);
  }
}

TEST(JUnit, FailureMessageCarriesTheEvidence) {
  const std::string xml = junitXml(makeReport("three-services.json", "protected-killed.jsonl"));
  EXPECT_NE(xml.find("<failure message=\"first victim: api.service pid 301"), std::string::npos) << xml;
  EXPECT_NE(xml.find("Killed process 301 (oomstress)"), std::string::npos);
}

TEST(ResultJson, RoundTrips) {
  const RunReport r = makeReport("three-services.json", "three-services-pass.jsonl");
  const auto j = toResultJson(r);
  EXPECT_EQ(j["format"], "oomharness-result/1");
  auto back = fromResultJson(nlohmann::json::parse(j.dump()), "result.json");
  ASSERT_TRUE(back) << back.error().str();
  // Same content (key order of the stored scenario may differ after a plain-json parse).
  EXPECT_TRUE(nlohmann::json::parse(toResultJson(*back).dump()) == nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back->scenario.services.size(), 3u);
  EXPECT_EQ(back->timeline.kills.size(), r.timeline.kills.size());
  EXPECT_EQ(back->verdict.verdict, VerdictKind::pass);
  EXPECT_EQ(j["settings_applied"]["report-worker.service"]["OOMScoreAdjust"], "600");
}

TEST(ResultJson, RejectsOtherFormats) {
  EXPECT_FALSE(fromResultJson(nlohmann::json{{"format", "something/2"}}, "x.json"));
}

TEST(Summary, NamesTheVictimItsScoreAndTheOtherCandidates) {
  const std::string s = summarize(makeReport("three-services.json", "three-services-pass.jsonl"));
  EXPECT_NE(s.find("three-services: PASS"), std::string::npos) << s;
  EXPECT_NE(s.find("+21.3s report-worker.service: pid 320 (oomstress) killed"), std::string::npos) << s;
  EXPECT_NE(s.find("oom_score_adj 600, oom_score 1060 at +20.0s"), std::string::npos) << s;
  EXPECT_NE(s.find("redis.service pid 310 score 200 (adj 0)"), std::string::npos) << s;
  EXPECT_NE(s.find("Result=oom-kill, restarted (NRestarts 1), active again at +27.9s"), std::string::npos) << s;
  EXPECT_NE(s.find("PASS first_killed"), std::string::npos) << s;
}

TEST(Reports, WritesAllThreeFiles) {
  const fs::path dir = fs::temp_directory_path() / ("oomharness-report-test-" + std::to_string(::getpid()));
  EXPECT_TRUE(writeRunReports(dir, makeReport("restart-loop.json", "restart-loop-start-limit.jsonl")).empty());
  for (const char* f : {"result.json", "junit.xml", "summary.txt"}) EXPECT_TRUE(fs::exists(dir / f)) << f;
  fs::remove_all(dir);
}

TEST(Reports, AFolderThatCannotBeWrittenIsReportedNotThrown) {
  const fs::path blocker = fs::temp_directory_path() / ("oomharness-report-block-" + std::to_string(::getpid()));
  std::ofstream(blocker) << "a file where the run folder should be";
  const auto failures = writeRunReports(blocker / "run", makeReport("restart-loop.json", "restart-loop-start-limit.jsonl"));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find(blocker.string()), std::string::npos) << failures[0];
  fs::remove(blocker);
}

TEST(Reports, InvalidUtf8FromTheGuestIsReplacedNotFatal) {
  const fs::path dir = fs::temp_directory_path() / ("oomharness-report-utf8-" + std::to_string(::getpid()));
  RunReport r = makeReport("restart-loop.json", "restart-loop-start-limit.jsonl");
  ASSERT_FALSE(r.timeline.kills.empty());
  r.timeline.kills[0].comm = std::string("bad\xff\xfe") + "comm";  // a console tail cut mid-character
  EXPECT_TRUE(writeRunReports(dir, r).empty());
  std::ifstream in(dir / "result.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("bad\ufffd\ufffdcomm"), std::string::npos);
  fs::remove_all(dir);
}
