#include "checkpoint.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace oom::stress;
namespace fs = std::filesystem;

namespace {
Checkpoint make(std::uint64_t target, std::uint64_t done, bool complete, unsigned runs) {
  Checkpoint c;
  c.target = c.job_target = target;
  c.done = done;
  c.complete = complete;
  c.runs = runs;
  return c;
}
}  // namespace

TEST(Checkpoint, RoundTrips) {
  Checkpoint c = make(1000, 400, false, 2);
  c.job_target = 3000;
  auto back = parseCheckpoint(serialize(c), "f");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->target, 1000u);
  EXPECT_EQ(back->job_target, 3000u);
  EXPECT_EQ(back->done, 400u);
  EXPECT_FALSE(back->complete);
  EXPECT_EQ(back->runs, 2u);
}

TEST(Checkpoint, CorruptFileIsAClearErrorNamingTheFile) {
  auto bad = parseCheckpoint("{\"format\":\"oomstress-checkpoint/1\",\"target\":\"x\"}", "/var/lib/x.ckpt");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "/var/lib/x.ckpt");
  EXPECT_FALSE(parseCheckpoint("garbage", "f"));
  EXPECT_FALSE(parseCheckpoint(serialize(make(10, 20, false, 1)), "f"));  // done > target
  EXPECT_FALSE(parseCheckpoint("{\"format\":7}", "f"));                    // wrong type: no throw
  EXPECT_FALSE(parseCheckpoint("{\"format\":\"oomstress-checkpoint/1\",\"tar", "f"));  // torn write
  auto leaked = make(10, 20, false, 1);
  leaked.leak = true;
  EXPECT_TRUE(parseCheckpoint(serialize(leaked), "f"));  // leaking work may pass the target
}

TEST(Checkpoint, RecordsTheVersionAndWholeUnitsOfWork) {
  const auto j = nlohmann::json::parse(serialize(make(8 * 1048576, 3 * 1048576 + 5, false, 1)));
  EXPECT_EQ(j["format"], "oomstress-checkpoint/1");
  EXPECT_EQ(j["units_done"], 3);
  EXPECT_EQ(j["unit_bytes"], 1048576);
}

TEST(Checkpoint, SaveIsAtomicAndMissingFileIsAFreshStart) {
  const fs::path file = fs::temp_directory_path() / "oomstress-ckpt-test.json";
  fs::remove(file);
  auto none = loadCheckpoint(file.string());
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(saveCheckpoint(file.string(), make(100, 50, false, 1)));
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));  // renamed into place
  auto loaded = loadCheckpoint(file.string());
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_EQ((*loaded)->done, 50u);
  // A write torn by a kill leaves only the temp file behind: the checkpoint still reads.
  std::ofstream(file.string() + ".tmp") << "{\"format\":\"oomstress-chec";
  auto after_torn_write = loadCheckpoint(file.string());
  ASSERT_TRUE(after_torn_write && after_torn_write->has_value());
  EXPECT_EQ((*after_torn_write)->done, 50u);
  ASSERT_TRUE(saveCheckpoint(file.string(), make(100, 60, false, 1)));  // and the next save replaces it
  EXPECT_EQ((*loadCheckpoint(file.string()))->done, 60u);
  fs::remove(file);
}
