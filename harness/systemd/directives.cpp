// The directive table: scenario key -> D-Bus property of StartTransientUnit,
// with the value rules systemd itself applies (systemd 252, src/core/dbus-*.c
// and src/shared/bus-unit-util.c, which is what `systemd-run -p` uses).
#include "systemd/directives.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "oom/text.hpp"
#include "oom/units.hpp"
#include "systemd/unit_file.hpp"
#include "systemd/unit_values.hpp"

namespace oom {
namespace {

using Converter = std::function<Expected<DbusProperty>(std::string_view value)>;

struct Directive {
  DirectiveInfo info;
  Converter convert;
};

constexpr std::uint64_t kInfinity = std::numeric_limits<std::uint64_t>::max();

Expected<DbusProperty> bad(std::string_view directive, std::string_view accepts,
                           std::string_view value) {
  // The directive is the place; the caller adds the file and path it was read from.
  // The value may be most of a line of a file that is not a unit file: an excerpt only.
  return fail(std::string(directive), "expected " + std::string(accepts) + "; got \"" + unitTextExcerpt(value) + "\"");
}

Converter oneOf(std::string_view directive, std::string_view dbus_name,
                std::vector<std::string_view> choices, std::string_view accepts) {
  return [=](std::string_view value) -> Expected<DbusProperty> {
    for (auto choice : choices)
      if (value == choice) return DbusProperty{std::string(dbus_name), 's', std::string(value)};
    return bad(directive, accepts, value);
  };
}

// Sizes in bytes ('t'); "infinity" is UINT64_MAX as systemd stores it.
// Percentages become MemoryMaxScale in systemd-run: not supported here on purpose.
Converter size(std::string_view directive, std::string_view accepts) {
  return [=](std::string_view value) -> Expected<DbusProperty> {
    if (value == "infinity") return DbusProperty{std::string(directive), 't', kInfinity};
    if (value.empty() || value.back() == '%') return bad(directive, accepts, value);
    auto bytes = parseSize(value);
    if (!bytes) return bad(directive, accepts, value);
    return DbusProperty{std::string(directive), 't', *bytes};
  };
}

// Time spans in microseconds ('t'), the *USec properties.
Converter timespan(std::string_view directive, std::string_view dbus_name, bool allow_infinity,
                   std::string_view accepts) {
  return [=](std::string_view value) -> Expected<DbusProperty> {
    if (allow_infinity && value == "infinity")
      return DbusProperty{std::string(dbus_name), 't', kInfinity};
    auto d = parseDuration(value);
    if (!d || d->count() < 0) return bad(directive, accepts, value);
    // systemd counts microseconds in a uint64_t; a span that does not fit (400
    // digits parse as infinity) would make the conversion undefined.
    const double usec = d->count() * 1e6 + 0.5;
    if (!std::isfinite(usec) || usec >= 0x1p64)
      return bad(directive, std::string(accepts) + ", at most 2^64-1 microseconds" +
                                (allow_infinity ? " (or infinity)" : ""), value);
    return DbusProperty{std::string(dbus_name), 't', static_cast<std::uint64_t>(usec)};
  };
}

// A whole-text integer; systemd (safe_atoi) also takes a leading '+'.
bool parseInteger(std::string_view text, long long& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const auto n = parseNumber<long long>(text);
  if (n) out = *n;
  return n.has_value();
}

// A slice unit name: letters, digits and :_.-\ then ".slice"; dashes separate the
// levels of the tree, so none at either end and never two in a row (unit_name_is_valid
// and slice_name_is_valid in systemd).
bool validSliceName(std::string_view name) {
  constexpr std::string_view suffix = ".slice";
  if (name.size() <= suffix.size() || name.size() > 255 || name.substr(name.size() - suffix.size()) != suffix)
    return false;
  const std::string_view stem = name.substr(0, name.size() - suffix.size());
  for (char c : stem)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
          c == '.' || c == '-' || c == '\\'))
      return false;
  if (stem == "-") return true;  // the root slice
  return stem.front() != '-' && stem.back() != '-' && stem.find("--") == std::string_view::npos;
}

