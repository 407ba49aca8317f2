// Values of the OOM-relevant directives as systemd parses them: OOMScoreAdjust,
// OOMPolicy, Restart and KillMode through the scenario's directive table (the same
// rules), Type and the Memory*= sizes here.
#include "systemd/unit_values.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <tuple>

#include "oom/text.hpp"
#include "systemd/directives.hpp"

namespace oom {
namespace {

const std::vector<std::string_view> kMemoryDirectives = {"MemoryMin", "MemoryLow", "MemoryHigh",
                                                         "MemoryMax", "MemorySwapMax"};

const std::vector<UnitDirectiveInfo>& directives() {
  static const std::vector<UnitDirectiveInfo> known = [] {
    std::vector<UnitDirectiveInfo> k = {
        {"OOMScoreAdjust", {"service", "socket", "mount", "swap"}},
        {"OOMPolicy", {"service", "scope"}},
        {"Restart", {"service"}},
        {"Type", {"service"}},
        {"KillMode", {"service", "socket", "mount", "swap", "scope"}},
        {"ManagedOOMPreference", {"service", "socket", "mount", "swap", "scope", "slice"}},
    };
    for (auto m : kMemoryDirectives)
      k.push_back({m, {"service", "socket", "mount", "swap", "scope", "slice"}});
    return k;
  }();
  return known;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// A share of physical memory, as systemd's parse_permyriad() reads it: "N%" with at most
// two decimals, "N‰" with at most one, "N‱" whole; at most 100%. "" when accepted.
std::string shareProblem(std::string_view key, std::string_view v, std::string_view sign,
                         std::size_t decimals, double max) {
  v.remove_suffix(sign.size());
  const auto dot = v.find('.');
  const auto whole = v.substr(0, dot);
  const auto frac = dot == std::string_view::npos ? std::string_view{} : v.substr(dot + 1);
  if (whole.empty() || !std::all_of(whole.begin(), whole.end(), isDigit) ||
      frac.size() > decimals || !std::all_of(frac.begin(), frac.end(), isDigit) ||
      (dot != std::string_view::npos && frac.empty()))
    return "a share of memory is a number then %, ‰ or ‱ (at most 2, 1 or 0 decimals)";
  const auto n = parseNumber<double>(v);
  if (!n || *n > max) return "a share of memory must be at most 100%";
  if (*n == 0 && (key == "MemoryMax" || key == "MemoryHigh"))
    return "out of range: 0 leaves the unit no memory";
  return "";
}

// systemd's config_parse_memory_limit(): "infinity", a share of physical memory, or
// parse_size(base 1024): one or more parts "NUMBER[.FRACTION] [SUFFIX]", SUFFIX one of
// E P T G M K B or none, each part's suffix smaller than the one before ("2G512M"),
// blanks allowed around the number. So "1GiB", "1GB" and "512M2G" are refused.
// 0 is out of range for MemoryMax= and MemoryHigh=. Returns "" when systemd accepts it.
std::string memoryValueProblem(std::string_view key, std::string_view v) {
  if (v == "infinity") return "";
  if (v.back() == '%') return shareProblem(key, v, "%", 2, 100);
  for (const auto& [sign, decimals, max] :
       {std::tuple<std::string_view, std::size_t, double>{"\u2030", 1, 1000},
        std::tuple<std::string_view, std::size_t, double>{"\u2031", 0, 10000}})
    if (v.size() > sign.size() && v.substr(v.size() - sign.size()) == sign)
      return shareProblem(key, v, sign, decimals, max);
  static constexpr std::string_view suffixes = "EPTGMKB";
  constexpr std::string_view expected =
      "expected a size such as 512M or 2G (K, M, G, T = 1024-based; no \"iB\" or \"MB\"), a "
      "percentage or infinity";
  long double total = 0;
  std::size_t next_suffix = 0;  // parts must go from larger suffixes to smaller
  std::string_view rest = v;
  while (!rest.empty()) {
    rest = skipBlanks(rest);
    std::size_t i = 0;
    while (i < rest.size() && isDigit(rest[i])) ++i;
    if (i == 0) return std::string(expected);
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      while (i < rest.size() && isDigit(rest[i])) ++i;
    }
    const auto n = parseNumber<double>(rest.substr(0, i).back() == '.' ? rest.substr(0, i - 1)
                                                                       : rest.substr(0, i));
    if (!n) return std::string(expected);
    rest = skipBlanks(rest.substr(i));
    // As parse_size() walks its table E P T G M K B "": the first entry at or after the
    // previous part's that starts the rest; "" (no suffix) matches whatever follows.
    constexpr std::size_t kNoSuffix = suffixes.size();
    const auto at = rest.empty() ? std::string_view::npos : suffixes.find(rest.front());
    std::size_t index = kNoSuffix;
    if (at != std::string_view::npos && at >= next_suffix) {
      index = at;
      rest.remove_prefix(1);
    } else if (at != std::string_view::npos || next_suffix > kNoSuffix) {
      return std::string(expected) + " (the parts of a size go from larger units to smaller)";
    }
    long double factor = 1;
    for (std::size_t k = index; k + 1 < suffixes.size(); ++k) factor *= 1024;
    next_suffix = index + 1;
    total += static_cast<long double>(*n) * factor;
  }
  if (total >= 18446744073709551615.0L) return "out of range: larger than 2^64-1 bytes";
  if (total < 1 && (key == "MemoryMax" || key == "MemoryHigh"))
    return "out of range: 0 leaves the unit no memory";
  return "";
}

}  // namespace

const UnitDirectiveInfo* oomUnitDirective(std::string_view key) {
  for (const auto& d : directives())
    if (d.key == key) return &d;
  return nullptr;
}

std::string unitSection(std::string_view type) {
  if (type.empty()) return "";
  std::string section(type);
  if (section[0] >= 'a' && section[0] <= 'z')
    section[0] = static_cast<char>(section[0] - 'a' + 'A');
  return section;
}

// What is wrong with `value` for its directive, or "" (empty values are resets, always fine).
std::optional<int> parseOomScoreAdjust(std::string_view value) {
  // safe_atoi(): strtol() with base 0 over the whole text, so "+500", "0x1f4" and "0764" count.
  const std::string text(value);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text.c_str(), &end, 0);
  if (errno != 0 || end != text.c_str() + text.size() || n < -1000 || n > 1000) return std::nullopt;
  return static_cast<int>(n);
}

