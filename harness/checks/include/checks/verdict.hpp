#pragma once
// Expectations + timeline -> verdict. The checks never talk to systemd: they
// read a Timeline (recorded live, or from a file) and cite the records that
// decided each outcome, so a reader can verify the verdict without re-running.
#include <array>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/scenario.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// One record that decided a check, in the kernel's and systemd's own words.
struct Evidence {
  double t = -1;               // guest CLOCK_MONOTONIC seconds; -1 when not timed
  std::string source;          // "kernel", "unit_state", "journal", "sample", "setup", "phase",
                               // "guest_sample", "observer_gap", "loss"
  std::string unit;
  std::string InvocationID;
  int pid = 0;
  std::string text;            // the log line, or a sentence built from the record
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Evidence, t, source, unit, InvocationID, pid, text)

enum class CheckOutcome { pass, fail, inconclusive, note };
enum class VerdictKind { pass, fail, inconclusive };

// The one table of outcome names: result.json's words, which report.html also uses
// as CSS classes, and the label the summary and the report print. A name outside it
// is an error when read back (never taken for a pass).
struct CheckOutcomeName {
  CheckOutcome outcome;
  const char* name;   // "pass"
  const char* label;  // "PASS"
};
inline constexpr std::array<CheckOutcomeName, 4> kCheckOutcomeNames{{
    {CheckOutcome::pass, "pass", "PASS"},
    {CheckOutcome::fail, "fail", "FAIL"},
    {CheckOutcome::inconclusive, "inconclusive", "INCONCLUSIVE"},
    {CheckOutcome::note, "note", "NOTE"},
}};
inline constexpr std::array<std::pair<VerdictKind, const char*>, 3> kVerdictNames{{
    {VerdictKind::pass, "pass"},
    {VerdictKind::fail, "fail"},
    {VerdictKind::inconclusive, "inconclusive"},
}};
const char* outcomeName(CheckOutcome outcome);  // "pass", "fail", "inconclusive", "note"
const char* toString(CheckOutcome outcome);     // "PASS", "FAIL", "INCONCLUSIVE", "NOTE"
const char* toString(VerdictKind verdict);      // "pass", "fail", "inconclusive"
void to_json(nlohmann::json& j, CheckOutcome outcome);
void from_json(const nlohmann::json& j, CheckOutcome& outcome);
void to_json(nlohmann::json& j, VerdictKind verdict);
void from_json(const nlohmann::json& j, VerdictKind& verdict);

// Built with designated initializers (.name = ..., .outcome = ...); every member has a
// default, so a check names only what it sets.
struct CheckResult {
  std::string name{};         // "first_killed", "report-worker.restarts", "note.unexpected_kill"
  std::string unit{};         // service name; "" for scenario-wide checks
  CheckOutcome outcome = CheckOutcome::pass;
  std::string expected{};     // one line: what the scenario said
  std::string observed{};     // one line: what the timeline shows
  std::vector<Evidence> evidence{};
  // For a failed or inconclusive check: why reality differed, in systemd's and
  // the kernel's terms (a Restart= rule, the victim's badness); "" when not known.
  std::string why{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CheckResult, name, unit, outcome, expected,
                                                observed, evidence, why)


struct Verdict {
  VerdictKind verdict = VerdictKind::inconclusive;
  std::string reason;          // one sentence: why this verdict
  double pressure_t = 0;       // when pressure began (phase "pressure", else first unit start)
  std::vector<CheckResult> checks;  // expectations, then infrastructure checks, then notes
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Verdict, verdict, reason, pressure_t, checks)

Verdict evaluate(const Scenario& scenario, const Timeline& timeline);

// How well the observer kept up, and how hard the guest stalled, from the
// recorded timeline alone (what the summary's "observer:" and "stall:" lines say).
struct ObserverStats {
  std::size_t guest_samples = 0;
  double longest_sample_interval_sec = 0;  // between consecutive guest samples
  double longest_sample_interval_at = 0;   // when that interval began
  std::size_t kills_timed = 0;             // kills that carry seen_t
  double slowest_kill_sec = 0;             // seen_t - t: kernel line to timeline
  double peak_psi_full = 0, peak_psi_full_at = 0;  // /proc/pressure/memory full avg10 (%)
  double peak_psi_some = 0;
  double near_zero_sec = 0;                // total time MemAvailable was near zero
  std::uint64_t near_zero_bytes = 0;       // the threshold used (checks' pressure rule)
};
ObserverStats observerStats(const Timeline& timeline);

}  // namespace oom
