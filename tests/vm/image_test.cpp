#include "vm/image.hpp"

#include <gtest/gtest.h>

#include <fstream>

using namespace oom;
namespace fs = std::filesystem;

TEST(RecipeHash, IsStableAndChangesWithTheRecipeOrRelease) {
  const fs::path dir = fs::temp_directory_path() / "oomharness-recipe-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "units");
  std::ofstream(dir / "customize.sh") << "echo a\n";
  std::ofstream(dir / "units" / "x.service") << "[Service]\n";
  const auto h1 = recipeHash(dir, "bookworm");
  EXPECT_EQ(h1, recipeHash(dir, "bookworm"));
  EXPECT_NE(h1, recipeHash(dir, "trixie"));
  std::ofstream(dir / "units" / "x.service") << "[Service]\nType=exec\n";
  EXPECT_NE(h1, recipeHash(dir, "bookworm"));
  fs::remove_all(dir);
}

TEST(RecipeHash, TheShippedRecipeHashes) {
  EXPECT_EQ(recipeHash(OOMHARNESS_SOURCE_DIR "/vm", "bookworm").size(), 12u);
}

TEST(ImageJson, RoundTripsTheRecordedVersions) {
  const fs::path dir = fs::temp_directory_path() / "oomharness-image-json-test";
  fs::create_directories(dir);
  GuestImage image;
  image.release = "trixie";
  image.systemd_version = "257.9-1";
  image.kernel_version = "6.12.48-cloud-amd64";
  std::ofstream(dir / "image.json") << nlohmann::json(image).dump();
  auto back = readImageJson(dir);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->systemd_version, "257.9-1");
  EXPECT_EQ(back->kernel_version, "6.12.48-cloud-amd64");
  EXPECT_EQ(back->dir, dir);
  EXPECT_FALSE(readImageJson(dir / "missing"));
  fs::remove_all(dir);
}
