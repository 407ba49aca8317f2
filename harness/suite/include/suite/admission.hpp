#pragma once
// Which guest may start now. A suite runs up to -j guests at once, but only as
// many as the host holds: every guest's memory (guest + qemu + harness + margin,
// the same sum a single run checks before booting, vm/host_check.hpp) within
// MemAvailable less what the running guests reserved and do not hold yet, and
// their vCPUs within the host's CPUs unless oversubscription was asked for. A
// guest that would not fit even alone still starts when nothing else runs: its
// own host check then refuses it with the arithmetic (inconclusive, as a single
// run would be), rather than the suite waiting forever.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vm/host_check.hpp"

namespace oom {

struct GuestDemand {
  std::uint64_t memory_bytes = 0;
  std::uint64_t swap_bytes = 0;
  unsigned cpus = 1;
};

// A guest of this suite that is starting or running.
struct RunningGuest {
  std::string folder;
  int pid = 0;                   // its oomharness
  GuestDemand demand;
  std::uint64_t held_bytes = 0;  // RssAnon of its oomharness and qemu now (vm/reservations.hpp)
};

struct Admission {
  bool admit = false;
  std::string waiting_for;  // when not admitted: the arithmetic that said no
};

// meminfo: the text of /proc/meminfo. other_runs: reservations of runs on this
// host that are not this suite's (vm/reservations.hpp liveReservations, minus ours).
Admission admitGuest(const GuestDemand& next, const std::vector<RunningGuest>& running, std::string_view meminfo,
                     unsigned host_cpus, bool oversubscribe, const std::vector<OtherReservation>& other_runs);

// What a guest of this demand reserves on the host (hostMemoryFits' needed_bytes).
std::uint64_t reservedBytes(const GuestDemand& demand);

// -j when not given: as many guests of `largest_cpus` vCPUs as the host's CPUs
// hold, at least 1.
int defaultJobs(unsigned host_cpus, unsigned largest_cpus);

// The CPUs this process may run on (sched_getaffinity), at least 1.
unsigned hostCpus();

}  // namespace oom
