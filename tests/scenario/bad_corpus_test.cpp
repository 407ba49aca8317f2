// Every malformed scenario under tests/scenario/bad/ must fail with the error
// listed for it in expected-errors.tsv, and every file there must be listed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "scenario/parse.hpp"

using namespace oom;
namespace fs = std::filesystem;

TEST(BadScenarioCorpus, EachFileFailsWithItsExpectedError) {
  const fs::path dir = fs::path(OOM_SOURCE_DIR) / "tests/scenario/bad";
  std::ifstream tsv(dir / "expected-errors.tsv");
  ASSERT_TRUE(tsv) << "missing expected-errors.tsv";
  std::multimap<std::string, std::string> expected;
  for (std::string line; std::getline(tsv, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    expected.emplace(line.substr(0, tab), line.substr(tab + 1));
  }
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") files.insert(e.path().filename().string());
  for (const auto& f : files) EXPECT_TRUE(expected.count(f)) << f << " has no expected error";
  for (const auto& [file, substring] : expected) {
    ASSERT_TRUE(files.count(file)) << file << " listed but missing";
    const auto check = loadScenarioFile(dir / file);
    EXPECT_FALSE(check.ok()) << file << " was accepted";
    std::string all;
    for (const auto& e : check.errors) all += e.str() + "\n";
    EXPECT_NE(all.find(substring), std::string::npos)
        << file << ": expected an error containing\n  " << substring << "\ngot\n" << all;
    // Every error names the file and where in it.
    for (const auto& e : check.errors) EXPECT_EQ(e.where.rfind((dir / file).string(), 0), 0u) << e.str();
  }
}
