// Binds a timeline to the plan it was recorded with (checks/binding.hpp).
#include "checks/binding.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

#include "guest/setup_check.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "plan/fingerprint.hpp"
#include "scenario/scenario.hpp"
#include "systemd/directives.hpp"

namespace oom {
namespace {

constexpr const char* kNotSet = "(not set)";
// What the kernel keeps of the guest's memory for itself, at most (the header's tolerance).
constexpr std::uint64_t kKernelReserveFloor = 128 * MiB;
// A swap area loses its header page (4 KiB) to SwapTotal; 1 MiB leaves room for any page size.
constexpr std::uint64_t kSwapHeaderSlack = 1 * MiB;
// vm.swappiness when nobody sets it (mm/vmscan.c).
constexpr int kKernelSwappiness = 60;

std::uint64_t kernelReserve(std::uint64_t memory) { return std::max(kKernelReserveFloor, memory / 8); }

std::optional<std::string> factOf(const PlanFacts& facts, const std::string& field) {
  const auto it = facts.find(field);
  return it == facts.end() ? std::nullopt : std::optional(it->second);
}

// The words of a line shellQuote() wrote: bare words and '...' (an embedded ' as '\'').
std::vector<std::string> shellWords(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false, started = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\'') quoted = false;
      else word += c;
    } else if (c == '\'') {
      quoted = started = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      started = true;
    } else if (c == ' ') {
      if (started) words.push_back(word);
      word.clear();
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (started) words.push_back(word);
  return words;
}

// A setup record's systemd-run line (copied from the plan the guest ran) as the facts it
// states: "services.<svc>.unit.<Directive>" for each -p, "services.<svc>.load" for oomstress's flags.
PlanFacts factsOfSystemdRun(const std::string& service, const std::string& line) {
  PlanFacts f;
  const auto words = shellWords(line);
  const std::string at = "services." + service + ".";
  std::size_t i = 1;
  for (; i < words.size() && words[i] != "--"; ++i)
    if (words[i] == "-p" && i + 1 < words.size()) {
      const std::string& assignment = words[++i];
      const auto eq = assignment.find('=');
      if (eq != std::string::npos) f[at + "unit." + assignment.substr(0, eq)] = assignment.substr(eq + 1);
    }
  std::string load;
  for (i += 2; i < words.size(); ++i) load += (load.empty() ? "" : " ") + words[i];  // past "--" and argv[0]
  f[at + "load"] = load;
  return f;
}

// "80.00%" and "80%", "20s" and "20s": equal values however oomctl prints them.
bool sameOomdValue(const std::string& a, const std::string& b) {
  const auto percent = [](const std::string& s) -> std::optional<double> {
    if (s.empty() || s.back() != '%') return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size() - 1 ? std::optional(v) : std::nullopt;
  };
  if (const auto x = percent(a), y = percent(b); x && y) return std::fabs(*x - *y) < 0.01;
  if (const auto x = parseDuration(a), y = parseDuration(b); x && y) return std::fabs(x->count() - y->count()) < 1e-3;
  return a == b;
}

class Binder {
 public:
  Binder(const GuestPlan& plan, const Timeline& timeline)
      : plan_(plan), timeline_(timeline), facts_(planFacts(plan)) {}

  PlanBinding byPlanRecord() {
    const PlanRecord& rec = timeline_.plan;
    PlanBinding b{.by = "its plan record " + rec.fingerprint, .differences = {}};
    if (const std::string computed = planFingerprint(rec.facts); computed != rec.fingerprint)
      add({"plan", "fingerprint " + rec.fingerprint + " but facts that hash to " + computed + " (an edited record)",
           planFingerprint(facts_), "", rec.t, kRecordPlan});
    else if (rec.fingerprint == planFingerprint(facts_))
      return b;
    std::set<std::string> fields;
    for (const auto& [k, v] : rec.facts) fields.insert(k);
    for (const auto& [k, v] : facts_) fields.insert(k);
    for (const auto& field : fields) {
      const auto recorded = factOf(rec.facts, field), planned = factOf(facts_, field);
      if (recorded != planned)
        add({field, recorded.value_or(kNotSet), planned.value_or(kNotSet), "", rec.t, kRecordPlan});
    }
    b.differences = std::move(differences_);
    return b;
  }

