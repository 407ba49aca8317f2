#pragma once
// Every bound a timeline is folded within, in one place: the results channel of a
// live run and a recorded file read by `evaluate` (run/recorded_timeline.hpp) both
// go through applyStreamLine, so both hold. Whatever the lines say, the Timeline
// (and result.json, which writes it out) stays in proportion to them; what is left
// out is never silent: it becomes a loss record {source "channel", what
// "over_budget"} that the checks treat as a blind spot. README (Reliability) and
// RESULT-FORMAT.md state the same numbers.
#include <cstddef>
#include <cstdint>

#include "oom/units.hpp"

namespace oom::timeline_limits {

// A recorded timeline file `evaluate` reads (run/recorded_timeline.hpp says why 32 MiB).
constexpr std::uint64_t kMaxTimelineFileBytes = 32 * MiB;

// One record: the results channel cuts its lines at 1 MiB (vm/channel.hpp); a
// recorded file is held to the same. A longer line is not folded.
constexpr std::size_t kMaxRecordBytes = 1 * MiB;

// A record nests a few levels ($.processes[i].comm); a deeper line is not one,
// and is refused before its tree exists (the fold walks records recursively).
constexpr std::size_t kMaxRecordDepth = 16;

// Within one record: any array at most this long (a sample's processes, a kill's
// kernel lines with the task dump, a state's pids; a scenario may start 64 services
// of 64 processes each, 4,096 tasks), any string at most this many bytes (a kernel
// or journal line is under 1 KiB; oomctl's dump of many cgroups a few KiB). Longer
// ones are cut and the record kept, with a loss saying what was cut.
constexpr std::size_t kMaxArrayItems = 8192;
constexpr std::size_t kMaxStringBytes = 64 * KiB;

// The whole timeline: every record folded counts its bytes as result.json writes
// it (indented, the defaults of fields the line left out included: 2.7 MB of `{}`
// processes made an 870 MB peak and a 137 MB result.json when lines were counted
// instead), at least kMinRecordCharge (what a record takes in memory); a line not
// understood counts kMinRecordCharge. Past the budget no record is folded but the
// end record; one loss (t -1: it covers the whole run) counts them. 80 MiB leaves
// result.json 16 MiB for the rest (checks, scenario, plan) within its 96 MiB
// (report/limits.hpp). The recorded runs are written at 1.6 to 1.9 times their
// lines: a 32 MiB timeline file (run/recorded_timeline.hpp), and everything the
// 16 MiB results channel keeps, fit.
constexpr std::uint64_t kMaxTimelineBytes = 80 * MiB;
constexpr std::size_t kMinRecordCharge = 256;

// A record written out (its charge) at most this many times its line, plus
// kRecordDefaultsBytes: a record the guest writes carries its fields, so indented it
// is written at 2 to 3 times its line, and one that carries none (an older record,
// or a test's) at most its defaults (unit_setup's, the most, take about 700
// bytes); `{}` for a process is written as five fields, about 50 times as long.
// Such a record is not folded (a loss at its time). The whole timeline's budget
// bounds what records of defaults can take: about 8 times the largest file.
constexpr std::size_t kMaxRecordExpansion = 8;
constexpr std::size_t kRecordDefaultsBytes = 1 * KiB;

}  // namespace oom::timeline_limits