// "60%" or "12.25%" (at most two decimals) as parts per ten thousand, at most 10000:
// systemd's parse_permyriad() for the percent form.
std::optional<unsigned> parsePermyriad(std::string_view value) {
  if (value.size() < 2 || value.back() != '%') return std::nullopt;
  value.remove_suffix(1);
  const auto dot = value.find('.');
  const std::string_view whole = value.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : value.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 3 || !digits(whole) || frac.size() > 2 || !digits(frac) ||
      (dot != std::string_view::npos && frac.empty()))
    return std::nullopt;
  unsigned n = 0;
  for (char c : whole) n = n * 10 + static_cast<unsigned>(c - '0');
  n *= 100;
  if (!frac.empty()) n += static_cast<unsigned>(frac[0] - '0') * 10;
  if (frac.size() == 2) n += static_cast<unsigned>(frac[1] - '0');
  if (n > 10000) return std::nullopt;
  return n;
}

const std::vector<Directive>& table() {
  static const std::vector<Directive> directives = [] {
    std::vector<Directive> d;
    auto add = [&](std::string_view name, std::string_view accepts, Converter c,
                   std::string_view section = "Service") {
      d.push_back(Directive{DirectiveInfo{name, accepts, section}, std::move(c)});
    };
    add("Type", "one of simple, exec, notify, forking, oneshot",
        oneOf("Type", "Type", {"simple", "exec", "notify", "forking", "oneshot"},
              "one of simple, exec, notify, forking, oneshot"));
    add("NotifyAccess", "one of none, main, exec, all",
        oneOf("NotifyAccess", "NotifyAccess", {"none", "main", "exec", "all"}, "one of none, main, exec, all"));
    add("OOMScoreAdjust", "an integer from -1000 to 1000",
        [](std::string_view value) -> Expected<DbusProperty> {
          // systemd's own grammar (safe_atoi), the one unit files are read with.
          const auto n = parseOomScoreAdjust(value);
          if (!n) return bad("OOMScoreAdjust", "an integer from -1000 to 1000", value);
          return DbusProperty{"OOMScoreAdjust", 'i', static_cast<std::int32_t>(*n)};
        });
    add("OOMPolicy", "one of continue, stop, kill",
        oneOf("OOMPolicy", "OOMPolicy", {"continue", "stop", "kill"}, "one of continue, stop, kill"));
    constexpr std::string_view restarts =
        "one of no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always";
    add("Restart", restarts,
        oneOf("Restart", "Restart",
              {"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"},
              restarts));
    add("RestartSec", "a time span such as 5s, 500ms or 1min",
        timespan("RestartSec", "RestartUSec", false, "a time span such as 5s, 500ms or 1min"));
    add("StartLimitBurst", "a non-negative integer",
        [](std::string_view value) -> Expected<DbusProperty> {
          long long n = 0;
          if (!parseInteger(value, n) || n < 0 || n > std::numeric_limits<std::uint32_t>::max())
            return bad("StartLimitBurst", "a non-negative integer", value);
          return DbusProperty{"StartLimitBurst", 'u', static_cast<std::uint32_t>(n)};
        },
        "Unit");
    add("StartLimitIntervalSec", "a time span such as 10s or 1min, or infinity",
        timespan("StartLimitIntervalSec", "StartLimitIntervalUSec", true,
                 "a time span such as 10s or 1min, or infinity"),
        "Unit");
    add("TimeoutStopSec", "a time span such as 5s or 1min, or infinity",
        timespan("TimeoutStopSec", "TimeoutStopUSec", true,
                 "a time span such as 5s or 1min, or infinity"));
    add("KillMode", "one of control-group, mixed, process, none",
        oneOf("KillMode", "KillMode", {"control-group", "mixed", "process", "none"},
              "one of control-group, mixed, process, none"));
    constexpr std::string_view sizes = "a size such as 256M or 1G (K, M, G = 1024-based), or infinity";
    for (std::string_view mem : {"MemoryMin", "MemoryLow", "MemoryHigh", "MemoryMax", "MemorySwapMax"})
      add(mem, sizes, size(mem, sizes));
    constexpr std::string_view slice = "a slice unit name such as batch.slice or app-web.slice";
    add("Slice", slice, [=](std::string_view value) -> Expected<DbusProperty> {
      if (!validSliceName(value)) return bad("Slice", slice, value);
      return DbusProperty{"Slice", 's', std::string(value)};
    });
    constexpr std::string_view boolean = "a boolean: yes, no, true, false, on, off, 1 or 0";
    add("Delegate", boolean, [=](std::string_view value) -> Expected<DbusProperty> {
      for (std::string_view yes : {"yes", "true", "on", "1", "y", "t"})
        if (value == yes) return DbusProperty{"Delegate", 'b', true};
      for (std::string_view no : {"no", "false", "off", "0", "n", "f"})
        if (value == no) return DbusProperty{"Delegate", 'b', false};
      return bad("Delegate", std::string(boolean) + " (a list of controllers is not supported)", value);
    });
    for (std::string_view mode : {"ManagedOOMSwap", "ManagedOOMMemoryPressure"})
      add(mode, "one of auto, kill", oneOf(mode, mode, {"auto", "kill"}, "one of auto, kill"));
    constexpr std::string_view share = "a percentage from 0% to 100% such as 60% or 12.5%";
    add("ManagedOOMMemoryPressureLimit", share, [=](std::string_view value) -> Expected<DbusProperty> {
      const auto permyriad = parsePermyriad(value);
      if (!permyriad) return bad("ManagedOOMMemoryPressureLimit", share, value);
      // systemd's UINT32_SCALE_FROM_PERMYRIAD: 100% is 2^32-1, rounded to nearest.
      const std::uint64_t scaled =
          (static_cast<std::uint64_t>(*permyriad) * std::numeric_limits<std::uint32_t>::max() + 5000) / 10000;
      return DbusProperty{"ManagedOOMMemoryPressureLimit", 'u', static_cast<std::uint32_t>(scaled)};
    });
    add("ManagedOOMPreference", "one of none, avoid, omit",
        oneOf("ManagedOOMPreference", "ManagedOOMPreference", {"none", "avoid", "omit"},
              "one of none, avoid, omit"));
    return d;
  }();
  return directives;
}

}  // namespace