  PlanBinding byEvidence() {
    guest();
    oomd();
    units();
    return PlanBinding{.by = "its guest, unit_setup and oomd records (it has no plan record)",
                       .differences = std::move(differences_)};
  }

 private:
  // One difference per field: the first found (the plainest) stands.
  void add(PlanDifference d) {
    for (const auto& seen : differences_)
      if (seen.field == d.field) return;
    differences_.push_back(std::move(d));
  }

  void guest() {
    const GuestInfo& g = timeline_.guest;
    if (g.mem_total_bytes == 0) return;  // no guest record, or MemTotal unread
    const std::uint64_t memory = plan_.guest.memory_bytes, reserve = kernelReserve(memory);
    if (g.mem_total_bytes > memory || g.mem_total_bytes + reserve < memory)
      add({"guest.memory", "MemTotal " + formatSize(g.mem_total_bytes),
           formatSizeExact(memory) + " (MemTotal " + formatSize(memory > reserve ? memory - reserve : 0) + " to " +
               formatSize(memory) + ": the kernel keeps up to " + formatSize(reserve) + ")",
           "", -1, kRecordGuest});
    const std::uint64_t swap = plan_.guest.swap_bytes;
    if (g.swap_total_bytes > swap || g.swap_total_bytes + kSwapHeaderSlack < swap)
      add({"guest.swap", "SwapTotal " + formatSize(g.swap_total_bytes), formatSizeExact(swap), "", -1, kRecordGuest});
    else if (swap > 0 && !g.swap_areas.empty()) {
      const std::string kind = g.swap_areas.find("/dev/zram") != std::string::npos ? "zram" : "disk";
      if (kind != plan_.guest.swap_kind)
        add({"guest.swap_kind", kind + " (/proc/swaps: " + g.swap_areas + ")", plan_.guest.swap_kind, "", -1,
             kRecordGuest});
    }
    if (g.swappiness >= 0) {
      const int planned = plan_.swappiness >= 0 ? plan_.swappiness : kKernelSwappiness;
      if (g.swappiness != planned)
        add({"guest.swappiness", std::to_string(g.swappiness),
             plan_.swappiness >= 0 ? std::to_string(planned) : "(the kernel's, 60)", "", -1, kRecordGuest});
    }
  }

  bool reached(const char* phase) const {
    return std::any_of(timeline_.phases.begin(), timeline_.phases.end(),
                       [&](const Phase& p) { return p.name == phase; });
  }

  void oomd() {
    const bool recorded = !timeline_.oomd.empty();
    // The guest writes the first oomd record before the pressure phase: a run that
    // never got there says nothing about oomd.
    if (!recorded && !reached(kPhasePressure)) return;
    if (recorded != plan_.oomd) {
      add({"systemd_oomd", recorded ? "on (systemd-oomd's oomctl records)" : "off (no oomd record before the pressure phase)",
           plan_.oomd ? "on" : "off", "", recorded ? timeline_.oomd.front().t : -1, kRecordOomd});
      return;
    }
    if (!recorded) return;
    // oomctl's words for oomd.conf's settings, and systemd-oomd's defaults (oomd.conf(5);
    // oomctl shows these on bookworm's 252 and trixie's 257 alike).
    struct Setting { const char* oomctl; const char* key; const char* fallback; };
    static constexpr std::array<Setting, 3> kSettings{{
        {"Swap Used Limit", "SwapUsedLimit", "90%"},
        {"Default Memory Pressure Limit", "DefaultMemoryPressureLimit", "60%"},
        {"Default Memory Pressure Duration", "DefaultMemoryPressureDurationSec", "20s"},
    }};
    const OomdStatus& first = timeline_.oomd.front();
    for (const auto& line : splitLines(first.text))
      for (const auto& s : kSettings) {
        const std::string prefix = std::string(s.oomctl) + ":";
        if (line.substr(0, prefix.size()) != prefix) continue;
        const std::string shown(trim(line.substr(prefix.size())));
        const auto planned = factOf(facts_, std::string("systemd_oomd.") + s.key);
        if (!sameOomdValue(shown, planned.value_or(s.fallback)))
          add({std::string("systemd_oomd.") + s.key, shown + " (oomctl: " + std::string(trim(line)) + ")",
               planned.value_or(std::string(s.fallback) + " (systemd-oomd's default)"), "", first.t, kRecordOomd});
      }
  }

