#include "suite/admission.hpp"

#include <sched.h>

#include <algorithm>

namespace oom {

std::uint64_t reservedBytes(const GuestDemand& demand) {
  // hostMemoryFits reports what it needs whatever MemAvailable says.
  return hostMemoryFits("MemAvailable: 0 kB\n", HostNeeds{demand.memory_bytes, demand.swap_bytes, false})
      .needed_bytes;
}

Admission admitGuest(const GuestDemand& next, const std::vector<RunningGuest>& running, std::string_view meminfo,
                     unsigned host_cpus, bool oversubscribe, const std::vector<OtherReservation>& other_runs) {
  if (running.empty()) return {true, ""};
  unsigned cpus = next.cpus;
  for (const auto& g : running) cpus += g.demand.cpus;
  if (!oversubscribe && cpus > host_cpus)
    return {false, "vCPUs: " + std::to_string(cpus - next.cpus) + " running + " + std::to_string(next.cpus) +
                       " > " + std::to_string(host_cpus) + " host CPUs (--oversubscribe allows it)"};
  std::vector<OtherReservation> others = other_runs;
  for (const auto& g : running)
    others.push_back({g.folder, g.pid, reservedBytes(g.demand), g.held_bytes});
  const HostFit fit = hostMemoryFits(meminfo, HostNeeds{next.memory_bytes, next.swap_bytes, false}, others);
  if (!fit.fits) return {false, "memory: " + fit.explanation};
  return {true, ""};
}

int defaultJobs(unsigned host_cpus, unsigned largest_cpus) {
  return static_cast<int>(std::max(1u, host_cpus / std::max(1u, largest_cpus)));
}

unsigned hostCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
}

}  // namespace oom
