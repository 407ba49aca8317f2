#pragma once
// Every bound the report stage holds its inputs and outputs to, in one place.
// oomharness runs as root in CI on run folders from pull requests: reading one
// back (show, report, diff, the suite runner) or writing one must take memory
// and bytes in proportion to what was accepted, never die on an allocation.
// README (Reliability) and RESULT-FORMAT.md state the same numbers.
#include <cstddef>
#include <cstdint>

#include "oom/units.hpp"

namespace oom::report_limits {

// result.json read back. It holds the whole timeline, written with two-space
// indentation: the recorded runs' result.json are 1.6 to 1.9 times their
// results.jsonl (tests/report/run_folder_test.cpp), evaluate reads at most 32 MiB
// of them, and a timeline folds at most 80 MiB of records as result.json writes
// them (timeline/limits.hpp), leaving 16 MiB for the checks, scenario and plan.
constexpr std::uint64_t kMaxResultFileBytes = 96 * MiB;

// Objects and arrays in result.json nest at most this deep, checked while parsing,
// before any tree exists (the format needs 8: $.timeline.samples[i].processes[j]
// and the scenario within $.scenario). A 95 MiB file of nested arrays took
// `show` 41 s and 3.7 GB before this limit.
constexpr std::size_t kMaxResultDepth = 32;

// What the derived files copy from their inputs (guest text, unit files, evidence):
// a text field at most this long, cut with what was left out said.
constexpr std::size_t kMaxTextShownBytes = 4 * KiB;
// A unit file's text in report.html (the files themselves are in result.json).
constexpr std::size_t kMaxUnitFileShownBytes = 64 * KiB;
// Evidence rows listed per check in junit.xml and report.html, then "N more".
constexpr std::size_t kMaxEvidenceShown = 20;

// Each derived file as a whole, whatever its inputs: past this it ends with a line
// saying it was cut and where the rest is (result.json). The synthetic 10-minute run
// of 20 units with 60 kills (tests/report/html_report_test.cpp) makes a 573 KB
// report.html; the recorded runs 31-105 KB.
constexpr std::size_t kMaxReportHtmlBytes = 16 * MiB;
constexpr std::size_t kMaxJunitBytes = 8 * MiB;
constexpr std::size_t kMaxSummaryBytes = 1 * MiB;

}  // namespace oom::report_limits
