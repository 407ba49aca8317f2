#include "oom/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "oom/text.hpp"

namespace oom {
namespace {

// Splits "1.5GiB" into 1.5 and "GiB". Returns false when no number leads.
bool splitNumber(std::string_view text, double& number, std::string_view& suffix) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  std::string digits(text.substr(0, i));
  char* end = nullptr;
  number = std::strtod(digits.c_str(), &end);
  if (end != digits.c_str() + digits.size()) return false;
  suffix = text.substr(i);
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  return true;
}

}  // namespace

Expected<std::uint64_t> parseSize(std::string_view text) {
  const std::string_view t = trim(text);
  double number = 0;
  std::string_view suffix;
  const auto expected = "expected a size such as 4096, 512M, 2G or 300MiB";
  if (!splitNumber(t, number, suffix)) return fail("", "'" + std::string(text) + "': " + expected);
  std::uint64_t multiplier = 0;
  std::string s(suffix);
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s.empty() || s == "B") multiplier = 1;
  else if (s == "K" || s == "KB" || s == "KIB") multiplier = KiB;
  else if (s == "M" || s == "MB" || s == "MIB") multiplier = MiB;
  else if (s == "G" || s == "GB" || s == "GIB") multiplier = GiB;
  else if (s == "T" || s == "TB" || s == "TIB") multiplier = 1024 * GiB;
  else return fail("", "'" + std::string(text) + "': unknown unit '" + std::string(suffix) + "', " + expected);
  const double bytes = number * static_cast<double>(multiplier);
  if (!std::isfinite(bytes) || bytes > 1.8e19)
    return fail("", "'" + std::string(text) + "': size too large");
  return static_cast<std::uint64_t>(std::llround(bytes));
}

Expected<Seconds> parseDuration(std::string_view text) {
  const std::string_view t = trim(text);
  double number = 0;
  std::string_view suffix;
  const auto expected = "expected a duration such as 30s, 250ms, 2min or 1h";
  if (!splitNumber(t, number, suffix)) return fail("", "'" + std::string(text) + "': " + expected);
  double scale = 0;
  if (suffix.empty() || suffix == "s" || suffix == "sec") scale = 1;
  else if (suffix == "us" || suffix == "usec") scale = 1e-6;
  else if (suffix == "ms" || suffix == "msec") scale = 1e-3;
  else if (suffix == "m" || suffix == "min") scale = 60;
  else if (suffix == "h" || suffix == "hr") scale = 3600;
  else return fail("", "'" + std::string(text) + "': unknown unit '" + std::string(suffix) + "', " + expected);
  return Seconds(number * scale);
}

Expected<std::uint64_t> parseRate(std::string_view text) {
  std::string_view t = trim(text);
  for (std::string_view per : {"/s", "/sec"}) {
    if (t.size() > per.size() && t.substr(t.size() - per.size()) == per) {
      t.remove_suffix(per.size());
      break;
    }
  }
  auto size = parseSize(t);
  if (!size)
    return fail("", "'" + std::string(text) + "': expected a rate such as 50M/s, 1G/s or 0");
  return *size;
}

Expected<SizeAt> parseSizeAt(std::string_view text) {
  const auto at = text.find('@');
  if (at != std::string_view::npos) {
    auto bytes = parseSize(text.substr(0, at));
    auto when = parseDuration(text.substr(at + 1));
    if (bytes && when) return SizeAt{*bytes, when->count()};
  }
  return fail("", "'" + std::string(text) + "': expected SIZE@TIME such as 200M@30s");
}

std::string formatSizeExact(std::uint64_t bytes) {
  if (bytes == 0) return "0";
  for (auto [unit, suffix] : {std::pair{GiB, "G"}, std::pair{MiB, "M"}, std::pair{KiB, "K"}})
    if (bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
  return std::to_string(bytes);
}

std::string formatDurationExact(Seconds d) {
  const double ms = std::round(d.count() * 1000);
  char buf[64];
  if (std::fmod(ms, 1000) == 0) std::snprintf(buf, sizeof buf, "%.0fs", ms / 1000);
  else std::snprintf(buf, sizeof buf, "%.0fms", ms);
  return buf;
}

std::string formatSizeAt(const SizeAt& spike) {
  return formatSizeExact(spike.bytes) + "@" + formatDurationExact(Seconds(spike.at_sec));
}

std::string formatSize(std::uint64_t bytes) {
  char buf[64];
  struct Unit { std::uint64_t size; const char* name; };
  for (Unit u : {Unit{GiB, "GiB"}, Unit{MiB, "MiB"}, Unit{KiB, "KiB"}}) {
    if (bytes >= u.size) {
      const double v = static_cast<double>(bytes) / static_cast<double>(u.size);
      if (bytes % u.size == 0) std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(bytes / u.size), u.name);
      else std::snprintf(buf, sizeof buf, "%.1f%s", v, u.name);
      return buf;
    }
  }
  std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(bytes));
  return buf;
}

std::string formatDuration(Seconds d) {
  char buf[64];
  const double s = d.count();
  if (s < 1.0) std::snprintf(buf, sizeof buf, "%gms", s * 1e3);
  else if (s < 120.0) std::snprintf(buf, sizeof buf, "%gs", s);
  else std::snprintf(buf, sizeof buf, "%gmin", s / 60.0);
  return buf;
}

std::string formatSince(double t, double origin) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.1fs", t - origin);
  return buf;
}

std::string formatTenths(double seconds) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  return buf;
}

}  // namespace oom