  void units() {
    std::set<std::string> seen;
    for (const auto& u : timeline_.setup) {
      seen.insert(u.unit);
      const auto planned = std::find_if(plan_.units.begin(), plan_.units.end(),
                                        [&](const PlannedUnit& p) { return p.unit == u.unit; });
      if (planned == plan_.units.end()) {
        const std::string_view suffix = kUnitSuffix;
        const std::string service =
            u.unit.ends_with(suffix) ? u.unit.substr(0, u.unit.size() - suffix.size()) : u.unit;
        add({"services." + service, "started as " + u.unit, "(no such service)", "", u.t, kRecordUnitSetup});
        continue;
      }
      // A transient unit's line states every property and oomstress's flags as the plan gave them.
      if (!planned->installed() && u.systemd_run.rfind("systemd-run ", 0) == 0 &&
          u.systemd_run != planned->systemd_run) {
        const PlanFacts recorded = factsOfSystemdRun(planned->service, u.systemd_run);
        const std::string at = "services." + planned->service + ".";
        std::set<std::string> fields;
        for (const auto& [k, v] : recorded) fields.insert(k);
        for (const auto& [k, v] : facts_)
          if (k.rfind(at + "unit.", 0) == 0 || k == at + "load") fields.insert(k);
        for (const auto& field : fields) {
          const auto was = factOf(recorded, field), is = factOf(facts_, field);
          if (was != is)
            add({field, was ? *was + " (its systemd-run line)" : "(not set in its systemd-run line)",
                 is.value_or(kNotSet), "", u.t, kRecordUnitSetup});
        }
      }
      for (auto& d : settingDifferences(*planned, u)) add(std::move(d));
    }
    // Every unit has its setup record once the settings were verified.
    if (!reached(kPhaseSettingsVerified)) return;
    for (const auto& p : plan_.units)
      if (!seen.count(p.unit))
        add({"services." + p.service, "(no such unit)", "started as " + p.unit, "", -1, kRecordUnitSetup});
  }

  const GuestPlan& plan_;
  const Timeline& timeline_;
  const PlanFacts facts_;
  std::vector<PlanDifference> differences_;
};

}  // namespace

std::string PlanDifference::str() const {
  return field + ": the timeline says " + timeline + ", the scenario says " + scenario;
}

std::vector<PlanDifference> settingDifferences(const PlannedUnit& planned, const UnitSetup& u) {
  std::vector<PlanDifference> out;
  const std::string at = "services." + planned.service + ".unit.";
  for (const auto& p : planned.properties) {
    const auto want = toDbusProperty(p.name, p.value);
    if (!want) continue;  // the plan refuses such a value before anything starts
    const auto got = u.applied.find(want->name);
    const auto read_back = got == u.applied.end() ? std::nullopt : std::optional(got->second);
    if (auto m = recordedSettingMismatch(p, *want, read_back))
      out.push_back({at + p.name,
                     read_back && !read_back->empty() ? want->name + "=" + *read_back + " (read back)"
                                                      : "(not reported)",
                     p.value + " (" + want->name + "=" + formatDbusValue(want->value) + ")", std::move(*m), u.t,
                     kRecordUnitSetup});
  }
  // What the kernel enforces against what systemd reported (records that read the cgroup back).
  for (auto& m : cgroupMismatches(u.applied, u.cgroup))
    out.push_back({at + m.property, m.file + " " + m.kernel + " (read back)", m.file + " " + m.expected, std::move(m.text),
                   u.t, kRecordUnitSetup});
  // The process count is the guest's to judge (it saw the kills before its check).
  const int adj = expectedOomScoreAdjust(planned);
  for (const auto& proc : processesUnderUnitAdjust(planned, u.processes))
    for (auto& m : processMismatches({proc}, adj, 0, u.control_group, {}))
      out.push_back({at + "OOMScoreAdjust",
                     "oom_score_adj " + std::to_string(proc.oom_score_adj) + " (pid " + std::to_string(proc.pid) +
                         ", " + proc.comm + ")",
                     std::to_string(adj), std::move(m), u.t, kRecordUnitSetup});
  return out;
}

PlanBinding bindTimeline(const GuestPlan& plan, const Timeline& timeline) {
  Binder binder(plan, timeline);
  return timeline.plan.fingerprint.empty() ? binder.byEvidence() : binder.byPlanRecord();
}

}  // namespace oom
