#include "arena.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

using namespace oom::stress;

TEST(PageFill, EveryPageIsUniqueAndNotZero) {
  std::vector<std::uint64_t> a(kPageSize / 8), b(kPageSize / 8);
  fillPage(a.data(), 1);
  fillPage(b.data(), 2);
  EXPECT_NE(std::memcmp(a.data(), b.data(), kPageSize), 0);
  std::set<std::uint64_t> words(a.begin(), a.end());
  EXPECT_GT(words.size(), a.size() - 4) << "a page should not be compressible";
  EXPECT_EQ(words.count(0), 0u);
}

TEST(PageFill, PagesWithAdjacentSeedsShareNoWords) {
  std::vector<std::uint64_t> a(kPageSize / 8), b(kPageSize / 8);
  fillPage(a.data(), 41);
  fillPage(b.data(), 42);
  const std::set<std::uint64_t> in_a(a.begin(), a.end());
  std::size_t shared = 0;
  for (auto w : b) shared += in_a.count(w);
  EXPECT_EQ(shared, 0u) << "not even shifted copies: each page's content is its own";
  EXPECT_EQ(a[0] & ~(1ull << 62), 41u) << "the first word names the page";
}

TEST(PageFill, NoByteValueDominatesAPage) {
  // A crude stand-in for "a compressor gains little": bytes spread over all values.
  std::vector<std::uint64_t> page(kPageSize / 8);
  fillPage(page.data(), 7);
  std::vector<int> count(256);
  const auto* bytes = reinterpret_cast<const unsigned char*>(page.data());
  for (std::size_t i = 0; i < kPageSize; ++i) ++count[bytes[i]];
  EXPECT_LT(*std::max_element(count.begin(), count.end()), 64) << "uniform would be 16 each";
}

// --compress-ratio 4: the first quarter is the page's own sequence, the rest zero, so
// zram stores it in about a quarter of the space; still unique and never all zero.
TEST(PageFill, ACompressRatioLeavesThatShareOfThePageUnique) {
  std::vector<std::uint64_t> a(kPageSize / 8, 0xFF), b(kPageSize / 8, 0xFF);
  fillPage(a.data(), 5, 4);
  fillPage(b.data(), 6, 4);
  const std::size_t quarter = a.size() / 4;
  const std::set<std::uint64_t> head(a.begin(), a.begin() + static_cast<long>(quarter));
  EXPECT_EQ(head.size(), quarter);
  EXPECT_EQ(head.count(0), 0u);
  EXPECT_TRUE(std::all_of(a.begin() + static_cast<long>(quarter), a.end(), [](std::uint64_t w) { return w == 0; }));
  EXPECT_NE(std::memcmp(a.data(), b.data(), kPageSize), 0);
  std::vector<std::uint64_t> one(kPageSize / 8), plain(kPageSize / 8);
  fillPage(one.data(), 9, 1);
  fillPage(plain.data(), 9);
  EXPECT_EQ(one, plain);  // ratio 1 is the default fill
  fillPage(one.data(), 9, kMaxCompressRatio);
  EXPECT_NE(one[0], 0u);
}

TEST(Arena, GrowsByChunksAndShrinksWithoutGoingBelowTheAskedSize) {
  Arena arena(false, false);
  std::size_t held = 0;
  while (held < 5 * kStepSize + 3 * kPageSize) held += arena.grow(5 * kStepSize + 3 * kPageSize - held);
  EXPECT_EQ(arena.bytes(), 5 * kStepSize + 3 * kPageSize);
  arena.shrinkTo(3 * kStepSize);
  EXPECT_EQ(arena.bytes(), 3 * kStepSize);  // newest chunks go first
  arena.shrinkTo(2 * kStepSize + kPageSize);
  EXPECT_EQ(arena.bytes(), 3 * kStepSize);  // dropping one more would go below the asked size
  arena.shrinkTo(0);
  EXPECT_EQ(arena.bytes(), 0u);
}
