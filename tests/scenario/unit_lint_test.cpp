// `oomharness lint`'s library: the unit-file parser, the drop-in merge, and the
// rules on the corpus in tests/scenario/units/ (each case folder lists the findings
// it must give in expected.txt, as "file:line rule-id"; an empty list means clean).
#include "scenario/unit_lint.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenario/lint_report.hpp"
#include "scenario/lint_inputs.hpp"
#include "scenario/limits.hpp"
#include "systemd/unit_file.hpp"
#include "systemd/unit_values.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {

const fs::path kCorpus = fs::path(OOM_SOURCE_DIR) / "tests/scenario/units";

std::vector<std::string> expectedFindings(const fs::path& dir) {
  std::ifstream in(dir / "expected.txt");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> actualFindings(const fs::path& dir,
                                        const std::vector<LintFinding>& findings) {
  std::vector<std::string> lines;
  for (const auto& f : findings)
    if (!f.suppressed)
      lines.push_back(fs::path(f.at.file).lexically_relative(dir).string() + ":" +
                      std::to_string(f.at.line) + " " + f.rule);
  std::sort(lines.begin(), lines.end());
  return lines;
}

const LintFinding* find(const std::vector<LintFinding>& findings, const std::string& rule) {
  for (const auto& f : findings)
    if (f.rule == rule) return &f;
  return nullptr;
}

}  // namespace

TEST(UnitLintCorpus, EveryCaseGivesExactlyItsExpectedFindings) {
  std::size_t cases = 0;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (!entry.is_directory()) continue;
    ++cases;
    const fs::path dir = entry.path();
    ASSERT_TRUE(fs::exists(dir / "expected.txt")) << dir;
    const auto inputs = collectLintInputs({dir.string()});
    EXPECT_TRUE(inputs.unreadable.empty()) << dir << ": " << inputs.unreadable.front().str();
    EXPECT_EQ(actualFindings(dir, lintUnits(inputs.units)), expectedFindings(dir)) << dir;
  }
  EXPECT_GE(cases, 10u);
}

TEST(UnitLintCorpus, EveryRuleIdIsDocumented) {
  std::ifstream in(fs::path(OOM_SOURCE_DIR) / "docs/lint-rules.md");
  std::stringstream doc;
  doc << in.rdbuf();
  for (const auto& r : lintRules())
    EXPECT_NE(doc.str().find("`" + std::string(r.id) + "`"), std::string::npos) << r.id;
}

TEST(UnitFile, ContinuedLinesSkipCommentsAndJoinWithASpace) {
  const auto f = parseUnitFile(
      "[Service]\nExecStart=/bin/worker \\\n# dropped\n  --threads 4\n ; also a comment\n  Key  =  "
      "v  \n",
      "w.service");
  ASSERT_EQ(f.assignments.size(), 2u);
  EXPECT_EQ(f.assignments[0].value, "/bin/worker    --threads 4");
  EXPECT_EQ(f.assignments[0].line, 2u);
  EXPECT_EQ(f.assignments[1].key, "Key");
  EXPECT_EQ(f.assignments[1].value, "v");
  EXPECT_EQ(f.assignments[1].line, 6u);
  EXPECT_TRUE(f.problems.empty());
}

TEST(UnitFile, AnEscapedBackslashDoesNotContinueTheLine) {
  const auto f = parseUnitFile("[Service]\nA=x\\\\\nB=y\n", "a.service");
  ASSERT_EQ(f.assignments.size(), 2u);
  EXPECT_EQ(f.assignments[0].value, "x\\\\");
}

TEST(UnitFile, SyntaxSystemdIgnoresIsReportedWithItsLine) {
  const auto f = parseUnitFile("A=1\n[Service\n[Service]\nno equals sign\n", "a.service");
  ASSERT_EQ(f.problems.size(), 4u);
  EXPECT_EQ(f.problems[0].line, 1u);  // before any section
  EXPECT_EQ(f.problems[1].line, 2u);
  EXPECT_EQ(f.problems[2].line, 4u);
  // Three such lines: the file stops being read (kMaxForeignLines), said once.
  EXPECT_EQ(f.problems[3].message.rfind("does not look like a unit file", 0), 0u);
  EXPECT_TRUE(f.assignments.empty());
}

