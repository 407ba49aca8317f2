// A diff for people (one line per change, then one summary line) and for
// machines (oomharness-diff/1, keys in SUITE-DIFF.md).
#include "oom/text.hpp"
#include "suite/diff.hpp"

namespace oom {
namespace {

std::string subject(const DiffChange& c) {
  if (c.what == "check" || c.what == "check_added" || c.what == "check_removed")
    return c.what + " " + c.check + (c.unit.empty() || c.check.rfind(c.unit + ".", 0) == 0 ? "" : " (" + c.unit + ")");
  if (c.what == "new_killed_unit" || c.what == "no_longer_killed") return c.what + " " + c.unit;
  return c.what;
}

// "old r1: kill t=53.213 pid 207 ...; r2: ..." (a run folder has no repeats to name).
std::string cites(const char* side, const std::vector<DiffCite>& list, bool suite) {
  std::string out = side;
  if (list.empty()) return out + ": -";
  for (std::size_t i = 0; i < list.size(); ++i) {
    out += i ? "; " : (suite ? " " : ": ");
    if (suite) out += "r" + std::to_string(list[i].repeat) + ": ";
    out += list[i].text;
  }
  return out;
}

nlohmann::ordered_json citesJson(const std::vector<DiffCite>& list) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& c : list)
    out.push_back({{"repeat", c.repeat}, {"folder", c.folder}, {"text", c.text}, {"line", c.line}});
  return out;
}

nlohmann::ordered_json secOrNull(const std::optional<double>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::string diffText(const SuiteDiff& d) {
  std::string out;
  for (const auto& n : d.notes) out += "note: " + printable(n) + "\n";
  for (const auto& c : d.changes) {
    std::string line = c.regression ? "REGRESSION " : "change     ";
    line += c.scenario + "/" + c.release + " " + subject(c) + ": " + c.old_value + " -> " + c.new_value;
    line += " (" + c.why + ") [" + cites("old", c.old_cites, d.suite) + " | " + cites("new", c.new_cites, d.suite) + "]";
    out += printable(line) + "\n";
  }
  const std::size_t regressions = d.regressions();
  std::string summary = "diff: ";
  if (d.changes.empty()) summary += "no change";
  else if (regressions == 0) summary += plural(d.changes.size(), "change") + ", no regression";
  else summary += plural(regressions, "regression") + " in " + plural(d.changes.size(), "change");
  summary += "; " + plural(d.cells_compared, "cell") + " compared (tolerance " + d.tolerance.text + "): " +
             (regressions ? "exit 1" : "exit 0");
  return out + printable(summary) + "\n";
}

nlohmann::ordered_json diffJson(const SuiteDiff& d) {
  nlohmann::ordered_json j;
  j["format"] = kDiffFormat;
  j["old"] = d.old_dir;
  j["new"] = d.new_dir;
  j["kind"] = d.suite ? "suite" : "run";
  j["tolerance"] = {{"text", d.tolerance.text},
                    {"seconds", d.tolerance.relative ? nlohmann::ordered_json(nullptr)
                                                     : nlohmann::ordered_json(d.tolerance.seconds)},
                    {"percent", d.tolerance.relative ? nlohmann::ordered_json(d.tolerance.percent)
                                                     : nlohmann::ordered_json(nullptr)}};
  j["cells_compared"] = d.cells_compared;
  j["changes_count"] = d.changes.size();
  j["regressions"] = d.regressions();
  j["exit_status"] = diffExitStatus(d);
  j["notes"] = d.notes;
  auto changes = nlohmann::ordered_json::array();
  for (const auto& c : d.changes) {
    changes.push_back({{"what", c.what},
                       {"regression", c.regression},
                       {"scenario", c.scenario},
                       {"release", c.release},
                       {"check", c.check},
                       {"unit", c.unit},
                       {"old", c.old_value},
                       {"new", c.new_value},
                       {"old_sec", secOrNull(c.old_sec)},
                       {"new_sec", secOrNull(c.new_sec)},
                       {"allowed_sec", secOrNull(c.allowed_sec)},
                       {"why", c.why},
                       {"old_cites", citesJson(c.old_cites)},
                       {"new_cites", citesJson(c.new_cites)}});
  }
  j["changes"] = std::move(changes);
  return j;
}

}  // namespace oom
