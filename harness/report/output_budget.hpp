#pragma once
// The derived files' own budget (report/limits.hpp): what they copy from their
// inputs (guest text, unit files, evidence) is cut, and the cut is said in the
// file, never silent. Private to the report stage.
#include <cstddef>
#include <string>
#include <string_view>

#include "report/limits.hpp"

namespace oom {

// `text` of at most `max` bytes, cut at a UTF-8 character boundary and followed
// by "… (N bytes more in result.json)" when longer.
std::string shownText(std::string_view text, std::size_t max = report_limits::kMaxTextShownBytes);

// A whole derived file of at most `budget` bytes: past it, cut after its last
// newline within the budget, then `note` (which says where the rest is).
std::string cutToBudget(std::string text, std::size_t budget, std::string_view note);

}  // namespace oom
