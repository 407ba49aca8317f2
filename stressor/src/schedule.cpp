#include "schedule.hpp"

#include <algorithm>
#include <cmath>

namespace oom::stress {

const char* phaseName(Phase p) {
  switch (p) {
    case Phase::waiting: return "waiting";
    case Phase::ramping: return "ramping";
    case Phase::holding: return "holding";
    case Phase::leaking: return "leaking";
    case Phase::sawtooth: return "sawtooth";
    case Phase::exiting: return "exiting";
  }
  return "?";
}

namespace {

std::uint64_t atRate(std::uint64_t rate, double seconds) {
  return static_cast<std::uint64_t>(static_cast<double>(rate) * std::max(0.0, seconds));
}

// Sawtooth after the target: drop to half, grow back at the rate, repeat.
// With no rate it alternates half and full every second.
std::uint64_t sawtoothBytes(const Options& o, double since_target) {
  const std::uint64_t half = o.target / 2;
  if (o.rate == 0) return std::fmod(since_target, 2.0) < 1.0 ? half : o.target;
  const double period = static_cast<double>(o.target - half) / static_cast<double>(o.rate);
  if (period <= 0) return o.target;
  return half + atRate(o.rate, std::fmod(since_target, period));
}

}  // namespace

std::uint64_t desiredBytes(const Options& o, const ScheduleInput& in) {
  std::uint64_t bytes = 0;
  if (!in.target_reached_at) {
    const std::uint64_t rebuilt = std::min(in.resumed_bytes, o.target);
    bytes = (o.rate == 0 || o.leak) ? o.target : std::min(o.target, rebuilt + atRate(o.rate, in.t));
  } else if (o.leak) {
    bytes = o.target + atRate(o.rate, in.t - *in.target_reached_at);
  } else if (o.sawtooth) {
    bytes = sawtoothBytes(o, in.t - *in.target_reached_at);
  } else {
    bytes = o.target;
  }
  if (spikeActive(o, in.t)) bytes += o.spike->bytes;
  return bytes;
}

std::uint64_t workDone(const Options& o, std::uint64_t resumed, std::uint64_t held,
                       bool target_reached) {
  const std::uint64_t ramp = std::min(held, o.target);
  if (!o.leak || !target_reached) return std::max(resumed, ramp);
  return std::max(resumed, o.target) + (held - ramp);
}

bool workComplete(const Options& o, const ScheduleInput& in) {
  if (o.leak || !in.target_reached_at) return false;
  return in.t - *in.target_reached_at >= o.hold_sec.value_or(0.0);
}

Phase phaseAt(const Options& o, const ScheduleInput& in) {
  if (in.t < 0) return Phase::waiting;
  if (!in.target_reached_at) return Phase::ramping;
  if (o.leak) return Phase::leaking;
  if (o.sawtooth) return Phase::sawtooth;
  return Phase::holding;
}

}  // namespace oom::stress
