#include "arena.hpp"

#include <gtest/gtest.h>

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

TEST(Arena, GrowsByChunksAndShrinksWithoutGoingBelowTheAskedSize) {
  Arena arena(false, false);
  std::size_t held = 0;
  while (held < 5 * kChunkSize + 3 * kPageSize) held += arena.grow(5 * kChunkSize + 3 * kPageSize - held);
  EXPECT_EQ(arena.bytes(), 5 * kChunkSize + 3 * kPageSize);
  arena.shrinkTo(3 * kChunkSize);
  EXPECT_EQ(arena.bytes(), 3 * kChunkSize);  // newest chunks go first
  arena.shrinkTo(2 * kChunkSize + kPageSize);
  EXPECT_EQ(arena.bytes(), 3 * kChunkSize);  // dropping one more would go below the asked size
  arena.shrinkTo(0);
  EXPECT_EQ(arena.bytes(), 0u);
}
