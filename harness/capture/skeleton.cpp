// HostCapture -> a scenario skeleton that `oomharness check` accepts as written.
#include <algorithm>
#include <set>

#include "capture/output.hpp"
#include "oom/guest_paths.hpp"
#include "oom/releases.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "scenario/budget.hpp"
#include "scenario/limits.hpp"

namespace oom {
namespace {

constexpr std::size_t kMaxServices = limits::kMaxServices;
constexpr unsigned kMaxProcesses = limits::kMaxProcessesPerService;
constexpr std::uint64_t kMinGuestMemory = 512 * MiB;  // the smallest guest the shipped scenarios use
constexpr std::uint64_t kMaxGuestMemory = limits::kMaxGuestMemoryBytes;
constexpr std::uint64_t kPressureBaseline = 16 * MiB;  // the added pressure service's, before it grows
constexpr std::uint64_t kPressureFillSec = 45;         // it fills the guest's room in about this long


// A unit name stem the scenario accepts (letters, digits, :_.-\): "getty@tty1" -> "getty-tty1".
std::string stemFor(const std::string& unit) {
  std::string stem = unit.substr(0, unit.size() - std::string_view(kUnitSuffix).size());
  for (char& ch : stem)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != ':' && ch != '_' && ch != '.' && ch != '-') ch = '-';
  if (stem.size() > 200) stem.resize(200);
  return stem.empty() ? "service" : stem;
}

// Whole MiB, at least 1: the stressor holds what the unit held, give or take a page.
std::uint64_t baselineFor(std::uint64_t bytes) { return std::max<std::uint64_t>(1, (bytes + MiB / 2) / MiB) * MiB; }

std::uint64_t roundUp(std::uint64_t bytes, std::uint64_t step) { return (bytes + step - 1) / step * step; }

std::string oneLine(std::string text) {
  for (char& ch : text)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  if (text.size() > limits::kMaxTextBytes) text.resize(limits::kMaxTextBytes);
  return text;
}

nlohmann::ordered_json unitJson(const std::vector<UnitProperty>& settings) {
  nlohmann::ordered_json unit = nlohmann::ordered_json::object();
  for (const auto& p : settings) {
    if (p.name == "OOMScoreAdjust" || p.name == "StartLimitBurst") {
      if (auto n = parseNumber<long long>(p.value)) {
        unit[p.name] = *n;
        continue;
      }
    }
    unit[p.name] = p.value;
  }
  return unit;
}

}  // namespace

bool isInEveryGuest(const std::string& unit) { return guest::isGuestService(unit); }

