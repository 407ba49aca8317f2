#include "timeline/task_dump.hpp"

#include <vector>

#include "oom/text.hpp"

namespace oom {
namespace {

bool isInteger(std::string_view w) {
  return !w.empty() && w.find_first_not_of("-0123456789") == std::string_view::npos &&
         parseNumber<std::int64_t>(w).has_value();
}

}  // namespace

std::optional<TaskDumpRow> parseTaskDumpRow(std::string_view line) {
  if (!startsWith(line, "[")) return std::nullopt;
  const auto close = line.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  const auto pid = parseNumber<int>(trim(line.substr(1, close - 1)));
  if (!pid) return std::nullopt;
  const std::string_view rest = line.substr(close + 1);
  const auto w = words(rest);
  std::size_t numeric = 0;
  while (numeric < w.size() && isInteger(w[numeric])) ++numeric;
  // 7 numbers (6.1) or 10 (6.12), then the name; a name of digits adds one.
  std::size_t fields = 0;
  if (numeric == 7 || numeric == 8) fields = 7;
  if (numeric == 10 || numeric == 11) fields = 10;
  if (fields == 0 || w.size() <= fields) return std::nullopt;
  auto u = [&](std::size_t i) { return parseNumber<std::uint64_t>(w[i]).value_or(0); };
  TaskDumpRow row;
  row.pid = *pid;
  row.uid = parseNumber<int>(w[0]).value_or(0);
  row.total_vm_pages = u(2);
  row.rss_pages = u(3);
  row.pgtables_bytes = u(fields - 3);
  row.swapents = u(fields - 2);
  row.oom_score_adj = parseNumber<int>(w[fields - 1]).value_or(0);
  row.name = std::string(rest.substr(static_cast<std::size_t>(w[fields].data() - rest.data())));
  return row;
}

}  // namespace oom