const DirectiveInfo* supportedDirective(std::string_view directive) {
  for (const auto& d : supportedDirectives())
    if (d.directive == directive) return &d;
  return nullptr;
}

const std::vector<DirectiveInfo>& supportedDirectives() {
  static const std::vector<DirectiveInfo> infos = [] {
    std::vector<DirectiveInfo> v;
    for (const auto& d : table()) v.push_back(d.info);
    return v;
  }();
  return infos;
}

Expected<DbusProperty> toDbusProperty(std::string_view directive, std::string_view value) {
  for (const auto& d : table())
    if (d.info.directive == directive) return d.convert(value);
  std::string names;
  for (const auto& d : table()) names += (names.empty() ? "" : ", ") + std::string(d.info.directive);
  return fail("", "unknown directive \"" + std::string(directive) + "\"; supported: " + names);
}

int oomScoreAdjustOf(const std::vector<UnitProperty>& properties) {
  int adj = 0;
  for (const auto& p : properties)
    if (p.name == "OOMScoreAdjust")
      if (const auto n = parseOomScoreAdjust(p.value)) adj = *n;
  return adj;
}

std::string formatDbusValue(const DbusValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x ? "yes" : "no";
        else if constexpr (std::is_same_v<T, std::string>) return x;
        else return std::to_string(x);
      },
      v);
}

}  // namespace oom
