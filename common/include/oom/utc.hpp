#pragma once
// The host's wall clock as UTC text: ISO 8601 for records (image.json,
// result.json), compact for folder names (results/<yyyymmddThhmmssZ>-...).
#include <string>

namespace oom {
constexpr const char* kIsoUtc = "%Y-%m-%dT%H:%M:%SZ";
constexpr const char* kCompactUtc = "%Y%m%dT%H%M%SZ";
std::string utcNow(const char* strftime_format = kIsoUtc);
}  // namespace oom
