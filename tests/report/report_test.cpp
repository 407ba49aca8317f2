#include "report/report.hpp"
#include "run/exit_status.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "scenario/parse.hpp"
#include "plan/planner.hpp"
#include "recorded_run.hpp"

using namespace oom;
namespace fs = std::filesystem;

using oomtest::occurrences;

namespace {
const fs::path kSource = OOM_SOURCE_DIR;

// A report of a fixture run (tests/checks/fixtures) judged against a shipped
// scenario, its expectations replaced when `expect` is given.
RunReport makeReport(const std::string& scenario, const std::string& fixture, const std::string& expect = "") {
  RunReport r;
  auto c = loadScenarioFile(kSource / "scenarios" / scenario);
  EXPECT_TRUE(c.ok());
  if (!expect.empty()) {
    auto doc = c.scenario->document;
    doc["expect"] = nlohmann::ordered_json::parse(expect);
    c = parseScenario(doc.dump(), scenario);
    EXPECT_TRUE(c.ok());
  }
  r.scenario = *c.scenario;
  r.plan = *makeGuestPlan(r.scenario);
  std::ifstream in(kSource / "tests/checks/fixtures" / fixture);
  for (std::string line; std::getline(in, line);) applyStreamLine(r.timeline, line);
  r.verdict = evaluate(r.scenario, r.timeline);
  r.vm.accelerator = "tcg";
  r.vm.qemu_version = "7.2.11";
  r.vm.image = "/cache/images/bookworm-24eda432bf28.v20261204T212012Z-19331";
  r.vm.image_recipe = "bookworm-24eda432bf28";
  r.vm.image_built_at = "2026-12-04T21:20:12Z";
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

// The first offset where `xml` is not XML 1.0 text: bytes that are not UTF-8
// (strict: no overlong forms, no surrogates) or a code point outside XML's Char
// (tab, newline, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF); npos if none.
std::size_t firstNonXmlChar(const std::string& xml) {
  for (std::size_t i = 0; i < xml.size();) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(xml[k]); };
    const unsigned char lead = b(i);
    std::size_t n = 1;
    char32_t c = lead, min = 0;
    if (lead >= 0x80) {
      if (lead >= 0xc2 && lead <= 0xdf) { n = 2; c = lead & 0x1f; min = 0x80; }
      else if (lead >= 0xe0 && lead <= 0xef) { n = 3; c = lead & 0x0f; min = 0x800; }
      else if (lead >= 0xf0 && lead <= 0xf4) { n = 4; c = lead & 0x07; min = 0x10000; }
      else return i;
      if (i + n > xml.size()) return i;
      for (std::size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xc0) != 0x80) return i;
        c = (c << 6) | (b(i + k) & 0x3f);
      }
      if (c < min) return i;
    }
    const bool allowed = c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
                         (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
    if (!allowed) return i;
    i += n;
  }
  return std::string::npos;
}

}  // namespace

TEST(JUnit, WellFormedWithOneTestcasePerCheck) {
  for (const char* expect : {"", R"({"first_killed": "api"})"}) {
    const RunReport r = makeReport("three-services.json", "recorded-three-services-bookworm.jsonl", expect);
    const std::string xml = junitXml(r);
    std::string why;
    EXPECT_TRUE(wellFormed(xml, why)) << why << "\n" << xml;
    EXPECT_EQ(occurrences(xml, "<testcase "), r.verdict.checks.size());
    EXPECT_NE(xml.find("<testsuite name=\"three-services\""), std::string::npos);
  }
}

TEST(JUnit, FailureMessageCarriesTheEvidenceAndWhy) {
  const std::string xml = junitXml(makeReport("three-services.json", "recorded-three-services-bookworm.jsonl",
                                              R"({"first_killed": "api"})"));
  EXPECT_NE(xml.find("<failure message=\"first victim: report-worker.service pid 207"), std::string::npos) << xml;
  EXPECT_NE(xml.find("Killed process 207 (oomstress)"), std::string::npos);
  EXPECT_NE(xml.find("why: the kernel chose report-worker.service pid 207"), std::string::npos) << xml;
}

