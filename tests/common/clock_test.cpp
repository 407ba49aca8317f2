#include "oom/clock.hpp"

#include <gtest/gtest.h>
#include <time.h>

TEST(MonotonicSeconds, IsTheKernelsMonotonicClock) {
  timespec ts{};
  const double before = oom::monotonicSeconds();
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const double after = oom::monotonicSeconds();
  const double kernel = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  EXPECT_LE(before, kernel);
  EXPECT_LE(kernel, after);
  EXPECT_LT(after - before, 1.0);
}
