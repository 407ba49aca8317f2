#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "run/exit_status.hpp"
#include "run/run_scenario.hpp"

using namespace oom;
namespace fs = std::filesystem;

namespace {
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("oomharness-run-test-" + std::to_string(::getpid()));
  Scratch() { fs::remove_all(dir); }
  ~Scratch() { fs::remove_all(dir); }
};
}  // namespace

TEST(ResultsDirectory, NamedByTimeScenarioAndReleaseAndNeverShared) {
  Scratch s;
  const std::string utc = "20261129T070000Z";
  auto a = createResultsDirectory(s.dir / "results", "quick-kill", "bookworm", utc);
  ASSERT_TRUE(a) << a.error().str();
  EXPECT_EQ(a->filename(), "20261129T070000Z-quick-kill-bookworm");
  // The same scenario on another release in the same second: its own name.
  auto t = createResultsDirectory(s.dir / "results", "quick-kill", "trixie", utc);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->filename(), "20261129T070000Z-quick-kill-trixie");
  // The same again: the next free suffix, never the existing folder.
  auto b = createResultsDirectory(s.dir / "results", "quick-kill", "bookworm", utc);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->filename(), "20261129T070000Z-quick-kill-bookworm-2");
}

TEST(ResultsDirectory, ParallelRunsInTheSameSecondGetOneFolderEach) {
  Scratch s;
  std::vector<fs::path> got(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      auto d = createResultsDirectory(s.dir, "x", "bookworm", "20261129T070000Z");
      if (d) got[i] = *d;
    });
  for (auto& t : threads) t.join();
  const std::set<fs::path> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), got.size());
  EXPECT_FALSE(distinct.count(fs::path()));
}

TEST(ResultsDirectory, AnUnwritableRootIsASetupError) {
  Scratch s;
  fs::create_directories(s.dir);
  const fs::path file = s.dir / "file";
  { std::FILE* f = std::fopen(file.c_str(), "w"); std::fclose(f); }
  auto d = createResultsDirectory(file, "x", "bookworm", "20261129T070000Z");
  ASSERT_FALSE(d);
  EXPECT_EQ(exitStatusFor(d.error()), kExitInconclusive);
}

TEST(ExitStatus, EachKindOfErrorHasItsOwnStatus) {
  EXPECT_EQ(exitStatusFor(Error{"x", "y", ErrorKind::input}), 2);
  EXPECT_EQ(exitStatusFor(Error{"x", "y", ErrorKind::setup}), 3);
  EXPECT_EQ(exitStatusFor(Error{"x", "y", ErrorKind::interrupted}), 130);
}
