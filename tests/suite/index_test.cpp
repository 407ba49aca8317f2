// index.json: read back what was written; anything else is an input error naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "suite/index.hpp"
#include "suite/limits.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {
fs::path indexScratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("oom-suite-index-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }
}  // namespace

TEST(SuiteIndex, ReadsBackWhatWasWritten) {
  const auto dir = indexScratch("roundtrip");
  SuiteIndex index;
  index.releases = {"bookworm", "trixie"};
  SuiteCell cell;
  cell.scenario = "three-services";
  cell.release = "trixie";
  cell.repeat = 2;
  cell.status = CellStatus::done;
  cell.verdict = "fail";
  cell.folder = "three-services-trixie-r2";
  index.cells.push_back(cell);
  write(dir / kSuiteIndexFile, nlohmann::json(index).dump());
  const auto read = readSuiteIndex(dir);
  ASSERT_TRUE(read) << read.error().str();
  ASSERT_EQ(read->cells.size(), 1u);
  EXPECT_EQ(read->cells[0].status, CellStatus::done);
  EXPECT_EQ(read->cells[0].repeat, 2);
  EXPECT_EQ(read->releases, index.releases);
}

TEST(SuiteIndex, ARunFolderOrAnotherFormatIsAnInputErrorNamingTheFile) {
  const auto dir = indexScratch("bad");
  auto missing = readSuiteIndex(dir);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().str().find("index.json"), std::string::npos);
  write(dir / kSuiteIndexFile, R"({"format": "oomharness-result/1"})");
  auto other = readSuiteIndex(dir);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().str().find("oomharness-suite/1"), std::string::npos) << other.error().str();
  write(dir / kSuiteIndexFile, "[1,2");
  EXPECT_FALSE(readSuiteIndex(dir));
}

// Read fail-closed: a value this build does not know is an error naming its JSON path,
// never read as a default (an unknown status as "pending", a verdict as "pass"), and a
// cell's folder stays inside the suite folder. What was found is quoted escaped.
TEST(SuiteIndex, UnknownValuesAndForeignFoldersAreErrors) {
  const auto dir = indexScratch("closed");
  const auto withCell = [&](const nlohmann::json& edit) {
    nlohmann::json cell = {{"scenario", "s"}, {"release", "bookworm"}, {"folder", "s-bookworm"},
                           {"status", "done"}, {"verdict", "pass"}};
    cell.update(edit);
    write(dir / kSuiteIndexFile, nlohmann::json{{"format", kSuiteFormat}, {"cells", {cell}}}.dump());
    const auto read = readSuiteIndex(dir);
    return read ? std::string() : read.error().str();
  };
  EXPECT_EQ(withCell(nlohmann::json::object()), "");
  EXPECT_NE(withCell({{"verdict", "PASSED"}}).find("$.cells[0].verdict: expected one of \"pass\", \"fail\", "
                                                   "\"inconclusive\"; got \"PASSED\""),
            std::string::npos)
      << withCell({{"verdict", "PASSED"}});
  EXPECT_NE(withCell({{"verdict", ""}}).find("$.cells[0].verdict"), std::string::npos);  // done: it has one
  EXPECT_EQ(withCell({{"status", "running"}, {"verdict", ""}}), "");
  EXPECT_NE(withCell({{"status", "finished"}}).find("$.cells[0].status"), std::string::npos);
  for (const char* folder : {"/tmp/elsewhere", "../x", "a/../../x", "", "x\x1b[31m"})
    EXPECT_NE(withCell({{"folder", folder}}).find("$.cells[0].folder: expected a folder inside the suite folder"),
              std::string::npos)
        << folder;
  EXPECT_NE(withCell({{"verdict", "\x1b[32mpass"}}).find("\\u001b[32mpass"), std::string::npos)
      << withCell({{"verdict", "\x1b[32mpass"}});
}

// suite/limits.hpp: nesting exactly at the depth limit is parsed (and then refused
// as not an index), one level more is refused while parsing, naming the JSON path.
TEST(SuiteIndex, NestingPastTheDepthLimitIsRefusedWhileParsing) {
  const auto dir = indexScratch("depth");
  const auto nest = [](std::size_t depth) {
    return R"({"format":"oomharness-suite/1","cells":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  write(dir / kSuiteIndexFile, nest(suite_limits::kMaxIndexDepth));
  auto at = readSuiteIndex(dir);
  ASSERT_FALSE(at);
  EXPECT_EQ(at.error().message.find("nested deeper"), std::string::npos) << at.error().str();
  write(dir / kSuiteIndexFile, nest(suite_limits::kMaxIndexDepth + 1));
  auto over = readSuiteIndex(dir);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().kind, ErrorKind::input);
  EXPECT_NE(over.error().str().find((dir / kSuiteIndexFile).string() + ": $.cells"), std::string::npos)
      << over.error().str();
  EXPECT_NE(over.error().str().find("nested deeper than 16 levels"), std::string::npos) << over.error().str();
  fs::remove_all(dir);
}
