#pragma once
// Live progress while the guest runs: one human line per meaningful record
// (phases, kernel kills, unit state changes), timed from the start of pressure.
#include <cstdio>
#include <string>

#include "timeline/timeline.hpp"

namespace oom {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::FILE* out) : out_(out) {}
  // Called after each streamed line was folded into `timeline`.
  void onRecord(const Timeline& timeline);

 private:
  std::FILE* out_;
  std::size_t phases_ = 0, kills_ = 0, states_ = 0, setups_ = 0;
  double t0_ = -1;
  std::string stamp(double t);
};

}  // namespace oom
