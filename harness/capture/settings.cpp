// D-Bus properties -> the scenario's directives: the same vocabulary from unit
// file to `systemctl show` to scenario (systemd/directives.hpp), read backwards.
#include <algorithm>
#include <limits>

#include "capture/capture.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

constexpr std::uint64_t kInfinity = std::numeric_limits<std::uint64_t>::max();

template <typename T>
std::optional<T> get(const std::map<std::string, DbusValue>& p, const std::string& name) {
  const auto it = p.find(name);
  if (it == p.end()) return std::nullopt;
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return std::nullopt;
}

std::string sizeText(std::uint64_t bytes) { return bytes == kInfinity ? "infinity" : formatSizeExact(bytes); }

std::string usecText(std::uint64_t usec) {
  if (usec == kInfinity) return "infinity";
  if (usec % 1000 != 0) return std::to_string(usec) + "us";
  return formatDurationExact(Seconds(static_cast<double>(usec) / 1e6));
}

}  // namespace

std::optional<std::string> CapturedService::setting(const std::string& directive) const {
  for (const auto& s : settings)
    if (s.name == directive) return s.value;
  return std::nullopt;
}

void to_json(nlohmann::json& j, const CapturedService& s) {
  j = {{"unit", s.unit},
       {"load_state", s.load_state},
       {"active_state", s.active_state},
       {"sub_state", s.sub_state},
       {"control_group", s.control_group},
       {"memory_current", s.memory_current ? nlohmann::json(*s.memory_current) : nlohmann::json(nullptr)},
       {"processes", s.processes},
       {"settings", s.settings},
       {"fragment_path", s.fragment_path},
       {"drop_in_paths", s.drop_in_paths}};
}

void from_json(const nlohmann::json& j, CapturedService& s) {
  s = CapturedService{};
  s.unit = j.value("unit", "");
  s.load_state = j.value("load_state", "");
  s.active_state = j.value("active_state", "");
  s.sub_state = j.value("sub_state", "");
  s.control_group = j.value("control_group", "");
  if (j.contains("memory_current") && j["memory_current"].is_number_unsigned())
    s.memory_current = j["memory_current"].get<std::uint64_t>();
  s.processes = j.value("processes", 0u);
  if (j.contains("settings")) s.settings = j["settings"].get<std::vector<UnitProperty>>();
  s.fragment_path = j.value("fragment_path", "");
  if (j.contains("drop_in_paths")) s.drop_in_paths = j["drop_in_paths"].get<std::vector<std::string>>();
}

const CapturedService* HostCapture::service(const std::string& unit) const {
  for (const auto& s : services)
    if (s.unit == unit) return &s;
  return nullptr;
}

// Which effective values are worth carrying: the ones that decide who is killed
// and what happens next. Type= and TimeoutStopSec= only change how the stand-in
// process runs, and a default (no limit, no protection) says nothing, so those
// are left out; OOMScoreAdjust=, OOMPolicy= and Restart= are always shown, as a
// default there is itself the policy.
std::vector<UnitProperty> settingsFromProperties(const std::map<std::string, DbusValue>& p,
                                                 std::vector<std::string>* skipped) {
  std::map<std::string, std::string> found;
  if (auto v = get<std::int32_t>(p, "OOMScoreAdjust")) found["OOMScoreAdjust"] = std::to_string(*v);
  if (auto v = get<std::string>(p, "OOMPolicy"); v && !v->empty()) found["OOMPolicy"] = *v;
  const auto restart = get<std::string>(p, "Restart");
  if (restart && !restart->empty()) found["Restart"] = *restart;
  if (restart && *restart != "no") {
    if (auto v = get<std::uint64_t>(p, "RestartUSec")) found["RestartSec"] = usecText(*v);
    if (auto v = get<std::uint32_t>(p, "StartLimitBurst")) found["StartLimitBurst"] = std::to_string(*v);
    if (auto v = get<std::uint64_t>(p, "StartLimitIntervalUSec")) found["StartLimitIntervalSec"] = usecText(*v);
  }
  if (auto v = get<std::string>(p, "KillMode"); v && !v->empty() && *v != "control-group") found["KillMode"] = *v;
  for (const char* low : {"MemoryMin", "MemoryLow"})
    if (auto v = get<std::uint64_t>(p, low); v && *v != 0) found[low] = sizeText(*v);
  for (const char* limit : {"MemoryHigh", "MemoryMax", "MemorySwapMax"})
    if (auto v = get<std::uint64_t>(p, limit); v && *v != kInfinity) found[limit] = sizeText(*v);

  std::vector<UnitProperty> out;
  for (const auto& d : supportedDirectives()) {
    const auto it = found.find(std::string(d.directive));
    if (it == found.end()) continue;
    if (toDbusProperty(it->first, it->second)) out.push_back({it->first, it->second});
    else if (skipped) skipped->push_back(it->first + "=" + it->second);
    found.erase(it);
  }
  // Read, but not (yet) in the scenario vocabulary: named, never silently dropped.
  if (skipped)
    for (const auto& [name, value] : found) skipped->push_back(name + "=" + value + " (not a scenario directive)");
  return out;
}

}  // namespace oom
