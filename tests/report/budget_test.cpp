// report/limits.hpp at each limit: result.json read back within its size and depth
// (exactly at them accepted, one past refused, naming the file and what was
// expected), and the derived files' budgets (a cut is said in the file).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "recorded_run.hpp"
#include "report/html_report.hpp"
#include "report/limits.hpp"
#include "report/report.hpp"

using namespace oom;
using namespace oomtest;
namespace fs = std::filesystem;

namespace {

struct TempFile {
  fs::path path = fs::temp_directory_path() / ("oom-budget-" + std::to_string(::getpid()) + ".json");
  ~TempFile() { fs::remove(path); }
  void write(const std::string& text) const { std::ofstream(path, std::ios::binary) << text; }
};

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST(ResultBudget, NestingAtTheDepthLimitIsReadOnePastIsRefused) {
  TempFile f;
  f.write(nested(report_limits::kMaxResultDepth));
  EXPECT_TRUE(readResultJson(f.path, "result file")) << "parsed: the format check comes after";
  f.write(nested(report_limits::kMaxResultDepth + 1));
  const auto r = readResultJson(f.path, "result file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::input);
  EXPECT_TRUE(has(r.error().str(), f.path.string())) << r.error().str();
  EXPECT_TRUE(has(r.error().str(), "nested deeper than 32 levels")) << r.error().str();
  EXPECT_TRUE(has(r.error().str(), "$[0][0]")) << r.error().str();
}

TEST(ResultBudget, AFileAtTheSizeLimitIsReadOnePastIsRefused) {
  TempFile f;
  std::string text = "{}";
  text.resize(report_limits::kMaxResultFileBytes, ' ');
  f.write(text);
  EXPECT_TRUE(readResultJson(f.path, "result file"));
  text += ' ';
  f.write(text);
  const auto r = readResultJson(f.path, "result file");
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().str(), f.path.string())) << r.error().str();
}

TEST(ResultBudget, DuplicateKeysAreRefused) {
  TempFile f;
  f.write(R"({"format":"oomharness-result/1","verdict":"pass","verdict":"fail"})");
  const auto r = readResultJson(f.path, "result file");
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().str(), "$.verdict")) << r.error().str();
  EXPECT_TRUE(has(r.error().str(), "duplicate key")) << r.error().str();
}

TEST(ReportBudget, AUnitFileIsShownUpToItsLimitThenSaysWhereTheRestIs) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  ServiceFiles files;
  files.files.push_back(InstalledFile{"units/at.service.d/big.conf", "/etc/systemd/system/at.conf",
                                      std::string(report_limits::kMaxUnitFileShownBytes, 'a')});
  files.files.push_back(InstalledFile{"units/over.service.d/big.conf", "/etc/systemd/system/over.conf",
                                      std::string(report_limits::kMaxUnitFileShownBytes + 1, 'b')});
  r.scenario.services.at(0).files = files;
  const std::string html = htmlReport(r);
  EXPECT_TRUE(has(html, std::string(report_limits::kMaxUnitFileShownBytes, 'a') + "</pre>"));
  EXPECT_TRUE(has(html, std::string(report_limits::kMaxUnitFileShownBytes, 'b') + "… (1 bytes more in result.json)"));
}

TEST(ReportBudget, TwoHundredLargeDropInsStayWithinTheHtmlBudget) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  ServiceFiles files;
  for (int i = 0; i < 200; ++i)
    files.files.push_back(InstalledFile{"units/api.service.d/" + std::to_string(i) + ".conf", "/etc/x.conf",
                                        std::string(MiB, 'c')});
  r.scenario.services.at(0).files = files;
  const std::string html = htmlReport(r);
  EXPECT_LE(html.size(), report_limits::kMaxReportHtmlBytes);
  EXPECT_TRUE(has(html, "more in result.json"));
}

TEST(ReportBudget, JunitListsEvidenceUpToItsLimitThenCountsTheRest) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  CheckResult& c = r.verdict.checks.at(0);
  c.evidence.assign(report_limits::kMaxEvidenceShown, Evidence{1.0, "kernel", "", "", 0, "at"});
  EXPECT_FALSE(has(junitXml(r), "more in result.json"));
  c.evidence.push_back(Evidence{1.0, "kernel", "", "", 0, "over"});
  c.evidence.push_back(Evidence{1.0, "kernel", "", "", 0, "over"});
  const std::string xml = junitXml(r);
  EXPECT_TRUE(has(xml, "... and 2 more in result.json"));
  EXPECT_FALSE(has(xml, ": over"));
}

TEST(ReportBudget, TheSummaryEndsWithACutNoteAtItsBudget) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  const std::string small = summarize(r);
  EXPECT_FALSE(has(small, "summary cut here"));
  r.verdict.reason = std::string(2 * report_limits::kMaxSummaryBytes, 'r');
  const std::string big = summarize(r);
  EXPECT_LE(big.size(), report_limits::kMaxSummaryBytes);
  EXPECT_TRUE(has(big, "summary cut here")) << big.substr(0, 200);
}

// result.json is written a record at a time (the whole tree took four times the
// file); the text is what the tree's dump was, byte for byte.
TEST(ResultBudget, TheStreamedResultJsonIsTheTreesDump) {
  for (const auto& rec : killRecordings()) {
    const RunReport r = recordedRun(rec.scenario, rec.fixture);
    EXPECT_EQ(resultJsonText(r),
              toResultJson(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n")
        << rec.fixture;
  }
  RunReport empty;
  EXPECT_EQ(resultJsonText(empty), toResultJson(empty).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}
