// Confined reads (oom/confined.hpp): every rule twice, once through openat2 and
// once through the component walk used on kernels without it.
#include "oom/confined.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace oom;

namespace {

class Confined : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    detail::forceConfinedWalk(GetParam());
    top_ = fs::temp_directory_path() / ("oomharness-confined-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(GetParam()));
    fs::remove_all(top_);
    fs::create_directories(top_ / "root" / "sub");
    std::ofstream(top_ / "root" / "a.service") << "[Service]\nOOMPolicy=stop\n";
    std::ofstream(top_ / "cred") << "secret\n";
  }
  void TearDown() override {
    detail::forceConfinedWalk(false);
    fs::remove_all(top_);
  }
  ConfinedDir root() { return std::move(*ConfinedDir::open(top_ / "root")); }
  std::string readError(const fs::path& relative) {
    auto r = root().read(relative, 1024, "unit file");
    return r ? "(read: " + *r + ")" : r.error().str();
  }
  fs::path top_;
};

TEST_P(Confined, ReadsAFileAndAnAliasBelowTheFolder) {
  fs::create_symlink("a.service", top_ / "root" / "b.service");
  fs::create_symlink("../a.service", top_ / "root" / "sub" / "c.service");
  for (const char* name : {"a.service", "b.service", "sub/c.service", "./sub/../a.service"}) {
    auto text = root().read(name, 1024, "unit file");
    ASSERT_TRUE(text) << name << ": " << text.error().str();
    EXPECT_EQ(*text, "[Service]\nOOMPolicy=stop\n");
  }
  EXPECT_EQ(*root().kind("b.service"), ConfinedDir::Kind::regular);
  EXPECT_EQ(*root().kind("sub"), ConfinedDir::Kind::directory);
  EXPECT_EQ(*root().kind("none.service"), ConfinedDir::Kind::missing);
}

TEST_P(Confined, RefusesAbsolutePathsAndDotDotThatLeave) {
  EXPECT_NE(readError("../cred").find("\"../cred\" leaves the folder through \"..\"; expected a path below " +
                                      (top_ / "root").string()),
            std::string::npos)
      << readError("../cred");
  EXPECT_NE(readError("sub/../../cred").find("leaves the folder"), std::string::npos);
  EXPECT_NE(readError((top_ / "cred").string()).find("is an absolute path"), std::string::npos);
  EXPECT_FALSE(root().kind("../cred"));
}

TEST_P(Confined, RefusesSymlinksThatLeadOut) {
  fs::create_symlink("../cred", top_ / "root" / "rel.conf");
  fs::create_symlink(top_ / "cred", top_ / "root" / "abs.conf");
  fs::create_symlink(top_, top_ / "root" / "up.d");
  for (const char* name : {"rel.conf", "abs.conf", "up.d/cred"}) {
    const std::string e = readError(name);
    EXPECT_NE(e.find("leads out of " + (top_ / "root").string() + " through a symlink"), std::string::npos) << e;
    EXPECT_EQ(e.find("secret"), std::string::npos) << e;
  }
  EXPECT_FALSE(root().kind("rel.conf"));
  EXPECT_FALSE(root().list("up.d"));
}

TEST_P(Confined, RefusesASymlinkLoop) {
  fs::create_symlink("loop2.d", top_ / "root" / "loop1.d");
  fs::create_symlink("loop1.d", top_ / "root" / "loop2.d");
  EXPECT_NE(readError("loop1.d/x.conf").find("a symlink loop"), std::string::npos) << readError("loop1.d/x.conf");
  const auto listed = root().list("loop1.d");
  ASSERT_FALSE(listed);
  EXPECT_NE(listed.error().message.find("a symlink loop"), std::string::npos);
}

TEST_P(Confined, AFifoIsRefusedWithoutWaiting) {
  ASSERT_EQ(::mkfifo((top_ / "root" / "fifo.conf").c_str(), 0600), 0);
  EXPECT_NE(readError("fifo.conf").find("expected a regular file; got a FIFO"), std::string::npos);
  EXPECT_EQ(*root().kind("fifo.conf"), ConfinedDir::Kind::other);
}

TEST_P(Confined, ALinkToDevNullIsMaskedAndNeverOpened) {
  fs::create_symlink("/dev/null", top_ / "root" / "sub" / "10-off.conf");
  EXPECT_EQ(*root().kind("sub/10-off.conf"), ConfinedDir::Kind::masked);
  EXPECT_FALSE(root().read("sub/10-off.conf", 1024, "unit file"));
}

TEST_P(Confined, ListsAFolderAndAnInTreeLinkToOne) {
  std::ofstream(top_ / "root" / "sub" / "20-b.conf") << "";
  std::ofstream(top_ / "root" / "sub" / "10-a.conf") << "";
  fs::create_symlink("sub", top_ / "root" / "alias.d");
  for (const char* folder : {"sub", "alias.d"}) {
    const auto names = root().list(folder);
    ASSERT_TRUE(names) << names.error().str();
    EXPECT_EQ(*names, (std::vector<std::string>{"10-a.conf", "20-b.conf"}));
  }
  EXPECT_TRUE(root().list("."));
}

TEST_P(Confined, TheSizeCapIsCheckedOnTheDescriptor) {
  auto r = root().read("a.service", 10, "unit file");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("of at most 10B (10 bytes); got 25 bytes"), std::string::npos) << r.error().str();
  EXPECT_TRUE(root().read("a.service", 25, "unit file"));
}

INSTANTIATE_TEST_SUITE_P(Openat2AndWalk, Confined, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "walk" : "openat2"; });

TEST(LeavesFolder, JudgesTheTextAlone) {
  EXPECT_FALSE(leavesFolder("a/b/../c"));
  EXPECT_FALSE(leavesFolder("./a"));
  EXPECT_EQ(leavesFolder("a/../../b").value_or(""), "leaves the folder through \"..\"");
  EXPECT_EQ(leavesFolder("/etc").value_or(""), "is an absolute path");
}

}  // namespace
