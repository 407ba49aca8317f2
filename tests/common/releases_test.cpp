#include "oom/releases.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

TEST(Releases, TheDefaultIsSupported) {
  EXPECT_TRUE(oom::isSupportedRelease(oom::kDefaultRelease));
  EXPECT_TRUE(oom::isSupportedRelease("trixie"));
  EXPECT_FALSE(oom::isSupportedRelease("buster"));
  EXPECT_FALSE(oom::isSupportedRelease(""));
}

// Help texts and messages list the releases from supportedReleases(), never by hand.
TEST(Releases, TextListsEverySupportedReleaseInOrder) {
  const auto& known = oom::supportedReleases();
  ASSERT_GE(known.size(), 2u);
  std::string comma, with_or;
  for (std::size_t i = 0; i < known.size(); ++i) {
    comma += (i ? ", " : "") + known[i];
    with_or += (i == 0 ? "" : i + 1 == known.size() ? " or " : ", ") + known[i];
  }
  EXPECT_EQ(oom::supportedReleasesText(), comma);
  EXPECT_EQ(oom::supportedReleasesText(" or "), with_or);
  EXPECT_EQ(oom::supportedReleasesText(" or "), "bookworm or trixie");  // today's two, spelled out once here
}

// The help texts and messages of the CLI, the run and the VM layer are built from
// supportedReleases() and kDefaultRelease: no string literal there names a release.
// (Facts of one release, such as scenario/lint.cpp's systemd 252 warning, may.)
TEST(Releases, NoStringLiteralInTheCliRunOrVmNamesARelease) {
  const std::filesystem::path source = OOM_SOURCE_DIR;
  std::size_t files = 0;
  for (const char* folder : {"harness/cli", "harness/run", "harness/vm"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(source / folder)) {
      const auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".hpp") continue;
      ++files;
      std::ifstream in(e.path());
      int number = 0;
      for (std::string line; std::getline(in, line);) {
        ++number;
        const std::string code = line.substr(0, line.find("//"));
        for (const auto& release : oom::supportedReleases())
          for (auto at = code.find(release); at != std::string::npos; at = code.find(release, at + 1))
            EXPECT_EQ(std::count(code.begin(), code.begin() + static_cast<long>(at), '"') % 2, 0)
                << e.path() << ":" << number << " names " << release << " in a string: " << line;
      }
    }
  }
  EXPECT_GT(files, 10u);
}

TEST(Releases, TheReleaseAGuestRanIsItsOsReleaseCodename) {
  EXPECT_EQ(oom::releaseOfOsRelease("Debian GNU/Linux 12 (bookworm)"), "bookworm");
  EXPECT_EQ(oom::releaseOfOsRelease("Debian GNU/Linux 13 (trixie)"), "trixie");
  EXPECT_EQ(oom::releaseOfOsRelease("Debian GNU/Linux 11 (bullseye)"), "");  // not one a guest can run
  EXPECT_EQ(oom::releaseOfOsRelease("Debian GNU/Linux trixie/sid"), "");
  EXPECT_EQ(oom::releaseOfOsRelease(")("), "");
  EXPECT_EQ(oom::releaseOfOsRelease(""), "");
}
