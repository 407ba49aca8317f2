#pragma once
// oomstress's command line, parsed into typed options. Errors name the flag
// and the accepted form: "--rate: expected a rate such as 50M/s, got 'fast'".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oom/expected.hpp"
#include "oom/units.hpp"

namespace oom::stress {

// --spike SIZE@TIME (oom/units.hpp): TIME counts from the process's start.
using Spike = SizeAt;

struct Options {
  std::uint64_t target = 0;        // bytes, whole unit (split across processes)
  std::uint64_t rate = 0;          // bytes/s, whole unit; 0: as fast as possible
  std::optional<double> hold_sec;  // after the target is reached; unset: until killed
  double start_after_sec = 0;
  bool leak = false;
  std::optional<Spike> spike;
  bool sawtooth = false;
  unsigned processes = 1;
  bool supervisor = false;          // --supervisor: the main process holds nothing; --processes workers do
  bool thp = false;
  bool mlock = false;
  unsigned compress_ratio = 1;     // 1: data no compressor can shrink
  double report_interval_sec = 1.0;
  std::string checkpoint;          // file; empty: none
  std::uint16_t health_port = 0;   // --health-port (health.hpp); 0: none
  bool target_from_checkpoint = false;  // --target omitted: resume the checkpoint's
  bool help = false;
};

Expected<Options> parseOptions(const std::vector<std::string>& args);
const char* usage();

// One process's part of the work: target, rate and spike divided by `processes`.
Options shareFor(const Options& whole, unsigned index);
// --supervisor's main process: no memory of its own (no target, rate, leak, spike,
// sawtooth or hold); it waits --start-after, reports, answers --health-port and
// sends READY=1 once every worker holds its share.
Options supervisorShare(const Options& whole);

}  // namespace oom::stress
