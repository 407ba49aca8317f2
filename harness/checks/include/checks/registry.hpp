#pragma once
// Every check a verdict is built from, in one table (registry.cpp): what each is
// called, what kind of check it is, what it reads and what it takes to pass, how a
// blind spot of the observer touches it, and the judge that decides it. evaluate()
// runs the table in order; the summary and report.html name results through it;
// docs/checks.md and `oomharness checks` are generated from it; nothing else lists
// the checks.
//
// A check that judges an expectation key is named after it and registered by the
// key's line in scenario/expectations.def; its CheckDef `kCheck_<key>` is defined in
// a file of this folder (a new check: a file of its own).
#include <string>
#include <string_view>
#include <vector>

#include "checks/verdict.hpp"

namespace oom {

struct CheckContext;  // what every judge is given (the checks' own check_context.hpp)
using Checks = std::vector<CheckResult>;

enum class CheckKind {
  expectation,  // judges a key of the scenario's `expect`
  safeguard,    // an expectation every scenario has unless it says otherwise (collateral)
  run,          // what the run itself must show for its verdict to mean anything
  note,         // something a reader should know; never decides the verdict
};

// How a blind spot of the observer (a gap, a lost record) touches a check's outcome
// (observation.cpp). A check whose deciding records fall in a blind spot of the
// witness that wrote them is inconclusive whatever these say.
inline constexpr unsigned kBlindRecordsOnly = 0;
inline constexpr unsigned kBlindFailureMayBeALoss = 1;  // a FAIL may come from a record the loss removed
inline constexpr unsigned kBlindNoKillInUnit = 2;       // a PASS claims no (or no more) kill in its unit
inline constexpr unsigned kBlindNoKillAnywhere = 4;     // ... no kill outside the scenario's units
inline constexpr unsigned kBlindNoEarlierKill = 8;      // ... no kill before the one it cites

// How a result is named and shown: "first_killed", "<service>.restarts",
// "never_killed <service>" (one result per listed service, named once), or
// "<probe>.max_unavailable" (one per probe that names the key).
enum class CheckNaming { scenario, service_prefix, unit_after, probe_prefix };

using Judge = void (*)(const CheckContext& ctx, const std::string& service, Checks& out);

struct CheckDef {
  std::string_view name;  // the expectation key it judges, or the run check's name
  CheckKind kind;
  CheckNaming naming;
  unsigned blind;              // kBlind* flags
  std::string_view passes_when;  // the docs' words: what it takes to pass
  std::string_view evidence;     // the records it cites
  // Called once for a scenario-wide check, once per unit that names it for a
  // per-unit one (naming service_prefix; `service` is its name), once per probe
  // for a per-probe one (probe_prefix; the probe's name); pushes its result(s) to `out`.
  Judge judge;
};

// In the order a result lists them: scenario-wide expectations, then each unit's,
// then the safeguards, the run's own checks and the notes.
const std::vector<const CheckDef*>& checkRegistry();

// The definition a result came from (its name without the service prefix); nullptr
// for a result no check of this build writes (an older or newer result file).
const CheckDef* checkDefOf(const CheckResult& result);

// "never_killed api", "worker.restarts", "pressure": a result as the summary and
// report.html name it.
std::string displayName(const CheckResult& result);

const char* kindName(CheckKind kind);  // "expectation", "safeguard", "run", "note"
// "first_killed", "<service>.restarts", "<probe>.max_unavailable": how its results are named.
std::string namePattern(const CheckDef& d);

// docs/checks.md: the table of every check, from this registry.
std::string checksMarkdown();

}  // namespace oom
