#pragma once
// Sizes, durations and rates as people write them in scenarios and on command
// lines: "512M", "2G", "300MiB", "1.5s", "250ms", "2min", "50M/s".
// Sizes use binary multiples (K = KiB = 1024), as systemd's MemoryMax= does.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "oom/expected.hpp"

namespace oom {

using Seconds = std::chrono::duration<double>;

// Bytes; accepts a plain integer, or a number (may be fractional) with one of
// K, M, G, T, optionally followed by "iB" or "B".
Expected<std::uint64_t> parseSize(std::string_view text);

// Accepts a number followed by us, ms, s, sec, m, min, h; a plain number is seconds.
// "infinity" is rejected here: callers that allow it check for it first.
Expected<Seconds> parseDuration(std::string_view text);

// Bytes per second: "SIZE/s" (also "/sec"); a bare SIZE means per second.
Expected<std::uint64_t> parseRate(std::string_view text);

// "SIZE@TIME", e.g. "200M@30s": SIZE more memory at TIME after the stressor
// process starts (its --start-after included, as in its reports' t). The same
// text in a scenario's load.spike and on oomstress's --spike.
struct SizeAt {
  std::uint64_t bytes = 0;
  double at_sec = 0;
  bool operator==(const SizeAt&) const = default;
};
Expected<SizeAt> parseSizeAt(std::string_view text);

// For people: rounded to one decimal.
std::string formatSize(std::uint64_t bytes);  // "512MiB", "1.5GiB", "4096B"
std::string formatDuration(Seconds d);        // "250ms", "1.5s", "2min"
std::string formatTenths(double seconds);     // a measured length: "2.1s", "0.0s"
std::string formatSince(double t, double origin);  // t relative to origin: "+12.3s", "-0.4s"

// For command lines: what parseSize / parseDuration / parseSizeAt read back
// exactly (sizes to the byte, durations to the millisecond).
std::string formatSizeExact(std::uint64_t bytes);  // "150M", "1536K", "2G", "1000", "0"
std::string formatDurationExact(Seconds d);        // "5s", "250ms"
std::string formatSizeAt(const SizeAt& spike);     // "700M@20s"

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

}  // namespace oom
