#pragma once
// How much memory one process should hold at a given time: a pure function of
// the options and the clock, so the shapes are tested without sleeping.
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

// Bytes this process should hold at `in.t` (one process's share of the options).
std::uint64_t desiredBytes(const Options& share, const ScheduleInput& in);
Phase phaseAt(const Options& share, const ScheduleInput& in);

// Checkpoint mode: the memory this run must process to finish the job.
inline std::uint64_t remainingWork(const Options& share, std::uint64_t resumed) {
  return share.target > resumed ? share.target - resumed : 0;
}

}  // namespace oom::stress
