#include "vm/image.hpp"
#include "vm/saved_guest.hpp"
#include "vm/temp_dir.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
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

TEST(RecipeHash, NoPackagesKeepsTheBaseImagesKeyAndEachSetHasItsOwn) {
  const fs::path dir = fs::temp_directory_path() / ("oomharness-recipe-pkg-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "units");
  std::ofstream(dir / "customize.sh") << "echo a\n";
  std::ofstream(dir / "units" / "x.service") << "[Service]\n";
  // The key images were cached under before guest.packages existed (FNV-1a 64 of
  // the release, then each file's name and text): caches stay valid.
  EXPECT_EQ(recipeHash(dir, "bookworm"), "766fdf764b92");
  EXPECT_EQ(recipeHash(dir, "bookworm", {}), "766fdf764b92");
  const auto two = recipeHash(dir, "bookworm", {"nginx", "python3"});
  EXPECT_NE(two, recipeHash(dir, "bookworm"));
  EXPECT_EQ(two, recipeHash(dir, "bookworm", {"python3", "nginx"}));  // order does not matter
  EXPECT_NE(two, recipeHash(dir, "bookworm", {"nginx"}));
  EXPECT_NE(two, recipeHash(dir, "bookworm", {"nginxpython3"}));
  ImageRequest a, b;
  a.recipe_dir = b.recipe_dir = dir;
  a.cache_root = b.cache_root = "/var/cache/x";
  b.packages = {"redis-server"};
  EXPECT_NE(imageDir(a), imageDir(b));
  fs::remove_all(dir);
}

TEST(UnavailablePackage, NamesThePackageAptCouldNotFind) {
  EXPECT_EQ(unavailablePackage("I: running apt-get install\nE: Unable to locate package nginxx\nE: x"), "nginxx");
  EXPECT_EQ(unavailablePackage("E: Package 'python' has no installation candidate\n"), "python");
  EXPECT_EQ(unavailablePackage("E: Failed to fetch http://deb.debian.org/...\n"), "");
}

TEST(GuestImage, AnImageJsonWithoutPackagesStillReads) {
  const auto j = nlohmann::json::parse(R"({"release": "bookworm", "kernel_version": "6.1", "build_sec": 80})");
  const auto image = j.get<GuestImage>();
  EXPECT_TRUE(image.packages.empty());
  GuestImage with = image;
  with.packages = {{"python3", "3.11.2-1+b1"}};
  EXPECT_EQ(nlohmann::json(with).get<GuestImage>().packages, with.packages);
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

namespace {

// An images/ folder with fake image versions (no mmdebstrap), removed afterwards.
struct FakeCache {
  TempDir scratch = TempDir::create("image-cache-test").value();
  fs::path images = scratch.path();
  void version(const std::string& name) const {
    fs::create_directories(images / name);
    std::ofstream(images / name / "image.json") << "{}";
    std::ofstream(images / name / "rootfs.img") << name;
  }
  std::string target(const std::string& link) const { return fs::read_symlink(images / link).string(); }
  bool has(const std::string& name) const { return fs::exists(fs::symlink_status(images / name)); }
};

}  // namespace

TEST(ImageCache, ANewVersionReplacesTheNameAtomicallyAndTheOldOneGoesOnceUnused) {
  FakeCache c;
  c.version("bookworm-abc.v1-1");
  ASSERT_TRUE(installImageVersion(c.images, "bookworm-abc", "bookworm-abc.v1-1"));
  EXPECT_EQ(c.target("bookworm-abc"), "bookworm-abc.v1-1");
  // A guest boots from v1 and holds its lease while a rebuild installs v2.
  auto lease = tryLock(c.images / "bookworm-abc.v1-1", LOCK_SH);
  ASSERT_TRUE(lease);
  c.version("bookworm-abc.v2-2");
  ASSERT_TRUE(installImageVersion(c.images, "bookworm-abc", "bookworm-abc.v2-2"));
  EXPECT_EQ(c.target("bookworm-abc"), "bookworm-abc.v2-2");
  removeUnusedImages(c.images, "bookworm", "bookworm-abc");
  EXPECT_TRUE(c.has("bookworm-abc.v1-1")) << "removed under a running guest";
  EXPECT_EQ(std::ifstream(c.images / "bookworm-abc.v1-1" / "rootfs.img").get(), 'b');
  // The guest is gone: the next look at the cache removes v1, never the current one.
  lease.reset();
  removeUnusedImages(c.images, "bookworm", "bookworm-abc");
  EXPECT_FALSE(c.has("bookworm-abc.v1-1"));
  EXPECT_TRUE(c.has("bookworm-abc.v2-2"));
  EXPECT_FALSE(c.has("bookworm-abc.link-" + std::to_string(::getpid())));
}

TEST(ImageCache, AFolderLeftByAnOlderOomharnessMovesAsideAndStaysWhileInUse) {
  FakeCache c;
  c.version("bookworm-abc");  // the folder itself, as older versions built it
  auto lease = tryLock(c.images / "bookworm-abc", LOCK_SH);
  ASSERT_TRUE(lease);
  c.version("bookworm-abc.v2-2");
  ASSERT_TRUE(installImageVersion(c.images, "bookworm-abc", "bookworm-abc.v2-2"));
  EXPECT_EQ(c.target("bookworm-abc"), "bookworm-abc.v2-2");
  removeUnusedImages(c.images, "bookworm", "bookworm-abc");
  int old = 0;
  for (const auto& e : fs::directory_iterator(c.images))
    old += e.path().filename().string().rfind("bookworm-abc.old-", 0) == 0;
  EXPECT_EQ(old, 1);  // moved aside, held by its guest
  lease.reset();
  removeUnusedImages(c.images, "bookworm", "bookworm-abc");
  for (const auto& e : fs::directory_iterator(c.images))
    EXPECT_EQ(e.path().filename().string().rfind("bookworm-abc.old-", 0), std::string::npos) << e.path();
}

TEST(ImageCache, OtherRecipesStayForADayAndOtherReleasesAndBuildsInProgressAreLeftAlone) {
  FakeCache c;
  c.version("bookworm-old.v1-1");
  ASSERT_TRUE(installImageVersion(c.images, "bookworm-old", "bookworm-old.v1-1"));
  c.version("bookworm-stale.v1-1");
  ASSERT_TRUE(installImageVersion(c.images, "bookworm-stale", "bookworm-stale.v1-1"));
  fs::last_write_time(c.images / "bookworm-stale.v1-1" / "image.json",
                      fs::file_time_type::clock::now() - std::chrono::hours(25));
  c.version("trixie-abc.v1-1");
  c.version("bookworm-abc.tmp-99");
  c.version("bookworm-abc.v1-1");
  ASSERT_TRUE(installImageVersion(c.images, "bookworm-abc", "bookworm-abc.v1-1"));
  removeUnusedImages(c.images, "bookworm", "bookworm-abc");
  EXPECT_TRUE(c.has("bookworm-old.v1-1"));  // used within the day: another checkout's
  EXPECT_TRUE(c.has("bookworm-old"));
  EXPECT_FALSE(c.has("bookworm-stale.v1-1"));  // a day unused
  EXPECT_FALSE(c.has("bookworm-stale")) << "a link to nothing stays";
  EXPECT_TRUE(c.has("trixie-abc.v1-1"));
  EXPECT_TRUE(c.has("bookworm-abc.tmp-99"));  // the builder's to sweep, under the cache lock
  EXPECT_TRUE(c.has("bookworm-abc.v1-1"));
}

namespace {
// An ext4 superblock with `blocks` blocks of 1024 << log_block bytes.
std::string superblock(std::uint64_t blocks, unsigned log_block, bool is64 = false) {
  std::string sb(1024, '\0');
  auto put = [&sb](std::size_t at, std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) sb[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put(0x04, blocks & 0xffffffff, 4);
  put(0x18, log_block, 4);
  put(0x38, 0xEF53, 2);
  if (is64) {
    put(0x60, 0x80, 4);
    put(0x150, blocks >> 32, 4);
  }
  return sb;
}
}  // namespace

TEST(RootfsDamage, AWholeImageIsFineATruncatedOrForeignOneIsNamed) {
  const std::uint64_t bytes = 1536 * 1024 * 1024ull;  // mkfs.ext4 ... rootfs.img 1536M, 4 KiB blocks
  EXPECT_EQ(rootfsDamage(superblock(bytes / 4096, 2), bytes), "");
  EXPECT_EQ(rootfsDamage(superblock(bytes / 4096, 2), bytes + 4096), "");  // room after it is fine
  EXPECT_EQ(rootfsDamage(superblock(bytes / 4096, 2), 64 * 1024 * 1024),
            "truncated: 67108864 bytes of the 1610612736 its file system needs");
  EXPECT_EQ(rootfsDamage(superblock((1ull << 32) + 1, 2, true), bytes).substr(0, 10), "truncated:");
  EXPECT_EQ(rootfsDamage(std::string(1024, '\0'), bytes), "no ext4 file system in it (1610612736 bytes)");
  EXPECT_EQ(rootfsDamage("", 100), "no ext4 file system in it (100 bytes)");  // shorter than a superblock
  EXPECT_NE(rootfsDamage(superblock(10, 40), bytes).find("garbled"), std::string::npos);
}

namespace {

// An image version's saved/ folder with fake saved guests, each last used `age` ago.
struct FakeSaves {
  TempDir scratch = TempDir::create("saved-guest-test").value();
  fs::path root = scratch.path();
  void save(const std::string& key, std::chrono::minutes age) const {
    fs::create_directories(root / key);
    std::ofstream(root / key / "state") << key;
    std::ofstream(root / key / "last-used") << "then\n";
    fs::last_write_time(root / key / "last-used", fs::file_time_type::clock::now() - age);
    std::ofstream(root / (key + ".lock"));
  }
  bool has(const std::string& name) const { return fs::exists(root / name); }
};

}  // namespace

// The cap: the saves restored most recently stay, the rest go, oldest first; a
// save restored a moment ago stays even past the cap (a restore may be reading
// it), and so does one whose lock is held.
TEST(SavedGuestCache, KeepsTheMostRecentlyRestoredAndNeverOneInUse) {
  using std::chrono::minutes;
  FakeSaves c;
  c.save("aaaa", minutes(60 * 24));
  c.save("bbbb", minutes(60));
  c.save("cccc", minutes(30));
  c.save("dddd", minutes(20));
  c.save("eeee", minutes(1));
  EXPECT_EQ(pruneSavedGuests(c.root, 3, minutes(10)), (std::vector<std::string>{"aaaa", "bbbb"}));
  EXPECT_TRUE(c.has("cccc") && c.has("dddd") && c.has("eeee"));
  // Past the cap, but restored within the last 10 minutes: kept.
  c.save("ffff", minutes(2));
  c.save("gggg", minutes(3));
  EXPECT_EQ(pruneSavedGuests(c.root, 3, minutes(10)), (std::vector<std::string>{"cccc", "dddd"}));
  EXPECT_TRUE(c.has("eeee") && c.has("ffff") && c.has("gggg"));
  // A save whose lock someone holds is not touched, however old.
  c.save("hhhh", minutes(60));
  auto held = tryLock(c.root / "hhhh.lock", LOCK_EX);
  ASSERT_TRUE(held);
  EXPECT_TRUE(pruneSavedGuests(c.root, 3, minutes(10)).empty());
  EXPECT_TRUE(c.has("hhhh"));
  held.reset();
  EXPECT_EQ(pruneSavedGuests(c.root, 3, minutes(10)), (std::vector<std::string>{"hhhh"}));
}

// What a harness killed while saving left (<key>.tmp-<pid>) goes, unless that
// key is being saved now: then it is that save's own folder.
TEST(SavedGuestCache, AHalfMadeSaveGoesUnlessItsKeyIsBeingSaved) {
  FakeSaves c;
  fs::create_directories(c.root / "aaaa.tmp-123");
  fs::create_directories(c.root / "bbbb.tmp-456");
  auto saving = tryLock(c.root / "bbbb.lock", LOCK_EX);
  ASSERT_TRUE(saving);
  EXPECT_EQ(pruneSavedGuests(c.root, kSavedGuestsKept, kSavedGuestInUse), (std::vector<std::string>{"aaaa.tmp-123"}));
  EXPECT_TRUE(c.has("bbbb.tmp-456"));
  EXPECT_FALSE(c.has("aaaa.tmp-123"));
}
