#include "guest/transient_unit.hpp"

namespace oom {

Expected<TransientUnitSpec> transientUnitSpec(const PlannedUnit& unit) {
  TransientUnitSpec spec;
  spec.name = unit.unit;
  spec.properties.push_back({"Description", 's', "oomharness: " + unit.service +
                                                    (unit.why.empty() ? "" : " (" + unit.why + ")")});
  for (const auto& p : unit.properties) {
    auto converted = toDbusProperty(p.name, p.value);
    if (!converted) return fail(unit.unit + ": " + p.name, converted.error().message);
    spec.properties.push_back(*converted);
  }
  if (unit.exec_start.empty()) return fail(unit.unit, "empty exec_start");
  spec.exec = ExecCommand{unit.exec_start.front(), unit.exec_start, false};
  return spec;
}

}  // namespace oom
