#pragma once
// The bounds a suite folder's own file is read with (run folders' result.json:
// report/limits.hpp). README (Reliability) and SUITE-FORMAT.md state the same numbers.
#include <cstddef>
#include <cstdint>

#include "oom/units.hpp"

namespace oom::suite_limits {

// index.json names each cell once (about 400 bytes a cell): 16 MiB is room for
// about 40,000 cells.
constexpr std::uint64_t kMaxIndexFileBytes = 16 * MiB;

// Objects and arrays in index.json nest at most this deep, checked while parsing
// (the format needs 5: $.groups[i].checks[k].outcomes[n]).
constexpr std::size_t kMaxIndexDepth = 16;

}  // namespace oom::suite_limits