Expected<Skeleton> scenarioSkeleton(const HostCapture& c) {
  Skeleton out;
  // Each unit's processes, and whether every one of them is OOM-exempt.
  std::map<std::string, bool> all_exempt;
  for (const auto& p : c.victims) {
    auto [it, inserted] = all_exempt.emplace(p.unit, true);
    it->second = it->second && p.oom_score_adj == -1000;
  }

  std::vector<const CapturedService*> chosen;
  for (const auto& s : c.services) {
    if (!s.running()) continue;  // no memory to carry: --all lists it in the table only
    if (isInEveryGuest(s.unit)) out.left_out.push_back(s.unit + ": a unit of every guest (its memory is in the guest overhead)");
    else if (s.processes == 0) out.left_out.push_back(s.unit + ": no processes (RemainAfterExit or exiting)");
    else chosen.push_back(&s);
  }
  if (chosen.size() > kMaxServices) {
    std::stable_sort(chosen.begin(), chosen.end(), [](const CapturedService* a, const CapturedService* b) {
      return a->memory_current.value_or(0) > b->memory_current.value_or(0);
    });
    for (std::size_t i = kMaxServices; i < chosen.size(); ++i)
      out.left_out.push_back(chosen[i]->unit + ": more than " + std::to_string(kMaxServices) +
                             " services; the largest by memory are kept");
    chosen.resize(kMaxServices);
  }
  if (chosen.empty())
    return fail("capture --scenario", "no running service with processes outside the units every guest has "
                                      "(systemd-*, dbus, gettys): nothing to put in a scenario");

  // The kernel's likeliest victim among the chosen services.
  std::string first_unit;
  const CapturedProcess* first_process = nullptr;
  for (const auto& p : c.victims) {
    if (p.oom_score_adj == -1000) break;  // ranked last: no victim after this
    if (std::any_of(chosen.begin(), chosen.end(), [&](const CapturedService* s) { return s->unit == p.unit; })) {
      first_unit = p.unit;
      first_process = &p;
      break;
    }
  }

  nlohmann::ordered_json services = nlohmann::ordered_json::array();
  std::set<std::string> stems;
  std::map<std::string, std::string> stem_of;
  std::uint64_t baselines = 0;
  for (const auto* s : chosen) {
    std::string stem = stemFor(s->unit);
    for (int n = 2; !stems.insert(stem).second; ++n) stem = stemFor(s->unit) + "-" + std::to_string(n);
    stem_of[s->unit] = stem;
    // Without memory accounting systemd has no MemoryCurrent: its processes' rss stands in.
    std::uint64_t rss = 0;
    for (const auto& p : c.victims)
      if (p.unit == s->unit) rss = saturatingAdd(rss, p.rss_bytes);
    std::uint64_t baseline = baselineFor(s->memory_current.value_or(rss));
    std::string why = "captured: " + s->unit + " " + s->active_state + "/" + s->sub_state + ", " +
                      (s->memory_current ? "MemoryCurrent " + formatSize(*s->memory_current)
                                         : "MemoryCurrent unknown, its processes' rss " + formatSize(rss)) +
                      ", " + std::to_string(s->processes) + " process" + (s->processes == 1 ? "" : "es");
    if (stem + kUnitSuffix != s->unit) why += "; renamed from " + s->unit + " (a scenario service name has no @)";
    // A baseline at or over MemoryMax would be OOM-killed before it is ready (check refuses it).
    if (auto max = s->setting("MemoryMax"))
      if (auto limit = parseSize(*max); limit && baseline >= *limit) {
        baseline = *limit > MiB ? (*limit - 1) / MiB * MiB : *limit / 2;
        why += "; baseline lowered to " + formatSizeExact(baseline) + ", under MemoryMax=" + *max;
      }
    if (s->unit == first_unit)
      why += "; first_killed: the kernel's likeliest victim now (pid " + std::to_string(first_process->pid) +
             ", oom_score " + std::to_string(first_process->oom_score) + "), a prediction to edit";
    if (all_exempt.count(s->unit) && all_exempt[s->unit])
      why += "; never_killed: every process has oom_score_adj -1000, a prediction to edit";
    baselines = saturatingAdd(baselines, baseline);
    nlohmann::ordered_json svc;
    svc["name"] = stem;
    svc["why"] = oneLine(why);
    svc["unit"] = unitJson(s->settings);
    svc["load"] = {{"baseline", formatSizeExact(baseline)},
                   {"processes", std::clamp<unsigned>(s->processes, 1, kMaxProcesses)}};
    services.push_back(std::move(svc));
  }

  const std::string release =
      std::count(supportedReleases().begin(), supportedReleases().end(), c.os_codename) ? c.os_codename
                                                                                       : std::string(kDefaultRelease);
  // Room for the baselines (the pressure service's too), the guest's own use, the
  // margin, and as much again as the baselines (at least 128M) for the pressure.
  baselines = saturatingAdd(baselines, kPressureBaseline);
  const std::uint64_t needed = saturatingAdd(saturatingAdd(baselines, guestOverheadBytes(release)), kBudgetSafetyMarginBytes);
  const std::uint64_t memory =
      std::max(kMinGuestMemory, roundUp(saturatingAdd(needed, std::max<std::uint64_t>(baselines, 128 * MiB)), 128 * MiB));
  // The pressure: one more service that grows until the kernel must choose, kept out
  // of the choice (OOMScoreAdjust=-900), so a run tests the expectations as written.
  // It fills the room left in about kPressureFillSec.
  std::string pressure = "added-pressure";
  while (!stems.insert(pressure).second) pressure += "-2";
  const std::uint64_t room = memory > needed ? memory - needed : 128 * MiB;
  const std::uint64_t leak = std::max<std::uint64_t>(16 * MiB, roundUp(room / kPressureFillSec, MiB));
  nlohmann::ordered_json grow;
  grow["name"] = pressure;
  grow["why"] = "added by capture: grows by " + formatSizeExact(leak) + "/s from 5s on until the kernel must pick a "
                "victim among the captured services; OOMScoreAdjust=-900 keeps it out of that choice. Replace it "
                "with the growth you want to test";
  grow["unit"] = {{"OOMScoreAdjust", -900}};
  grow["load"] = {{"baseline", formatSizeExact(kPressureBaseline)},
                  {"leak", formatSizeExact(leak) + "/s"},
                  {"start_after", "5s"}};
  services.push_back(std::move(grow));
  if (needed > kMaxGuestMemory)
    return fail("capture --scenario", "the captured services hold " + formatSize(baselines) +
                                          ", more than a guest can have (64G with the guest's own use)");

  nlohmann::ordered_json doc;
  doc["name"] = "captured-" + stemFor((c.hostname.empty() ? "host" : c.hostname) + kUnitSuffix);
  doc["description"] = oneLine(
      "Captured by oomharness capture from " + (c.hostname.empty() ? std::string("a host") : c.hostname) + " (" +
      c.os + ", systemd " + c.systemd_version + ", " + formatSize(c.mem_total_bytes) + " memory, " +
      formatSize(c.swap_total_bytes) + " swap): each running service with its effective OOM settings and its "
      "memory at capture time as the baseline, and one added service (added-pressure) that grows until the "
      "kernel must choose a victim. The expectations are what the kernel would do now; edit them to the policy "
      "you mean.");
  doc["guest"] = {{"release", release},
                  {"memory", formatSizeExact(std::min(memory, kMaxGuestMemory))},
                  {"cpus", 2},
                  {"swap", "0"}};
  doc["time_limit"] = "120s";
  doc["services"] = std::move(services);
  nlohmann::ordered_json expect = nlohmann::ordered_json::object();
  if (!first_unit.empty()) expect["first_killed"] = stem_of[first_unit];
  nlohmann::ordered_json never = nlohmann::ordered_json::array();
  for (const auto* s : chosen)
    if (s->unit != first_unit && all_exempt.count(s->unit) && all_exempt[s->unit]) never.push_back(stem_of[s->unit]);
  if (!never.empty()) expect["never_killed"] = std::move(never);
  doc["expect"] = std::move(expect);
  out.scenario = std::move(doc);
  return out;
}

}  // namespace oom
