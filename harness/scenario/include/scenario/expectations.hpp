#pragma once
// The vocabulary of a scenario's `expect`: each key (expectations.def), the kind of
// value it holds, and what the guest plan must allow for it. The parser reads every
// key by its kind, the structures below hold each as a field of its own type, and the
// checks (harness/checks/registry.cpp) judge them; none of them lists the keys again.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oom {

// An exact count (min == max) or a range; either bound may be open.
struct CountRange {
  std::optional<std::uint64_t> min, max;
  bool contains(std::uint64_t n) const { return (!min || n >= *min) && (!max || n <= *max); }
  std::string str() const;              // "0", "at least 1", "1 to 5"
};

enum class ExpectationKind {
  service,            // one of the scenario's service names
  services,           // a list of them
  count,              // a CountRange: 2, or {"min": 1, "max": 5}
  flag,               // true or false
  duration,           // seconds: "30s", "2min", or a number
  positive_duration,  // a duration greater than 0
  text,               // a non-empty string (its allowed values are the parser's rules)
  ratio,              // a number from 0 to 1
};

template <ExpectationKind K> struct ExpectationValue { using type = std::optional<std::string>; };
template <> struct ExpectationValue<ExpectationKind::services> { using type = std::vector<std::string>; };
template <> struct ExpectationValue<ExpectationKind::count> { using type = std::optional<CountRange>; };
template <> struct ExpectationValue<ExpectationKind::flag> { using type = std::optional<bool>; };
template <> struct ExpectationValue<ExpectationKind::duration> { using type = std::optional<double>; };
template <> struct ExpectationValue<ExpectationKind::positive_duration> { using type = std::optional<double>; };
template <> struct ExpectationValue<ExpectationKind::ratio> { using type = std::optional<double>; };

// What the plan allows for when a unit names the key (planner.cpp).
inline constexpr unsigned kPlanNothing = 0;
inline constexpr unsigned kPlanKill = 1;     // set, and not false: the unit is killed at least once
inline constexpr unsigned kPlanRestart = 2;  // the run settles no sooner than RestartSec + restart_grace
inline constexpr unsigned kPlanWindow = 4;   // the run settles no sooner than the key's duration
// (A probe's key plans for the service the probe watches.)

// scenario: `expect.KEY`; unit: `expect.units.<service>.KEY`; probe: `expect.probes.<probe>.KEY`.
enum class ExpectationScope { scenario, unit, probe };

struct ExpectationKey {
  std::string_view key;   // "restarts"
  ExpectationScope scope;
  ExpectationKind kind;
  unsigned plan;
};

inline constexpr ExpectationKey kExpectationKeys[] = {
#define OOM_EXPECTATION(key, scope, kind, plan) {#key, ExpectationScope::scope, ExpectationKind::kind, plan},
#include "scenario/expectations.def"
#undef OOM_EXPECTATION
};

// The keys of one scope, in the registration's order.
std::vector<std::string> expectationKeys(ExpectationScope scope);

}  // namespace oom
