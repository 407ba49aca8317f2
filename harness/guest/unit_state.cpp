#include "guest/unit_state.hpp"

#include <cstdint>
#include <type_traits>

namespace oom {
namespace {

std::string asString(const DbusValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return "";
}

std::int64_t asNumber(const DbusValue& v) {
  return std::visit(
      [](const auto& x) -> std::int64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return 0;
        else return static_cast<std::int64_t>(x);
      },
      v);
}

}  // namespace

bool applyUnitProperty(UnitStateChange& s, std::string_view name, const DbusValue& value) {
  if (name == "ActiveState") s.ActiveState = asString(value);
  else if (name == "SubState") s.SubState = asString(value);
  else if (name == "Result") s.Result = asString(value);
  else if (name == "InvocationID") s.InvocationID = asString(value);
  else if (name == "NRestarts") s.NRestarts = static_cast<std::uint32_t>(asNumber(value));
  else if (name == "MainPID") s.MainPID = static_cast<int>(asNumber(value));
  else if (name == "ExecMainCode") s.ExecMainCode = static_cast<int>(asNumber(value));
  else if (name == "ExecMainStatus") s.ExecMainStatus = static_cast<int>(asNumber(value));
  else return false;
  return true;
}

bool sameUnitState(const UnitStateChange& a, const UnitStateChange& b) {
  return a.ActiveState == b.ActiveState && a.SubState == b.SubState && a.Result == b.Result &&
         a.NRestarts == b.NRestarts && a.MainPID == b.MainPID && a.InvocationID == b.InvocationID &&
         a.ExecMainCode == b.ExecMainCode && a.ExecMainStatus == b.ExecMainStatus;
}


}  // namespace oom