TEST(UnitFile, SuppressionsCoverTheNextAssignmentOrTheWholeFile) {
  const auto f = parseUnitFile(
      "# oomharness-lint: disable=oom-policy-continue single process\n[Service]\n"
      "# oomharness-lint: disable=oom-score-adjust-min,all-services-protected sshd\n# more words\n"
      "OOMScoreAdjust=-1000\n",
      "a.service");
  ASSERT_EQ(f.suppressions.size(), 2u);
  EXPECT_EQ(f.suppressions[0].applies_to, 0u);
  EXPECT_EQ(f.suppressions[0].reason, "single process");
  EXPECT_EQ(f.suppressions[1].applies_to, 5u);
  EXPECT_EQ(f.suppressions[1].rules,
            (std::vector<std::string>{"oom-score-adjust-min", "all-services-protected"}));
}

TEST(UnitFile, EmptyAssignmentResetsAndDropInsApplyInFileNameOrder) {
  const auto inputs = collectLintInputs({(kCorpus / "drop-in-overrides").string()});
  ASSERT_EQ(inputs.units.size(), 1u);
  const auto& api = inputs.units[0];
  ASSERT_EQ(api.drop_ins.size(), 3u);
  // Text order: "10-oom" < "20-team" < "9-late", as systemd sorts them.
  EXPECT_EQ(fs::path(api.drop_ins[0].path).filename(), "10-oom.conf");
  EXPECT_EQ(fs::path(api.drop_ins[2].path).filename(), "9-late.conf");
  auto settings = effectiveSettings(api);
  EXPECT_EQ(settings["Service.OOMPolicy"].winner->value, "continue");
  EXPECT_EQ(settings["Service.OOMScoreAdjust"].winner->value, "-100");

  UnitSources unit{"x.service", parseUnitFile("[Service]\nOOMScoreAdjust=500\n", "x.service"), {}};
  unit.drop_ins.push_back(parseUnitFile("[Service]\nOOMScoreAdjust=\n", "x.service.d/a.conf"));
  settings = effectiveSettings(unit);
  EXPECT_EQ(settings["Service.OOMScoreAdjust"].winner, nullptr);
  EXPECT_EQ(settings["Service.OOMScoreAdjust"].history.size(), 2u);
}

TEST(UnitLint, AnInvalidValueLeavesTheEarlierOneInEffect) {
  UnitSources unit{
      "w.service",
      parseUnitFile("[Service]\nOOMScoreAdjust=500\nRestart=on-failure\n", "w.service"),
      {}};
  unit.drop_ins.push_back(parseUnitFile("[Service]\nOOMScoreAdjust=5000\n", "w.service.d/a.conf"));
  const auto findings = lintUnits({unit});
  ASSERT_NE(find(findings, "invalid-value"), nullptr);
  EXPECT_EQ(find(findings, "drop-in-overrides-unit"),
            nullptr);  // systemd ignored the line: nothing replaced
}

TEST(UnitLint, OverridesNameBothFilesAndLines) {
  const auto inputs = collectLintInputs({(kCorpus / "drop-in-overrides").string()});
  const auto findings = lintUnits(inputs.units);
  const auto* f = find(findings, "drop-in-overrides-drop-in");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(fs::path(f->at.file).filename(), "20-team.conf");
  ASSERT_EQ(f->related.size(), 1u);
  EXPECT_EQ(fs::path(f->related[0].file).filename(), "10-oom.conf");
  EXPECT_EQ(f->related[0].line, 2u);
}

TEST(UnitLint, ASuppressionWithAReasonIsKeptAndMarked) {
  const auto inputs = collectLintInputs({(kCorpus / "min-adjust").string()});
  const auto findings = lintUnits(inputs.units);
  const auto suppressed = std::find_if(findings.begin(), findings.end(), [](const LintFinding& f) {
    return f.rule == "oom-score-adjust-min" && fs::path(f.at.file).filename() == "sshd.service";
  });
  ASSERT_NE(suppressed, findings.end());
  ASSERT_TRUE(suppressed->suppressed);
  EXPECT_NE(suppressed->suppressed->find("recover"), std::string::npos);
}

TEST(UnitLintInputs, UnreadableInputsAreNamed) {
  const auto missing = collectLintInputs({"/nonexistent/api.service"});
  ASSERT_EQ(missing.unreadable.size(), 1u);
  EXPECT_EQ(missing.unreadable[0].where, "/nonexistent/api.service");
  const auto not_unit = collectLintInputs({(kCorpus / "syntax/expected.txt").string()});
  ASSERT_EQ(not_unit.unreadable.size(), 1u);
}

