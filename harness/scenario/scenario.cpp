#include "scenario/scenario.hpp"

#include <variant>

#include "oom/units.hpp"

namespace oom {

std::optional<std::string> ServiceSpec::directive(const std::string& name) const {
  for (const auto& p : unit)
    if (p.name == name) return p.value;
  return std::nullopt;
}

int ServiceSpec::oomScoreAdjust() const {
  // Read by the directive table's own rule, as the guest reads the plan.
  if (auto v = directive("OOMScoreAdjust"))
    if (auto d = toDbusProperty("OOMScoreAdjust", *v); d && std::holds_alternative<std::int32_t>(d->value))
      return std::get<std::int32_t>(d->value);
  return 0;
}

double ServiceSpec::restartSec() const {
  if (auto v = directive("RestartSec"))
    if (auto d = parseDuration(*v)) return d->count();
  return kDefaultRestartSec;
}

std::string CountRange::str() const {
  if (min && max && *min == *max) return std::to_string(*min);
  if (min && max) return std::to_string(*min) + " to " + std::to_string(*max);
  if (min) return "at least " + std::to_string(*min);
  if (max) return "at most " + std::to_string(*max);
  return "any number";
}

const UnitExpectation* Expectations::unit(const std::string& service) const {
  for (const auto& [name, e] : units)
    if (name == service) return &e;
  return nullptr;
}

const ServiceSpec* Scenario::service(const std::string& name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

const ServiceSpec* Scenario::serviceForUnit(const std::string& unit) const {
  const std::string suffix = kUnitSuffix;
  if (unit.size() <= suffix.size() || unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) != 0)
    return nullptr;
  return service(unit.substr(0, unit.size() - suffix.size()));
}

std::string OomdSpec::confText() const {
  std::string text = "[OOM]\n";
  if (SwapUsedLimit) text += "SwapUsedLimit=" + *SwapUsedLimit + "\n";
  if (DefaultMemoryPressureLimit) text += "DefaultMemoryPressureLimit=" + *DefaultMemoryPressureLimit + "\n";
  if (DefaultMemoryPressureDurationSec)
    text += "DefaultMemoryPressureDurationSec=" + *DefaultMemoryPressureDurationSec + "\n";
  return text;
}

}  // namespace oom
