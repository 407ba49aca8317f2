#include "vm/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace oom;
namespace fs = std::filesystem;

namespace {

// TMPDIR pointed at a scratch folder for the test's duration.
struct ScratchTmp {
  fs::path dir = fs::temp_directory_path() / ("oomharness-tmpdir-test-" + std::to_string(::getpid()));
  std::string saved;
  ScratchTmp() {
    if (const char* t = std::getenv("TMPDIR")) saved = t;
    fs::remove_all(dir);
    fs::create_directories(dir);
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~ScratchTmp() {
    if (saved.empty()) ::unsetenv("TMPDIR");
    else ::setenv("TMPDIR", saved.c_str(), 1);
    fs::remove_all(dir);
  }
  fs::path parent() const { return dir / ("oomharness-" + std::to_string(::geteuid())); }
};

}  // namespace

TEST(TempDir, LivesInAPrivateParentAndGoesWithItsOwner) {
  ScratchTmp tmp;
  fs::path kept;
  {
    auto t = TempDir::create("run");
    ASSERT_TRUE(t) << t.error().str();
    kept = t->path();
    EXPECT_EQ(kept.parent_path(), tmp.parent());
    EXPECT_EQ(kept.filename().string().rfind("run-", 0), 0u);
    struct stat st {};
    ASSERT_EQ(::stat(tmp.parent().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    std::ofstream(kept / "file") << "x";
  }
  EXPECT_FALSE(fs::exists(kept));
}

TEST(TempDir, TheSweeperRemovesOnlyFoldersNobodyHolds) {
  ScratchTmp tmp;
  auto live = TempDir::create("run");
  ASSERT_TRUE(live);
  // What a SIGKILLed run leaves: a folder whose lock died with its process.
  const fs::path dead = tmp.parent() / "run-dead00";
  fs::create_directories(dead / "ports");
  std::ofstream(dead / "swap.img") << "x";
  sweepStaleTempDirs();
  EXPECT_TRUE(fs::exists(live->path())) << "a live run's folder was swept";
  EXPECT_FALSE(fs::exists(dead));
}

TEST(TempDir, AParentThatIsNotPrivateIsRefusedOrMadePrivate) {
  ScratchTmp tmp;
  fs::create_directories(tmp.parent());
  ::chmod(tmp.parent().c_str(), 0777);  // ours, but open: made private again
  ASSERT_TRUE(privateTempParent());
  struct stat st {};
  ::stat(tmp.parent().c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  fs::remove_all(tmp.parent());
  fs::create_directory_symlink("/", tmp.parent());  // someone else's trap: refused
  auto p = privateTempParent();
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::setup);
  EXPECT_FALSE(TempDir::create("run"));
  fs::remove(tmp.parent());
}

TEST(FileLock, ExclusiveAgainstSharedAndGoneWithItsHolder) {
  ScratchTmp tmp;
  const fs::path file = tmp.dir / "x.lock";
  auto shared1 = tryLock(file, LOCK_SH);
  auto shared2 = tryLock(file, LOCK_SH);
  ASSERT_TRUE(shared1 && shared2);
  EXPECT_FALSE(tryLock(file, LOCK_EX));
  shared1.reset();
  shared2.reset();
  EXPECT_TRUE(tryLock(file, LOCK_EX));
}

TEST(FileLock, AWaiterHearsWhatTheHolderIsDoingAndGivesUpAfterItsTimeout) {
  ScratchTmp tmp;
  const fs::path file = tmp.dir / "x.lock";
  auto holder = tryLock(file, LOCK_EX);
  ASSERT_TRUE(holder);
  holder->note("building the bookworm image");
  testing::internal::CaptureStderr();
  auto waited = acquireLock(file, LOCK_EX, Seconds(1.5), "using the image cache");
  const std::string said = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().kind, ErrorKind::setup);
  EXPECT_NE(said.find("waiting for another oomharness (pid " + std::to_string(::getpid()) +
                      ") building the bookworm image"),
            std::string::npos)
      << said;
  holder.reset();  // the note goes with the lock
  auto got = acquireLock(file, LOCK_EX, Seconds(1), "using the image cache");
  ASSERT_TRUE(got);
  std::ifstream in(file);
  EXPECT_EQ(in.peek(), std::ifstream::traits_type::eof());
}