TEST(JUnit, ControlCharactersAndInvalidUtf8FromTheGuestAreEscapedNotWritten) {
  RunReport r = makeReport("three-services.json", "recorded-three-services-bookworm.jsonl", R"({"first_killed": "api"})");
  ASSERT_FALSE(r.verdict.checks.empty());
  const std::string nul("\0", 1);
  CheckResult& c = r.verdict.checks[0];
  c.unit = "api" + nul + "x.service";                       // a unit name with NUL
  c.name = "first_killed\x1b[2J";                            // ESC: would clear a terminal
  c.observed = "pid 207 (oom\xffstress)";                    // a lone byte that is not UTF-8
  c.why = "line one\nfake: line two";                        // a newline of the guest's own
  c.evidence.push_back(Evidence{12.5, "journal", "api.service", "", 0,
                                "msg \x1b]0;title\x07 " + nul + " \xff end \xef\xbf\xbe"});
  r.verdict.reason = "guest said \x1b[31mred\xff";
  const std::string xml = junitXml(r);

  const std::size_t bad = firstNonXmlChar(xml);
  EXPECT_EQ(bad, std::string::npos) << "byte " << bad << ": " << xml.substr(bad == std::string::npos ? 0 : bad, 40);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  EXPECT_EQ(xml.find('\0'), std::string::npos);
  EXPECT_EQ(xml.find('\xff'), std::string::npos);
  std::string why;
  EXPECT_TRUE(wellFormed(xml, why)) << why << "\n" << xml;

  // The text is still there, escaped, in every field it came in.
  EXPECT_NE(xml.find("classname=\"three-services.api\\x00x.service\" name=\"first_killed\\x1b[2J\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"pid 207 (oom\\xffstress)\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("why: line one\\nfake: line two\n"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("\nfake: line two"), std::string::npos) << "the guest's newline must not start a line";
  EXPECT_NE(xml.find("[12.500] journal: msg \\x1b]0;title\\x07 \\x00 \\xff end \\u{fffe}\n"), std::string::npos) << xml;
  EXPECT_NE(xml.find("value=\"guest said \\x1b[31mred\\xff\""), std::string::npos) << xml;
}

TEST(ResultJson, RoundTripsEveryField) {
  RunReport r = makeReport("three-services.json", "recorded-three-services-bookworm.jsonl");
  r.timeline.gaps.push_back(ObserverGap{30.5, 4.25, "sampler late"});
  r.timeline.losses.push_back(Loss{31.0, "kmsg", "sequence_gap", 7, "seq 10 after 2"});
  r.timeline.guest_samples.push_back(GuestSample{32.0, 20 << 20, 0, 1, 12.5, 3.5, {"proc/vmstat"}});
  r.verdict = evaluate(r.scenario, r.timeline);
  const auto j = toResultJson(r);
  auto back = fromResultJson(nlohmann::json::parse(j.dump()), "result.json");
  ASSERT_TRUE(back) << back.error().str();
  // Same content (key order of the stored scenario may differ after a plain-json parse).
  EXPECT_TRUE(nlohmann::json::parse(toResultJson(*back).dump()) == nlohmann::json::parse(j.dump()));
  ASSERT_EQ(back->timeline.losses.size(), 1u);
  EXPECT_EQ(back->timeline.losses[0].count, 7u);
  EXPECT_EQ(j["settings_applied"]["report-worker.service"]["OOMScoreAdjust"], "600");
  // Which recipe and which build of it, in fields of their own (not read off a path).
  EXPECT_EQ(j["vm"]["image_recipe"], "bookworm-24eda432bf28");
  EXPECT_EQ(back->vm.image_built_at, "2026-12-04T21:20:12Z");
  bool why = false;
  for (const auto& c : j["checks"]) why = why || !c["why"].get<std::string>().empty();
  EXPECT_TRUE(why) << "the blind checks say why";
}

TEST(ResultJson, RejectsOtherFormats) {
  EXPECT_FALSE(fromResultJson(nlohmann::json{{"format", "something/2"}}, "x.json"));
}

// An outcome name outside the one table is an error naming the file, never a pass.
TEST(ResultJson, AnUnknownVerdictOrOutcomeIsAnErrorNotAPass) {
  const auto j = toResultJson(makeReport("three-services.json", "recorded-three-services-bookworm.jsonl"));
  auto verdict = j;
  verdict["verdict"] = "PASSED";
  auto back = fromResultJson(verdict, "result.json");
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().str().find("result.json"), std::string::npos) << back.error().str();
  EXPECT_NE(back.error().str().find("\"PASSED\""), std::string::npos) << back.error().str();
  EXPECT_NE(back.error().str().find(R"(expected "pass", "fail" or "inconclusive")"), std::string::npos)
      << back.error().str();
  auto outcome = j;
  outcome["checks"][0]["outcome"] = "ok";
  back = fromResultJson(outcome, "result.json");
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().str().find(R"(expected "pass", "fail", "inconclusive" or "note")"), std::string::npos)
      << back.error().str();
  EXPECT_TRUE(fromResultJson(j, "result.json"));
}

