#pragma once
// report.html: one self-contained page per run (no external scripts, fonts or
// styles, and no script at all: it reads the same in a mail client, a CI
// artifact viewer or a browser without JavaScript). The timeline chart (inline
// SVG), why the kernel chose each victim, every check with its evidence, the
// scenario as requested and as applied, the guest and the timings.
#include <cstddef>
#include <string>
#include <string_view>

#include "report/report.hpp"

namespace oom {

// Text from the guest or a scenario, for HTML text and quoted attributes:
// printable() first (control characters and bytes that are not UTF-8 become
// visible \xNN text), then & < > " ' as character references.
std::string htmlText(std::string_view text);

std::string htmlReport(const RunReport& report);

// The chart alone: inline SVG, every element a reader or a test looks for
// carries a class: unit-line, guest-line, limit-line, psi-band, kill-marker
// (one per kernel kill, group members too, data-pid), restart-marker,
// state-segment, gap-marker, loss-marker, time-limit-marker, phase-marker.
std::string timelineChartSvg(const RunReport& report);

// What keeps the page readable, and its size bounded, for a 10-minute run of 20
// units (tests/report/html_report_test.cpp measures it):
inline constexpr std::size_t kChartColumns = 300;        // a series keeps its min and max per column
inline constexpr std::size_t kLaneSegmentsMax = 400;     // state changes per unit lane
inline constexpr std::size_t kKillsExplainedMax = 30;    // kills with their candidates; the rest listed
inline constexpr std::size_t kCandidatesShownMax = 12;   // rows per kill (the victim always shown)
inline constexpr std::size_t kEvidenceShownMax = 40;     // evidence lines per check
inline constexpr std::size_t kKernelLinesShownMax = 80;  // raw kernel lines per kill

}  // namespace oom