TEST(ScenarioLint, ShippedScenariosMapToRuleIdsWithLines) {
  const fs::path scenarios = fs::path(OOM_SOURCE_DIR) / "scenarios";
  for (const auto& e : fs::directory_iterator(scenarios)) {
    if (e.path().extension() != ".json") continue;
    for (const auto& f : lintScenarioAt(e.path())) {
      EXPECT_NE(f.rule, "scenario-invalid") << e.path() << ": " << f.message;
      EXPECT_GE(f.at.line, 1u);
    }
  }
  const auto half = lintScenarioAt(scenarios / "half-alive-continue.json");
  const auto* f = find(half, "oom-policy-continue");
  ASSERT_NE(f, nullptr);
  std::ifstream in(scenarios / "half-alive-continue.json");
  std::string line;
  for (unsigned n = 1; std::getline(in, line); ++n)
    if (n == f->at.line) {
      EXPECT_NE(line.find("\"OOMPolicy\""), std::string::npos) << line;
    }
  ASSERT_NE(find(lintScenarioAt(scenarios / "protect-everything.json"), "all-services-protected"),
            nullptr);
}

TEST(ScenarioLint, LineOfJsonPathFollowsObjectsAndArrays) {
  const std::string text =
      "{\n \"a\": [1, {\"x\": \"]\"},\n  {\"b\": {\"c\":\n 3}}],\n \"d\": 4\n}";
  EXPECT_EQ(lineOfJsonPath(text, "$.a[2].b.c"), 4u);
  EXPECT_EQ(lineOfJsonPath(text, "$.d"), 5u);
  EXPECT_EQ(lineOfJsonPath(text, "$.a[1].x"), 2u);
  EXPECT_EQ(lineOfJsonPath(text, "$.missing"), 6u);  // not found: where the walk stopped
  EXPECT_EQ(lineOfJsonPath("[", "$.a.b"), 1u);
}

TEST(LintReport, SarifUrisArePercentEncoded) {
  EXPECT_EQ(sarifUri("units/api.service.d/10 oom.conf"), "units/api.service.d/10%20oom.conf");
  EXPECT_EQ(sarifUri("/etc/systemd/system/a@b.service"),
            "file:///etc/systemd/system/a%40b.service");
}

TEST(UnitValues, AcceptedAndRefusedAsSystemdParsesThem) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"OOMScoreAdjust", "-1000"},
                                                        {"OOMScoreAdjust", "+1000"},
                                                        {"OOMPolicy", "kill"},
                                                        {"Restart", "on-abnormal"},
                                                        {"KillMode", "mixed"},
                                                        {"Type", "notify-reload"},
                                                        {"MemoryMax", "infinity"},
                                                        {"MemoryMax", "2G512M"},
                                                        {"MemoryMax", "1.5G"},
                                                        {"MemoryMax", "10.M"},
                                                        {"MemoryMax", "1 G"},
                                                        {"MemoryMax", "1048576"},
                                                        {"MemoryMax", "99.99%"},
                                                        {"MemoryHigh", "5\u2030"},
                                                        {"MemoryHigh", "250\u2031"},
                                                        {"MemoryLow", "0"},
                                                        {"MemorySwapMax", "0%"},
                                                        {"MemoryMax", "1B 5"},
                                                        {"OOMScoreAdjust", ""},
                                                        {"ExecStart", "anything"},
                                                        {"OOMScoreAdjust", "0x10"},
                                                        {"OOMScoreAdjust", "-0x3e8"},
                                                        {"MemoryMax", ""}})
    EXPECT_EQ(unitValueProblem(key, value), "") << key << "=" << value;
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"OOMScoreAdjust", "1001"},
                                                        {"OOMScoreAdjust", "\"500\""},
                                                        {"OOMPolicy", "Kill"},
                                                        {"Restart", "yes"},
                                                        {"KillMode", "group"},
                                                        {"Type", "daemon"},
                                                        {"MemoryMax", "1GiB"},
                                                        {"MemoryMax", "1GB"},
                                                        {"MemoryMax", "512M2G"},
                                                        {"MemoryMax", "1.5.0G"},
                                                        {"MemoryMax", ".5G"},
                                                        {"MemoryMax", "-1G"},
                                                        {"MemoryMax", "100.001%"},
                                                        {"MemoryMax", "101%"},
                                                        {"MemoryMax", "0"},
                                                        {"MemoryHigh", "0%"},
                                                        {"MemoryHigh", "1.25\u2030"},
                                                        {"MemoryMax", "1 2"},
                                                        {"MemoryMax", "20000000E"},
                                                        {"Restart", ""},
                                                        {"OOMPolicy", ""},
                                                        {"OOMScoreAdjust", "0x3e9"},
                                                        {"OOMScoreAdjust", " 5"}})
    EXPECT_NE(unitValueProblem(key, value), "") << key << "=" << value;
}

