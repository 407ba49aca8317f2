#pragma once
// How much memory one process should hold at a given time, and how much work a
// checkpointed job has done: pure functions of the options, the clock and what
// is held, so the shapes are tested without sleeping.
#include <cstdint>
#include <optional>

#include "options.hpp"

namespace oom::stress {

enum class Phase { waiting, ramping, holding, leaking, sawtooth, exiting };
const char* phaseName(Phase phase);

struct ScheduleInput {
  double t = 0;                             // seconds since allocation started
  std::optional<double> target_reached_at;  // when this process first held its target
  std::uint64_t resumed_bytes = 0;          // checkpoint mode: work done by earlier runs
};

// A spike's TIME counts from the process's start, like the reports' t (so
// --start-after is included); one due before allocation starts comes with it.
inline bool spikeActive(const Options& o, double t_since_allocation_start) {
  return o.spike && t_since_allocation_start + o.start_after_sec >= o.spike->at_sec;
}

// Bytes this process should hold at `in.t` (one process's share of the options).
// A resumed job first rebuilds the working set it had (min(resumed, target), at
// once: that state was already computed), then carries on at the rate.
std::uint64_t desiredBytes(const Options& share, const ScheduleInput& in);
Phase phaseAt(const Options& share, const ScheduleInput& in);

// Checkpoint mode: work done so far, counted across runs, given the bytes held
// now (spike excluded). Work is the bytes allocated along the schedule: the ramp
// to the target, then with --leak every leaked byte. A restart frees the leaked
// memory but not the work: a resumed leaking job rebuilds only its target.
std::uint64_t workDone(const Options& share, std::uint64_t resumed, std::uint64_t held,
                       bool target_reached);

// Checkpoint mode: the job is complete once its target is held for --hold
// (0 when absent); a leaking job never completes.
bool workComplete(const Options& share, const ScheduleInput& in);

}  // namespace oom::stress
