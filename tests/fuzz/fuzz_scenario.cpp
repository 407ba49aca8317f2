// Fuzz target: any bytes as a scenario file. parseScenario must return errors,
// never crash, hang or recurse without bound; a valid result must plan.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plan/planner.hpp"
#include "scenario/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const oom::ScenarioCheck check = oom::parseScenario(text, "fuzz.json");
  if (check.ok()) (void)oom::makeGuestPlan(*check.scenario);
  return 0;
}