// A scenario that takes real unit files: lint reads those files, so each finding
// names the file and line the value came from, not the scenario's JSON.
TEST(UnitLint, AScenarioOnRealUnitFilesIsLintedAtTheFilesLines) {
  const auto findings = lintScenarioAt(fs::path(OOM_SOURCE_DIR) / "scenarios/rollout/api-rollout.json");
  bool drop_in_over_drop_in = false, any_json = false;
  for (const auto& f : findings) {
    drop_in_over_drop_in = drop_in_over_drop_in || (f.rule == "drop-in-overrides-drop-in" &&
                                                    f.at.file.find("api.service.d/20-oom.conf") != std::string::npos &&
                                                    f.at.line == 3);
    any_json = any_json || f.at.file.find(".json") != std::string::npos;
  }
  EXPECT_TRUE(drop_in_over_drop_in);
  EXPECT_FALSE(any_json);  // every value of this scenario comes from a file, or is not flagged
}

TEST(UnitLint, APreferenceOnASliceNamesTheUnitsItLeavesUnprotected) {
  const fs::path dir = kCorpus / "oomd-slice-preference";
  const auto findings = lintUnits(collectLintInputs({dir.string()}).units);
  const LintFinding* f = nullptr;
  for (const auto& x : findings)
    if (x.rule == "oomd-preference-on-slice" && fs::path(x.at.file).filename() == "critical.slice") f = &x;
  ASSERT_TRUE(f);
  EXPECT_NE(f->message.find("ManagedOOMPreference=avoid on critical.slice"), std::string::npos) << f->message;
  // cache.service relies on the slice; api.service carries its own mark and is not named.
  ASSERT_EQ(f->related.size(), 1u);
  EXPECT_EQ(fs::path(f->related[0].file).filename(), "cache.service");
  EXPECT_EQ(f->related[0].line, 3);
}

// The place of an error travels as fields (Error::json_path, Error::line), so lint puts a
// file that is not JSON at the line the parser stopped at, with nothing cut out of the text.
TEST(ScenarioLint, InvalidJsonIsReportedAtTheLineTheParserStopped) {
  const auto findings = lintScenarioAt(fs::path(OOM_SOURCE_DIR) / "tests/scenario/bad/syntax-error.json");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].rule, "scenario-invalid");
  EXPECT_EQ(findings[0].at.line, 4u);
  EXPECT_EQ(findings[0].message.rfind("$: invalid JSON: ", 0), 0u) << findings[0].message;
}

// limits::kMaxFindingsListed per file in every format; then how many more, and the
// counts are of all of them.
TEST(LintReport, FindingsPastThePerFileLimitAreCountedNotListed) {
  const auto finding = [](const std::string& file, unsigned line, LintSeverity severity, const std::string& message) {
    LintFinding f;
    f.rule = "drop-in-overrides-unit";
    f.severity = severity;
    f.at.file = file;
    f.at.line = line;
    f.message = message;
    return f;
  };
  std::vector<LintFinding> findings;
  for (std::size_t i = 0; i < limits::kMaxFindingsListed + 3; ++i)
    findings.push_back(finding("a.conf", unsigned(i + 1), LintSeverity::warning, "finding " + std::to_string(i)));
  findings.push_back(finding("b.conf", 1, LintSeverity::note, "other"));
  const std::string text = lintText(findings);
  EXPECT_NE(text.find("finding 99 "), std::string::npos);
  EXPECT_EQ(text.find("finding 100 "), std::string::npos);
  EXPECT_NE(text.find("a.conf: note: 3 more findings not listed (at most 100 per file are)"), std::string::npos) << text;
  EXPECT_NE(text.find("b.conf:1: note: other"), std::string::npos);
  const auto json = lintJson(findings, {"a.conf", "b.conf"});
  EXPECT_EQ(json.at("findings").size(), limits::kMaxFindingsListed + 1);
  EXPECT_EQ(json.at("not_listed").at("a.conf"), 3);
  EXPECT_EQ(json.at("counts").at("warning"), limits::kMaxFindingsListed + 3);
  const auto sarif = lintSarif(findings);
  EXPECT_EQ(sarif.at("runs")[0].at("results").size(), limits::kMaxFindingsListed + 1);
  EXPECT_EQ(sarif.at("runs")[0].at("properties").at("notListed").at("a.conf"), 3);

  findings.resize(limits::kMaxFindingsListed);
  EXPECT_EQ(lintText(findings).find("not listed"), std::string::npos) << "exactly at the limit: all listed";
}
