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

TEST(ImageJson, ToleratesTheNewlineOlderBuildsKeptAndRejectsBrokenFiles) {
  const fs::path dir = fs::temp_directory_path() / "oomharness-image-json-broken";
  fs::create_directories(dir);
  std::ofstream(dir / "image.json")
      << R"({"release":"bookworm","systemd_version":"252.39-1~deb12u2\n",)"
      << R"("kernel_version":"6.1.0-50-cloud-amd64","recipe_hash":"0dd1641c8096"})";
  auto old = readImageJson(dir);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->systemd_version, "252.39-1~deb12u2");
  std::ofstream(dir / "image.json") << R"({"release":"bookworm","kernel_vers)";  // torn write
  EXPECT_FALSE(readImageJson(dir));
  std::ofstream(dir / "image.json") << R"({"release":7})";  // wrong type
  EXPECT_FALSE(readImageJson(dir));
  std::ofstream(dir / "image.json") << R"({"release":"bookworm"})";  // no kernel recorded
  EXPECT_FALSE(readImageJson(dir));
  fs::remove_all(dir);
}

TEST(RecipeHash, DependsOnContentNotOnWhereTheRecipeLives) {
  const fs::path a = fs::temp_directory_path() / "oomharness-recipe-a";
  const fs::path b = fs::temp_directory_path() / "oomharness-recipe-b";
  for (const auto& d : {a, b}) {
    fs::remove_all(d);
    fs::create_directories(d / "units");
    std::ofstream(d / "customize.sh") << "echo a\n";
    std::ofstream(d / "units" / "x.service") << "[Service]\n";
  }
  EXPECT_EQ(recipeHash(a, "bookworm"), recipeHash(b, "bookworm"));
  fs::rename(b / "units" / "x.service", b / "units" / "y.service");  // a renamed file counts
  EXPECT_NE(recipeHash(a, "bookworm"), recipeHash(b, "bookworm"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(ImageCache, LivesUnderTheCacheRootKeyedByReleaseAndRecipe) {
  ImageRequest r;
  r.release = "trixie";
  r.recipe_dir = OOMHARNESS_SOURCE_DIR "/vm";
  r.cache_root = "/var/cache/x";
  EXPECT_EQ(imageDir(r), fs::path("/var/cache/x/images/trixie-" + recipeHash(r.recipe_dir, "trixie")));
}
