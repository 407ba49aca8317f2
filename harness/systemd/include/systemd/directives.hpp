#pragma once
// The systemd unit directives a scenario may set, with the D-Bus property each
// becomes in StartTransientUnit (as systemd-run -p does). One table serves the
// scenario validator (host), the plan's systemd-run line, and the guest runner,
// so the vocabulary is the same from scenario file to `systemctl show`.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"

namespace oom {

// One systemd directive as the user wrote it in the scenario ("OOMScoreAdjust", "600").
struct UnitProperty {
  std::string name;
  std::string value;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UnitProperty, name, value)

// A typed D-Bus value: 'i' int32, 'u' uint32, 't' uint64, 'b' bool, 's' string.
using DbusValue = std::variant<std::int32_t, std::uint32_t, std::uint64_t, bool, std::string>;

struct DbusProperty {
  std::string name;       // D-Bus property name, e.g. "RestartUSec" for RestartSec=
  char signature = 's';   // 'i', 'u', 't', 'b' or 's'
  DbusValue value;
};

struct DirectiveInfo {
  std::string_view directive;  // "RestartSec"
  std::string_view accepts;    // human description used in errors: "a time span such as 5s"
  // The section of a service's unit file it belongs in: "Service", or "Unit" for
  // the start-rate limits (StartLimitBurst=, StartLimitIntervalSec=).
  std::string_view section = "Service";
};

// RestartSec= when a unit does not set it: systemd's default, 100ms.
inline constexpr double kDefaultRestartSec = 0.1;

// Every directive a scenario may use, in a stable order (for docs and errors).
const std::vector<DirectiveInfo>& supportedDirectives();
// The entry for `directive`, or nullptr when a scenario may not set it.
const DirectiveInfo* supportedDirective(std::string_view directive);

// Converts "MemoryMax" = "256M" into {"MemoryMax", 't', 268435456}. An error's
// `where` is the directive and its message what it accepts and what it got.
// Values follow systemd: MemoryMax/MemoryHigh/MemorySwapMax accept sizes and
// "infinity"; RestartSec and StartLimitIntervalSec accept time spans; OOMPolicy
// continue|stop|kill; OOMScoreAdjust -1000..1000; Restart no|on-success|
// on-failure|on-abnormal|on-watchdog|on-abort|always; Type simple|exec|notify|forking|oneshot;
// Slice a slice name; Delegate a boolean; ManagedOOMSwap and ManagedOOMMemoryPressure
// auto|kill; ManagedOOMMemoryPressureLimit a percentage (D-Bus: scaled to 2^32-1 = 100%,
// as systemd passes it); ManagedOOMPreference none|avoid|omit.
Expected<DbusProperty> toDbusProperty(std::string_view directive, std::string_view value);

// A D-Bus value as systemd's setup record shows it: "600", "kill", "yes", "18446744073709551615".
std::string formatDbusValue(const DbusValue& value);

// The OOMScoreAdjust= these properties set, as systemd reads it (the last one wins);
// 0, systemd's default, when none does. The one reading the host and the guest share.
int oomScoreAdjustOf(const std::vector<UnitProperty>& properties);

}  // namespace oom
