#include "checkpoint.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace oom::stress;
namespace fs = std::filesystem;

TEST(Checkpoint, RoundTrips) {
  Checkpoint c{1000, 400, false, 2};
  auto back = parseCheckpoint(serialize(c), "f");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->target, 1000u);
  EXPECT_EQ(back->done, 400u);
  EXPECT_FALSE(back->complete);
  EXPECT_EQ(back->runs, 2u);
}

TEST(Checkpoint, CorruptFileIsAClearErrorNamingTheFile) {
  auto bad = parseCheckpoint("{\"format\":\"oomstress-checkpoint/1\",\"target\":\"x\"}", "/var/lib/x.ckpt");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "/var/lib/x.ckpt");
  EXPECT_FALSE(parseCheckpoint("garbage", "f"));
  EXPECT_FALSE(parseCheckpoint(serialize({10, 20, false, 1}), "f"));  // done > target
}

TEST(Checkpoint, SaveIsAtomicAndMissingFileIsAFreshStart) {
  const fs::path file = fs::temp_directory_path() / "oomstress-ckpt-test.json";
  fs::remove(file);
  auto none = loadCheckpoint(file.string());
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(saveCheckpoint(file.string(), {100, 50, false, 1}));
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));  // renamed into place
  auto loaded = loadCheckpoint(file.string());
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_EQ((*loaded)->done, 50u);
  fs::remove(file);
}
