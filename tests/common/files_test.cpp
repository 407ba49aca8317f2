#include "oom/files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace oom;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("oom-files-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};
}  // namespace

TEST(WriteFileAtomically, ReplacesTheWholeFileAndLeavesNoTemporary) {
  TempDir dir;
  const fs::path file = dir.path / "result.json";
  std::ofstream(file) << "an older and much longer content that must not survive";
  ASSERT_TRUE(writeFileAtomically(file, "{}\n"));
  EXPECT_EQ(slurp(file), "{}\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

TEST(WriteFileAtomically, AFolderThatCannotHoldTheFileIsASetupErrorNamingIt) {
  TempDir dir;
  std::ofstream(dir.path / "not-a-folder") << "x";
  const fs::path file = dir.path / "not-a-folder" / "summary.txt";
  auto written = writeFileAtomically(file, "text");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().kind, ErrorKind::setup);
  EXPECT_EQ(written.error().where, file.string());
  EXPECT_NE(written.error().message.find("Not a directory"), std::string::npos) << written.error().message;
}

TEST(CreateUniqueDirectory, EachCallGetsAFolderOfItsOwnNumberedAfterTheFirst) {
  TempDir dir;
  const fs::path root = dir.path / "results";  // created on the way
  auto first = createUniqueDirectory(root, "20261204T230000Z-suite", "the suite's folder");
  auto second = createUniqueDirectory(root, "20261204T230000Z-suite", "the suite's folder");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, root / "20261204T230000Z-suite");
  EXPECT_EQ(*second, root / "20261204T230000Z-suite-2");
  EXPECT_TRUE(fs::is_directory(*second));
}

TEST(CreateUniqueDirectory, ARootThatIsAFileIsASetupErrorNamingIt) {
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  auto made = createUniqueDirectory(dir.path / "file", "run", "the run's folder");
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().kind, ErrorKind::setup);
  EXPECT_EQ(made.error().where, (dir.path / "file").string());
}
