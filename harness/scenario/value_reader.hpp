#pragma once
// The scenario parser's value grammar (internal to this stage): a Reader walks the
// document keeping the JSON path of each value and every error found; parse.cpp
// reads the scenario with it, parse_expect.cpp its expectations.
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/json_reader.hpp"
#include "oom/files.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "scenario/limits.hpp"
#include "scenario/parse.hpp"

namespace oom::detail {

using Json = ScenarioJson;

// The keys an object of the schema's $defs accepts (parse.cpp's table).
const ObjectKeys& keysOf(std::string_view def);

inline std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

inline std::string shown(const Json& v) {
  std::string s = printable(v.dump(-1, ' ', false, Json::error_handler_t::replace));
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// User text inside a message: quoted, escaped, at most 60 bytes.
inline std::string quotedText(const std::string& text) { return shown(Json(text)); }

inline std::string durationLimit() {
  const auto seconds = static_cast<long long>(limits::kMaxDurationSec);
  return std::to_string(seconds / 3600) + "h (" + std::to_string(seconds) + "s)";
}


// Walks the document, keeping the JSON path and every error found.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  // Messages quote the file's text; whatever slipped through is escaped and cut
  // here, so no error can carry a control character or a megabyte to the terminal.
  // `kind`: input unless the file is fine and the host could not look (setup).
  void error(const std::string& path, const std::string& message, ErrorKind kind = ErrorKind::input) {
    std::string m = printable(message);
    if (m.size() > kMaxMessageBytes) m = m.substr(0, kMaxMessageBytes) + "...";
    errors_.add(Error{source_ + ": " + path, std::move(m), kind, path});
  }
  std::vector<Error> takeErrors() { return errors_.take(source_); }
  const std::string& source() const { return source_; }

  static std::string key(const std::string& path, const std::string& k) { return jsonPathKey(path, k); }
  static std::string index(const std::string& path, std::size_t i) { return jsonPathIndex(path, i); }

  // Free text (description, why): non-empty and at most limits::kMaxTextBytes.
  std::optional<std::string> text(const Json& v, const std::string& path) {
    auto s = string(v, path);
    if (s && s->size() > limits::kMaxTextBytes) {
      error(path, "expected at most " + std::to_string(limits::kMaxTextBytes) + " bytes of text; got " +
                      std::to_string(s->size()));
      return std::nullopt;
    }
    return s;
  }

  // A size from lo to hi; `range` says so in words ("from 256MiB to 64GiB").
  std::optional<std::uint64_t> size(const Json& v, const std::string& path, std::uint64_t lo,
                                    std::uint64_t hi, const std::string& range) {
    auto bytes = size(v, path);
    if (bytes && (*bytes < lo || *bytes > hi)) {
      error(path, "expected a size " + range + "; got " + shown(v) + " (" + formatSize(*bytes) + ")");
      return std::nullopt;
    }
    return bytes;
  }

  // Checks object-ness, unknown and missing keys. Returns false if not an object.
  bool object(const Json& v, const std::string& path, std::string_view def) {
    if (!v.is_object()) {
      error(path, "expected an object; got " + shown(v));
      return false;
    }
    const auto& keys = keysOf(def);
    for (const auto& [k, _] : v.items()) {
      if (std::find(keys.properties.begin(), keys.properties.end(), k) == keys.properties.end())
        error(key(path, k), "unknown key; expected one of " + join(keys.properties));
    }
    for (const auto& r : keys.required)
      if (!v.contains(r)) error(key(path, r), "missing; this key is required");
    return true;
  }

  std::optional<std::string> string(const Json& v, const std::string& path, bool non_empty = true) {
    if (!v.is_string()) {
      error(path, "expected a string; got " + shown(v));
      return std::nullopt;
    }
    auto s = v.get<std::string>();
    if (non_empty && s.empty()) {
      error(path, "expected a non-empty string");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> boolean(const Json& v, const std::string& path) {
    if (!v.is_boolean()) {
      error(path, "expected true or false; got " + shown(v));
      return std::nullopt;
    }
    return v.get<bool>();
  }

  std::optional<std::uint64_t> count(const Json& v, const std::string& path, std::uint64_t lo,
                                     std::uint64_t hi) {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < lo || v.get<std::uint64_t>() > hi) {
      error(path, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                      "; got " + shown(v));
      return std::nullopt;
    }
    return v.get<std::uint64_t>();
  }

  // A size: a string such as "512M" or a number of bytes.
  std::optional<std::uint64_t> size(const Json& v, const std::string& path) {
    const std::string expected = "expected a size such as \"512M\", \"1G\", \"0\" or a number of bytes";
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (!v.is_string()) {
      error(path, expected + "; got " + shown(v));
      return std::nullopt;
    }
    auto bytes = parseSize(v.get<std::string>());
    if (!bytes) error(path, expected + "; got " + shown(v));
    return bytes ? std::optional(*bytes) : std::nullopt;
  }

  // A rate of at most limits::kMaxRateBytesPerSec.
  std::optional<std::uint64_t> rate(const Json& v, const std::string& path) {
    const std::string expected = "expected a rate such as \"20M/s\" or \"0\"";
    std::optional<std::uint64_t> r;
    if (v.is_number_unsigned()) {
      r = v.get<std::uint64_t>();
    } else if (v.is_string()) {
      if (auto parsed = parseRate(v.get<std::string>())) r = *parsed;
    }
    if (!r) {
      error(path, expected + "; got " + shown(v));
      return std::nullopt;
    }
    if (*r > limits::kMaxRateBytesPerSec) {
      error(path, "expected a rate of at most " + formatSize(limits::kMaxRateBytesPerSec) + "/s; got " +
                      shown(v) + " (" + formatSize(*r) + "/s)");
      return std::nullopt;
    }
    return r;
  }

  // A duration: a string such as "30s" or a number of seconds, from 0 to
  // limits::kMaxDurationSec (so never infinite: "1000...0s" with 400 digits is refused).
  std::optional<double> duration(const Json& v, const std::string& path) {
    const std::string expected = "expected a duration such as \"30s\", \"500ms\" or \"2min\"";
    std::optional<double> seconds;
    if (v.is_number()) {
      seconds = v.get<double>();
    } else if (v.is_string()) {
      if (auto d = parseDuration(v.get<std::string>())) seconds = d->count();
    }
    if (!seconds || std::isnan(*seconds) || *seconds < 0) {
      error(path, expected + "; got " + shown(v));
      return std::nullopt;
    }
    if (!withinDurationLimit(*seconds, path, shown(v))) return std::nullopt;
    return seconds;
  }

  // Any duration the file gives (also the TIME of a spike) is finite and at most the limit.
  bool withinDurationLimit(double seconds, const std::string& path, const std::string& as_written) {
    if (std::isfinite(seconds) && seconds <= limits::kMaxDurationSec) return true;
    error(path, "expected a duration of at most " + durationLimit() + "; got " + as_written);
    return false;
  }

  // An exact count or {"min": a, "max": b}.
  std::optional<CountRange> range(const Json& v, const std::string& path) {
    if (v.is_number_unsigned()) return CountRange{v.get<std::uint64_t>(), v.get<std::uint64_t>()};
    if (!v.is_object()) {
      error(path, "expected a count (e.g. 0) or a range {\"min\": 1, \"max\": 5}; got " + shown(v));
      return std::nullopt;
    }
    if (!object(v, path, "countRange")) return std::nullopt;
    CountRange r;
    const auto limit = std::numeric_limits<std::uint32_t>::max();
    if (v.contains("min")) r.min = count(v["min"], key(path, "min"), 0, limit);
    if (v.contains("max")) r.max = count(v["max"], key(path, "max"), 0, limit);
    if (!v.contains("min") && !v.contains("max"))
      error(path, "expected at least one of min, max");
    if (r.min && r.max && *r.min > *r.max)
      error(path, "min " + std::to_string(*r.min) + " is greater than max " + std::to_string(*r.max));
    return r;
  }

  std::vector<std::string> names(const Json& v, const std::string& path) {
    std::vector<std::string> out;
    if (!v.is_array()) {
      error(path, "expected an array of service names; got " + shown(v));
      return out;
    }
    if (v.size() > limits::kMaxServices) {
      error(path, "expected at most " + std::to_string(limits::kMaxServices) +
                      " service names (there are at most that many services); got " +
                      std::to_string(v.size()));
      return out;
    }
    for (std::size_t i = 0; i < v.size(); ++i)
      if (auto s = string(v[i], index(path, i))) out.push_back(*s);
    return out;
  }

 private:
  static constexpr std::size_t kMaxMessageBytes = 400;
  std::string source_;
  ErrorList errors_;
};


// parse_expect.cpp: the scenario's `expect`, once its services are read.
void readExpect(Reader& r, const Json& v, Scenario& s);
// parse_probes.cpp: the scenario's `probes`, once its services are read.
void readProbes(Reader& r, const Json& v, Scenario& s);

}  // namespace oom::detail
