#include "guest/setup_check.hpp"

namespace oom {

namespace {
std::string mismatchText(const UnitProperty& asked, const DbusProperty& wanted, const std::string& reported) {
  return asked.name + "=" + asked.value + " asked (" + wanted.name + "=" + formatDbusValue(wanted.value) +
         "), systemd reports " + wanted.name + "=" + reported;
}
}  // namespace

std::optional<std::string> settingMismatch(const UnitProperty& asked, const DbusProperty& wanted,
                                           const std::optional<DbusValue>& actual) {
  if (actual && *actual == wanted.value) return std::nullopt;  // the D-Bus type counts too
  return mismatchText(asked, wanted, actual ? formatDbusValue(*actual) : "(not reported)");
}

std::optional<std::string> recordedSettingMismatch(const UnitProperty& asked, const DbusProperty& wanted,
                                                   const std::optional<std::string>& read_back) {
  const bool reported = read_back && !read_back->empty();
  if (reported && *read_back == formatDbusValue(wanted.value)) return std::nullopt;
  return mismatchText(asked, wanted, reported ? *read_back : "(not reported)");
}

std::vector<std::string> processMismatches(const std::vector<ProcessSetting>& processes, int expected_adj,
                                           unsigned expected_count, const std::string& control_group,
                                           const std::vector<int>& killed_adjustments) {
  std::vector<std::string> out;
  if (processes.size() + killed_adjustments.size() < expected_count)
    out.push_back(std::to_string(expected_count) + " process(es) expected in " + control_group + ", found " +
                  std::to_string(processes.size()) +
                  (killed_adjustments.empty() ? ""
                                              : " and " + std::to_string(killed_adjustments.size()) +
                                                    " already OOM-killed"));
  for (const int adj : killed_adjustments)
    if (adj != expected_adj) {
      out.push_back("a process OOM-killed in " + control_group + " before the check had oom_score_adj " +
                    std::to_string(adj) + " (its kill line), expected " + std::to_string(expected_adj));
      break;
    }
  for (const auto& p : processes)
    if (p.oom_score_adj != expected_adj)
      out.push_back("pid " + std::to_string(p.pid) + " (" + p.comm + ") has oom_score_adj " +
                    std::to_string(p.oom_score_adj) + ", expected " + std::to_string(expected_adj));
  return out;
}

int expectedOomScoreAdjust(const PlannedUnit& unit) { return oomScoreAdjustOf(unit.properties); }

}  // namespace oom
