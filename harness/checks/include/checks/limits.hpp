#pragma once
// The bounds of what a check copies from the timeline into its evidence (and so
// into result.json and every report): a timeline within timeline/limits.hpp may
// hold 130,000 loss records, each a blind spot. README (Reliability) states it.
#include <cstddef>

namespace oom::check_limits {

// The observation note cites at most this many blind spots, then one row says how
// many more (the timeline's gaps and losses list every one). Citing 130,508 made
// 18 MB of result.json from a 32 MiB timeline of lines that were no record.
constexpr std::size_t kMaxBlindSpotsCited = 1000;

}  // namespace oom::check_limits
