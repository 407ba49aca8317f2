#include "scenario/budget.hpp"

#include <algorithm>
#include <cstdio>

namespace oom {

std::uint64_t guestOverheadBytes(const std::string& release) {
  for (const auto& o : kGuestOverheads)
    if (o.release == release) return o.bytes;
  return kGuestOverheadBytes;  // not measured: the default release's (bookworm)
}

Budget computeBudget(const Scenario& scenario) {
  Budget b;
  for (const auto& s : scenario.services) {
    // Podman and conmon in the unit, whatever the container runs.
    if (s.container) b.runtime_bytes = saturatingAdd(b.runtime_bytes, kContainerRuntimeBytes);
    if (s.runsOwnCommand()) continue;  // its memory is its program's: nothing to budget ahead
    const Load& l = *s.load;
    b.rows.push_back(BudgetRow{s.name, l.baseline_bytes, l.processes, l.leak_bytes_per_sec, l.spike ? l.spike->bytes : 0});
    b.baselines_bytes = saturatingAdd(b.baselines_bytes, l.baseline_bytes);
  }
  b.overhead_bytes = guestOverheadBytes(scenario.guest.release);
  b.margin_bytes = kBudgetSafetyMarginBytes;
  b.guest_memory_bytes = scenario.guest.memory_bytes;
  b.swap_bytes = scenario.guest.swap_bytes;
  b.zram = scenario.guest.swap_kind == kSwapZram;
  return b;
}

std::string Budget::explain() const {
  const std::string sum = "baselines " + formatSize(baselines_bytes) + " + guest overhead " +
                          formatSize(overhead_bytes) +
                          (runtime_bytes ? " + container runtime " + formatSize(runtime_bytes) : std::string()) +
                          " + safety margin " +
                          formatSize(margin_bytes) + " = " + formatSize(neededBytes());
  if (fits())
    return sum + " <= guest memory " + formatSize(guest_memory_bytes) + ": " +
           formatSize(headroomBytes()) + " left for the pressure to consume";
  return sum + " > guest memory " + formatSize(guest_memory_bytes) +
         ": the baseline alone would trigger the OOM killer, which tests nothing; lower the "
         "baselines or raise guest.memory";
}

std::string Budget::table() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "  %-24s %10s %9s %12s %10s\n", "service", "baseline", "processes",
                "leak", "spike");
  out += line;
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "  %-24s %10s %9u %12s %10s\n", r.service.c_str(),
                  formatSize(r.baseline_bytes).c_str(), r.processes,
                  r.leak_bytes_per_sec ? (formatSize(r.leak_bytes_per_sec) + "/s").c_str() : "-",
                  r.spike_bytes ? formatSize(r.spike_bytes).c_str() : "-");
    out += line;
  }
  auto row = [&](const char* label, std::uint64_t bytes) {
    std::snprintf(line, sizeof line, "  %-24s %10s\n", label, formatSize(bytes).c_str());
    out += line;
  };
  row("sum of baselines", baselines_bytes);
  row("guest overhead (measured)", overhead_bytes);
  if (runtime_bytes) row("container runtime", runtime_bytes);
  row("safety margin", margin_bytes);
  row("needed", neededBytes());
  row("guest memory", guest_memory_bytes);
  if (swap_bytes) row(zram ? "guest swap (zram)" : "guest swap", swap_bytes);
  out += "  " + explain() + "\n";
  if (zram)
    out += "  zram keeps swapped pages in guest memory, compressed: a page that compresses N times "
           "(load.compress_ratio) frees (N-1)/N of its memory, one that does not (1, the default) frees nothing\n";
  return out;
}

}  // namespace oom
