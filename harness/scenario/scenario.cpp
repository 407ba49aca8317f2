#include "scenario/scenario.hpp"

#include <arpa/inet.h>

#include <variant>

#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {

std::optional<PublishedPort> parsePublishedPort(std::string_view text) {
  std::vector<std::string> parts(1);
  for (char ch : text) {
    if (ch == ':') parts.emplace_back();
    else parts.back() += ch;
  }
  if (parts.size() != 2 && parts.size() != 3) return std::nullopt;
  PublishedPort port;
  if (parts.size() == 3) {
    in_addr ignored{};
    port.host_ip = parts[0];
    if (::inet_pton(AF_INET, port.host_ip.c_str(), &ignored) != 1) return std::nullopt;
    if (port.host_ip == "0.0.0.0") port.host_ip.clear();  // every address, as Podman records it
  }
  const auto number = [](const std::string& word) {
    const auto n = parseNumber<unsigned>(word);
    return n && *n >= 1 && *n <= 65535 ? static_cast<std::uint16_t>(*n) : std::uint16_t{0};
  };
  port.host_port = number(parts[parts.size() - 2]);
  port.container_port = number(parts.back());
  if (!port.host_port || !port.container_port) return std::nullopt;
  return port;
}

std::optional<std::string> ServiceSpec::directive(const std::string& name) const {
  for (const auto& p : unit)
    if (p.name == name) return p.value;
  return std::nullopt;
}

int ServiceSpec::oomScoreAdjust() const { return oomScoreAdjustOf(unit); }

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

namespace {
bool isSet(const std::optional<std::string>& v) { return v.has_value(); }
bool isSet(const std::optional<CountRange>& v) { return v.has_value(); }
bool isSet(const std::optional<bool>& v) { return v.has_value(); }
bool isSet(const std::optional<double>& v) { return v.has_value(); }
bool isSet(const std::vector<std::string>& v) { return !v.empty(); }
bool isAsked(const std::optional<bool>& v) { return v.value_or(false); }
template <typename T> bool isAsked(const T& v) { return isSet(v); }
std::optional<double> secondsOf(const std::optional<double>& v) { return v; }
template <typename T> std::optional<double> secondsOf(const T&) { return std::nullopt; }
// A key whose value is seconds (a ratio is held as a double too, and is not).
bool isDuration(std::string_view key) {
  for (const auto& k : kExpectationKeys)
    if (k.key == key) return k.kind == ExpectationKind::duration || k.kind == ExpectationKind::positive_duration;
  return false;
}
}  // namespace

std::vector<std::string> expectationKeys(ExpectationScope scope) {
  std::vector<std::string> keys;
  for (const auto& k : kExpectationKeys)
    if (k.scope == scope) keys.emplace_back(k.key);
  return keys;
}

#define OOM_EXPECTATION_IF_unit(key) \
  if (name == #key) return isSet(key);
#define OOM_EXPECTATION_IF_scenario(key)
#define OOM_EXPECTATION_IF_probe(key)
#define OOM_EXPECTATION(key, scope, kind, plan) OOM_EXPECTATION_IF_##scope(key)
bool UnitExpectation::names(std::string_view name) const {
#include "scenario/expectations.def"
  return false;
}
#undef OOM_EXPECTATION_IF_unit
#define OOM_EXPECTATION_IF_unit(key) \
  if (name == #key) return isAsked(key);
bool UnitExpectation::asks(std::string_view name) const {
#include "scenario/expectations.def"
  return false;
}
#undef OOM_EXPECTATION_IF_unit
#define OOM_EXPECTATION_IF_unit(key) \
  if (name == #key) return secondsOf(key);
std::optional<double> UnitExpectation::seconds(std::string_view name) const {
  if (!isDuration(name)) return std::nullopt;
#include "scenario/expectations.def"
  return std::nullopt;
}
#undef OOM_EXPECTATION_IF_unit
#undef OOM_EXPECTATION_IF_scenario
#define OOM_EXPECTATION_IF_unit(key)
#define OOM_EXPECTATION_IF_scenario(key) \
  if (name == #key) return isSet(key);
bool Expectations::names(std::string_view name) const {
#include "scenario/expectations.def"
  return false;
}
#undef OOM_EXPECTATION_IF_scenario
#undef OOM_EXPECTATION_IF_probe
#define OOM_EXPECTATION_IF_scenario(key)
#define OOM_EXPECTATION_IF_probe(key) \
  if (name == #key) return isSet(key);
bool ProbeExpectation::names(std::string_view name) const {
#include "scenario/expectations.def"
  return false;
}
#undef OOM_EXPECTATION_IF_probe
#define OOM_EXPECTATION_IF_probe(key) \
  if (name == #key) return secondsOf(key);
std::optional<double> ProbeExpectation::seconds(std::string_view name) const {
  if (!isDuration(name)) return std::nullopt;
#include "scenario/expectations.def"
  return std::nullopt;
}
#undef OOM_EXPECTATION_IF_unit
#undef OOM_EXPECTATION_IF_scenario
#undef OOM_EXPECTATION_IF_probe
#undef OOM_EXPECTATION

bool ProbeExpectation::namesAnExpectation() const {
  for (const auto& k : kExpectationKeys)
    if (k.scope == ExpectationScope::probe && names(k.key)) return true;
  return false;
}

bool UnitExpectation::namesAnExpectation() const {
  for (const auto& k : kExpectationKeys)
    if (k.scope == ExpectationScope::unit && names(k.key)) return true;
  return false;
}

bool Expectations::namesAnExpectation() const {
  for (const auto& k : kExpectationKeys)
    if (k.scope == ExpectationScope::scenario && names(k.key)) return true;
  for (const auto& [name, u] : units)
    if (u.namesAnExpectation()) return true;
  for (const auto& [name, p] : probes)
    if (p.namesAnExpectation()) return true;
  return false;
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

const ProbeSpec* Scenario::probe(const std::string& name) const {
  for (const auto& p : probes)
    if (p.name == name) return &p;
  return nullptr;
}

const DriveSpec* Scenario::driveForUnit(const std::string& unit) const {
  for (const auto& d : drives)
    if (unitName(d.name) == unit) return &d;
  return nullptr;
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
