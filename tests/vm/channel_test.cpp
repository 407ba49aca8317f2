#include "vm/channel.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

using namespace oom;

TEST(LineFollower, HoldsAPartialLineUntilItsNewlineArrives) {
  const auto file = std::filesystem::temp_directory_path() / "oomharness-channel-test.txt";
  std::ofstream(file) << "one\ntw";
  LineFollower follower(file);
  std::vector<std::string> lines;
  auto collect = [&](const std::string& l) { lines.push_back(l); };
  follower.poll(collect);
  ASSERT_EQ(lines, std::vector<std::string>{"one"});
  std::ofstream(file, std::ios::app) << "o\r\nthree";
  follower.poll(collect);
  ASSERT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  follower.flush(collect);  // the guest died mid-line: the tail is still evidence
  EXPECT_EQ(lines.back(), "three");
  follower.poll(collect);
  EXPECT_EQ(lines.size(), 3u);
  std::filesystem::remove(file);
}

TEST(LineFollower, AMissingFileYieldsNothing) {
  LineFollower follower("/nonexistent/oomharness/file");
  int n = 0;
  follower.poll([&](const std::string&) { ++n; });
  EXPECT_EQ(n, 0);
}

TEST(LineFollower, ManyLinesInOneReadAndALineSplitAcrossManyReads) {
  const auto file = std::filesystem::temp_directory_path() / "oomharness-channel-test-2.txt";
  std::ofstream(file) << "";
  LineFollower follower(file);
  std::vector<std::string> lines;
  auto collect = [&](const std::string& l) { lines.push_back(l); };
  for (const char* piece : {"{\"a\":", "1", "}\n{\"b\":2}\n\n{\"c\"", ":3}\n"}) {
    std::ofstream(file, std::ios::app) << piece;
    follower.poll(collect);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"}));
  follower.flush(collect);  // nothing pending: no extra line
  EXPECT_EQ(lines.size(), 4u);
  std::filesystem::remove(file);
}
