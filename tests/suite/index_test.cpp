// index.json: read back what was written; anything else is an input error naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "suite/index.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {
fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("oom-suite-index-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }
}  // namespace

TEST(SuiteIndex, ReadsBackWhatWasWritten) {
  const auto dir = scratch("roundtrip");
  SuiteIndex index;
  index.releases = {"bookworm", "trixie"};
  SuiteCell cell;
  cell.scenario = "three-services";
  cell.release = "trixie";
  cell.repeat = 2;
  cell.status = CellStatus::done;
  cell.verdict = "fail";
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
  const auto dir = scratch("bad");
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
