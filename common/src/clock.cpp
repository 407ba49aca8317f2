#include "oom/clock.hpp"

#include <time.h>

namespace oom {

double monotonicSeconds() {
  // clock_gettime rather than std::chrono::steady_clock: the standard does not
  // promise that steady_clock is CLOCK_MONOTONIC, and the kernel's is the one we need.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace oom
