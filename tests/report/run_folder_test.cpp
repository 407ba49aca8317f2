// A run folder read back (`oomharness report` and `show`): the same summary,
// junit.xml and report.html as the run wrote, and bad input named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "recorded_run.hpp"
#include "report/html_report.hpp"

using namespace oom;
using namespace oomtest;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("oomharness-run-folder-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::remove_all(path); fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(RunFolder, ReportWritesTheSameSummaryJunitAndHtmlAsTheRun) {
  for (const auto& rec : killRecordings()) {
    SCOPED_TRACE(rec.fixture);
    TempDir dir;
    const RunReport r = recordedRun(rec.scenario, rec.fixture);
    ASSERT_TRUE(writeRunReports(dir.path, r).empty());
    for (const char* f : {"result.json", "junit.xml", "summary.txt", "report.html"}) EXPECT_TRUE(fs::exists(dir.path / f)) << f;
    const std::string summary = slurp(dir.path / "summary.txt"), junit = slurp(dir.path / "junit.xml"),
                      html = slurp(dir.path / "report.html");
    fs::remove(dir.path / "summary.txt");
    fs::remove(dir.path / "report.html");

    auto back = readRunFolder(dir.path);
    ASSERT_TRUE(back) << back.error().str();
    EXPECT_EQ(summarize(*back), summary);
    ASSERT_TRUE(writeDerivedReports(dir.path, *back).empty());
    EXPECT_EQ(slurp(dir.path / "summary.txt"), summary);
    EXPECT_EQ(slurp(dir.path / "junit.xml"), junit);
    EXPECT_EQ(slurp(dir.path / "report.html"), html);
  }
}

// kMaxResultFileBytes rests on this ratio (report.hpp).
TEST(RunFolder, ResultJsonIsAFewTimesItsTimeline) {
  for (const auto& rec : killRecordings()) {
    TempDir dir;
    ASSERT_TRUE(writeRunReports(dir.path, recordedRun(rec.scenario, rec.fixture)).empty());
    const double ratio = static_cast<double>(fs::file_size(dir.path / "result.json")) /
                         static_cast<double>(fs::file_size(sourceDir() / "tests/checks/fixtures" / rec.fixture));
    std::printf("[ratio] %s: result.json / results.jsonl = %.2f, report.html %ju bytes\n", rec.fixture, ratio,
                static_cast<std::uintmax_t>(fs::file_size(dir.path / "report.html")));
    EXPECT_LT(ratio, 3.0) << rec.fixture;
  }
}

TEST(RunFolder, BadInputIsNamedWithWhatWasExpected) {
  TempDir dir;
  auto expectError = [](const fs::path& p, const std::string& where, const std::string& what) {
    auto r = readRunFolder(p);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::input);
    EXPECT_TRUE(has(r.error().str(), where)) << r.error().str();
    EXPECT_TRUE(has(r.error().str(), what)) << r.error().str();
  };
  expectError(dir.path / "absent", (dir.path / "absent").string(), "no such folder");
  std::ofstream(dir.path / "a-file") << "x";
  expectError(dir.path / "a-file", "a-file", "not a folder");
  expectError(dir.path, (dir.path / "result.json").string(), "there is none");
  std::ofstream(dir.path / "result.json") << "{ not json";
  expectError(dir.path, (dir.path / "result.json").string(), "expected JSON");
  std::ofstream(dir.path / "result.json") << R"({"format": "oomharness-suite/1"})";
  expectError(dir.path, (dir.path / "result.json").string(), "oomharness-result/1");
  fs::remove(dir.path / "result.json");
  fs::create_directory(dir.path / "result.json");
  expectError(dir.path, (dir.path / "result.json").string(), "expected a regular file");
}
