#include "output_budget.hpp"

namespace oom {

namespace {

// The largest cut at or below `max` that does not split a UTF-8 character.
std::size_t characterBoundary(std::string_view text, std::size_t max) {
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return cut;
}

}  // namespace

std::string shownText(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  const std::size_t cut = characterBoundary(text, max);
  return std::string(text.substr(0, cut)) + "… (" + std::to_string(text.size() - cut) + " bytes more in result.json)";
}

std::string cutToBudget(std::string text, std::size_t budget, std::string_view note) {
  if (text.size() <= budget) return text;
  const std::size_t keep = budget > note.size() ? budget - note.size() : 0;
  const std::size_t newline = text.rfind('\n', keep);
  text.resize(newline == std::string::npos ? 0 : newline + 1);
  text += note;
  return text;
}

}  // namespace oom
