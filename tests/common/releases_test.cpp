#include "oom/releases.hpp"

#include <gtest/gtest.h>

TEST(Releases, TheDefaultIsSupported) {
  EXPECT_TRUE(oom::isSupportedRelease(oom::kDefaultRelease));
  EXPECT_TRUE(oom::isSupportedRelease("trixie"));
  EXPECT_FALSE(oom::isSupportedRelease("buster"));
  EXPECT_FALSE(oom::isSupportedRelease(""));
}