TEST(Summary, NamesTheVictimItsScoreTheInvocationAndTheOtherCandidates) {
  const std::string s = summarize(makeReport("three-services.json", "recorded-three-services-bookworm.jsonl"));
  EXPECT_NE(s.find("three-services: PASS"), std::string::npos) << s;
  EXPECT_NE(s.find("+26.0s report-worker.service: pid 207 (oomstress) killed"), std::string::npos) << s;
  EXPECT_NE(s.find("oom_score_adj 600, oom_score 1418 at +25.5s"), std::string::npos) << s;
  EXPECT_NE(s.find("redis.service pid 204 score 804 (adj 0)"), std::string::npos) << s;
  EXPECT_NE(s.find("systemd: invocation 01ee15f6 Result=oom-kill, restarted (NRestarts 1), active again at +37.1s, "
                   "new invocation 73a0bea6"),
            std::string::npos) << s;
  EXPECT_NE(s.find("pressure: proven by Out of memory: Killed process 207"), std::string::npos) << s;
  EXPECT_NE(s.find("run: settled at +52.4s"), std::string::npos) << s;
  EXPECT_NE(s.find("PASS first_killed"), std::string::npos) << s;
}

TEST(Summary, ARestartLoopCountsEachRestartOnce) {
  // Scheduling a restart bumps NRestarts on the old invocation first: the restart
  // that followed kill N is restart N, not N+1.
  const std::string s = summarize(makeReport("restart-loop.json", "synthetic-restart-loop-start-limit.jsonl"));
  EXPECT_NE(s.find("Result=oom-kill, restarted (NRestarts 1)"), std::string::npos) << s;
  EXPECT_NE(s.find("Result=signal, restarted (NRestarts 2)"), std::string::npos) << s;
  EXPECT_EQ(s.find("NRestarts 3)"), std::string::npos) << s;
}

TEST(Summary, ListsEveryGapAndLossTheTimeLimitAndWhyAFailureHappened) {
  RunReport r = makeReport("three-services.json", "recorded-three-services-bookworm.jsonl", R"({"first_killed": "redis"})");
  r.timeline.gaps.push_back(ObserverGap{r.verdict.pressure_t + 2.0, 4.25, "sampler late"});
  r.timeline.gaps.push_back(ObserverGap{r.verdict.pressure_t + 40.0, 1.5, ""});
  r.timeline.losses.push_back(Loss{r.verdict.pressure_t + 3.0, "journal", "gap", 3, ""});
  for (auto& p : r.timeline.phases)
    if (p.name == kPhaseSettled) p.name = kPhaseTimeLimit;
  r.verdict = evaluate(r.scenario, r.timeline);
  const std::string s = summarize(r);
  EXPECT_NE(s.find("observer blind spots (2 gap(s), 1 loss(es)):"), std::string::npos) << s;
  EXPECT_NE(s.find("  gap from +2.0s for 4.2s (sampler late)"), std::string::npos) << s;
  EXPECT_NE(s.find("  gap from +40.0s for 1.5s"), std::string::npos) << s;
  EXPECT_NE(s.find("  loss at +3.0s: journal gap x3"), std::string::npos) << s;
  EXPECT_NE(s.find("run: reached its time_limit (2min) at +52.4s"), std::string::npos) << s;
  EXPECT_NE(s.find("FAIL first_killed"), std::string::npos) << s;
  EXPECT_NE(s.find("      why: the kernel chose report-worker.service pid 207"), std::string::npos) << s;
}

TEST(Reports, WritesAllThreeFiles) {
  const fs::path dir = fs::temp_directory_path() / ("oomharness-report-test-" + std::to_string(::getpid()));
  EXPECT_TRUE(writeRunReports(dir, makeReport("restart-loop.json", "synthetic-restart-loop-start-limit.jsonl")).empty());
  for (const char* f : {"result.json", "junit.xml", "summary.txt"}) EXPECT_TRUE(fs::exists(dir / f)) << f;
  fs::remove_all(dir);
}

TEST(Reports, AFolderThatCannotBeWrittenIsReportedNotThrown) {
  const fs::path blocker = fs::temp_directory_path() / ("oomharness-report-block-" + std::to_string(::getpid()));
  std::ofstream(blocker) << "a file where the run folder should be";
  const auto failures = writeRunReports(blocker / "run", makeReport("restart-loop.json", "synthetic-restart-loop-start-limit.jsonl"));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find(blocker.string()), std::string::npos) << failures[0];
  fs::remove(blocker);
}

TEST(Reports, InvalidUtf8FromTheGuestIsReplacedNotFatal) {
  const fs::path dir = fs::temp_directory_path() / ("oomharness-report-utf8-" + std::to_string(::getpid()));
  RunReport r = makeReport("restart-loop.json", "synthetic-restart-loop-start-limit.jsonl");
  ASSERT_FALSE(r.timeline.kills.empty());
  r.timeline.kills[0].comm = std::string("bad\xff\xfe") + "comm";  // a console tail cut mid-character
  EXPECT_TRUE(writeRunReports(dir, r).empty());
  std::ifstream in(dir / "result.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("bad\ufffd\ufffdcomm"), std::string::npos);
  fs::remove_all(dir);
}