std::string unitValueProblem(std::string_view key, std::string_view value) {
  if (!oomUnitDirective(key)) return "";
  if (value.empty()) {
    // Enumerations (systemd's DEFINE_CONFIG_PARSE_ENUM) refuse "", where sizes and
    // OOMScoreAdjust= take it as a reset to the default.
    static const std::set<std::string_view> enums = {"Restart", "OOMPolicy", "Type", "KillMode",
                                                     "ManagedOOMPreference"};
    return enums.count(key)
               ? "an empty value does not reset " + std::string(key) + "=: systemd cannot parse it"
               : "";
  }
  if (key == "OOMScoreAdjust")
    return parseOomScoreAdjust(value) ? "" : "expected an integer from -1000 to 1000";
  if (key == "Type") {
    static const std::set<std::string, std::less<>> types = {
        "simple", "exec", "forking", "oneshot", "dbus", "notify", "notify-reload", "idle"};
    return types.count(value) ? ""
                              : "expected one of simple, exec, forking, oneshot, dbus, notify, "
                                "notify-reload, idle";
  }
  if (std::find(kMemoryDirectives.begin(), kMemoryDirectives.end(), key) != kMemoryDirectives.end())
    return memoryValueProblem(key, value);
  auto converted = toDbusProperty(key, value);
  if (converted) return "";
  const std::string& message = converted.error().message;  // "expected ...; got \"x\""
  const auto got = message.rfind("; got ");  // the value is already shown
  return got == std::string::npos ? message : message.substr(0, got);
}

}  // namespace oom
