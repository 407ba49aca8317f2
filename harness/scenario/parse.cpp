#include "scenario/parse.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "json_reader.hpp"
#include "oom/files.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "systemd/directives.hpp"
#include "scenario/budget.hpp"
#include "scenario/limits.hpp"
#include "scenario/lint.hpp"
#include "scenario/unit_sources.hpp"

namespace oom {
namespace {

using Json = ScenarioJson;

// An object's keys: the expectations of its scope (expectations.def), then its own.
std::vector<std::string> withExpectationKeys(ExpectationScope scope, std::vector<std::string> own) {
  auto keys = expectationKeys(scope);
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

const std::vector<ObjectKeys> kKeys = {
    {"scenario",
     {"$schema", "name", "description", "guest", "time_limit", "settle", "services", "systemd_oomd", "expect"},
     {"name", "description", "services", "expect"}},
    {"guest", {"release", "memory", "cpus", "swap", "swap_kind", "swappiness"}, {}},
    {"service", {"name", "why", "unit_file", "drop_ins", "unit", "load"}, {"name", "why", "load"}},
    {"load",
     {"baseline", "processes", "rate", "leak", "spike", "hold", "start_after", "sawtooth",
      "checkpoint", "compress_ratio"},
     {"baseline"}},
    {"expect", withExpectationKeys(ExpectationScope::scenario, {"units", "restart_grace", "half_alive_grace",
                                                                 "allow_collateral"}),
     {}},
    {"unitExpectation", withExpectationKeys(ExpectationScope::unit, {}), {}},
    {"countRange", {"min", "max"}, {}},
    {"systemdOomd", {"SwapUsedLimit", "DefaultMemoryPressureLimit", "DefaultMemoryPressureDurationSec"}, {}},
};

const ObjectKeys& keysOf(std::string_view def) {
  for (const auto& k : kKeys)
    if (k.def == def) return k;
  throw std::logic_error("no key table for " + std::string(def));
}

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

std::string shown(const Json& v) {
  std::string s = printable(v.dump(-1, ' ', false, Json::error_handler_t::replace));
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// User text inside a message: quoted, escaped, at most 60 bytes.
std::string quotedText(const std::string& text) { return shown(Json(text)); }

std::string durationLimit() {
  const auto seconds = static_cast<long long>(limits::kMaxDurationSec);
  return std::to_string(seconds / 3600) + "h (" + std::to_string(seconds) + "s)";
}


// Walks the document, keeping the JSON path and every error found.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  // Messages quote the file's text; whatever slipped through is escaped and cut
  // here, so no error can carry a control character or a megabyte to the terminal.
  void error(const std::string& path, const std::string& message) {
    std::string m = printable(message);
    if (m.size() > kMaxMessageBytes) m = m.substr(0, kMaxMessageBytes) + "...";
    errors_.add(Error{source_ + ": " + path, std::move(m)});
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

bool validUnitStem(const std::string& name) {
  return !name.empty() && name.size() <= 200 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' ||
                  c == '.' || c == '-' || c == '\\';
         });
}

void readGuest(Reader& r, const Json& v, GuestSpec& guest) {
  const std::string path = "$.guest";
  if (!r.object(v, path, "guest")) return;
  if (v.contains("release")) {
    if (auto s = r.string(v["release"], path + ".release")) {
      if (!isSupportedRelease(*s))
        r.error(path + ".release", "expected one of " + join(supportedReleases()) + "; got \"" + *s + "\"");
      else guest.release = *s;
    }
  }
  if (v.contains("memory"))
    if (auto b = r.size(v["memory"], path + ".memory", limits::kMinGuestMemoryBytes,
                        limits::kMaxGuestMemoryBytes,
                        "from " + formatSize(limits::kMinGuestMemoryBytes) + " to " +
                            formatSize(limits::kMaxGuestMemoryBytes)))
      guest.memory_bytes = *b;
  if (v.contains("cpus"))
    if (auto n = r.count(v["cpus"], path + ".cpus", 1, limits::kMaxGuestCpus))
      guest.cpus = static_cast<unsigned>(*n);
  if (v.contains("swap"))
    if (auto b = r.size(v["swap"], path + ".swap", 0, limits::kMaxGuestSwapBytes,
                        "of at most " + formatSize(limits::kMaxGuestSwapBytes)))
      guest.swap_bytes = *b;
  if (v.contains("swap_kind"))
    if (auto k = r.string(v["swap_kind"], path + ".swap_kind")) {
      if (*k != kSwapDisk && *k != kSwapZram)
        r.error(path + ".swap_kind", std::string("expected \"") + kSwapDisk + "\" or \"" + kSwapZram + "\"; got \"" +
                                         *k + "\"");
      else if (*k == kSwapZram && guest.swap_bytes == 0)
        r.error(path + ".swap_kind", "zram needs a size: set guest.swap above 0");
      else
        guest.swap_kind = *k;
    }
  // vm.swappiness: 0 to 200 since Linux 5.8 (both guest kernels).
  if (v.contains("swappiness"))
    if (auto n = r.count(v["swappiness"], path + ".swappiness", 0, 200)) guest.swappiness = static_cast<int>(*n);
}

void readUnit(Reader& r, const Json& v, const std::string& path, ServiceSpec& service) {
  if (!v.is_object()) {
    r.error(path, "expected an object of systemd directives such as {\"OOMScoreAdjust\": 500}; got " +
                      shown(v));
    return;
  }
  std::vector<std::string> supported;
  for (const auto& d : supportedDirectives()) supported.emplace_back(d.directive);
  for (const auto& [directive, value] : v.items()) {
    const std::string where = Reader::key(path, directive);
    if (std::find(supported.begin(), supported.end(), directive) == supported.end()) {
      r.error(where, "unknown directive; supported: " + join(supported));
      continue;
    }
    std::string text;
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_number_integer()) text = value.dump();
    else if (value.is_number_float() && std::abs(value.get<double>()) < 0x1p53 &&
             value.get<double>() == std::trunc(value.get<double>()))
      text = std::to_string(static_cast<long long>(value.get<double>()));
    else {
      r.error(where, "expected a string or an integer; got " + shown(value));
      continue;
    }
    auto prop = toDbusProperty(directive, text);
    if (!prop) {
      // toDbusProperty names the directive; the path already does.
      std::string message = prop.error().message;
      const std::string prefix = directive + ": ";
      if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
      r.error(where, message);
      continue;
    }
    service.unit.push_back(UnitProperty{directive, text});
  }
}

std::optional<Spike> readSpike(Reader& r, const Json& v, const std::string& path) {
  const std::string expected = "expected null or \"SIZE@TIME\" such as \"200M@30s\"";
  std::optional<Spike> spike;
  if (v.is_string())
    if (auto parsed = parseSizeAt(v.get<std::string>())) spike = *parsed;
  if (!spike || spike->bytes == 0 || spike->at_sec < 0) {
    r.error(path, expected + "; got " + shown(v));
    return std::nullopt;
  }
  return spike;
}

void readLoad(Reader& r, const Json& v, const std::string& path, const GuestSpec& guest, Load& load) {
  if (!r.object(v, path, "load")) return;
  if (v.contains("baseline"))
    if (auto b = r.size(v["baseline"], path + ".baseline", 0, guest.memory_bytes,
                        "of at most the guest memory, " + formatSize(guest.memory_bytes)))
      load.baseline_bytes = *b;
  if (v.contains("processes"))
    if (auto n = r.count(v["processes"], path + ".processes", 1, limits::kMaxProcessesPerService))
      load.processes = static_cast<unsigned>(*n);
  if (v.contains("rate"))
    if (auto x = r.rate(v["rate"], path + ".rate")) load.rate_bytes_per_sec = *x;
  if (v.contains("leak"))
    if (auto x = r.rate(v["leak"], path + ".leak")) load.leak_bytes_per_sec = *x;
  if (v.contains("spike") && !v["spike"].is_null()) {
    load.spike = readSpike(r, v["spike"], path + ".spike");
    const std::uint64_t most = saturatingAdd(guest.memory_bytes, guest.swap_bytes);
    if (load.spike && load.spike->bytes > most) {
      r.error(path + ".spike", "expected a SIZE of at most the guest memory and swap, " +
                                   formatSize(most) + "; got " + shown(v["spike"]));
      load.spike.reset();
    } else if (load.spike && !r.withinDurationLimit(load.spike->at_sec, path + ".spike", shown(v["spike"]))) {
      load.spike.reset();
    }
  }
  if (v.contains("hold") && !v["hold"].is_null()) load.hold_sec = r.duration(v["hold"], path + ".hold");
  if (v.contains("start_after"))
    if (auto d = r.duration(v["start_after"], path + ".start_after")) load.start_after_sec = *d;
  if (v.contains("sawtooth"))
    if (auto b = r.boolean(v["sawtooth"], path + ".sawtooth")) load.sawtooth = *b;
  if (v.contains("checkpoint"))
    if (auto b = r.boolean(v["checkpoint"], path + ".checkpoint")) load.checkpoint = *b;
  if (v.contains("compress_ratio"))
    if (auto n = r.count(v["compress_ratio"], path + ".compress_ratio", 1, 16))
      load.compress_ratio = static_cast<unsigned>(*n);
  // oomstress has one --rate: it is the leak rate when leaking, else the ramp rate.
  if (load.rate_bytes_per_sec > 0 && load.leak_bytes_per_sec > 0)
    r.error(path, "rate and leak are both set; the stressor has one --rate, used as the leak rate "
                  "when leaking: set rate to \"0\" (ramp as fast as possible) or leak to \"0\"");
  if (load.sawtooth && load.leak_bytes_per_sec == 0 && load.rate_bytes_per_sec == 0)
    r.error(path + ".sawtooth", "a sawtooth needs a rate or a leak to grow with");
}

// unit_file and drop_ins, or the --units tree: the unit's real files, merged with
// the inline `unit` (which overrides them). Every problem names the file and line.
void readUnitFiles(Reader& r, const Json& sv, const std::string& at, const ScenarioSources& sources,
                   ServiceSpec& service) {
  std::optional<ServiceFileRefs> refs;
  if (sv.contains("unit_file") || sv.contains("drop_ins")) {
    refs.emplace();
    refs->base = sources.base_dir;
    if (sv.contains("unit_file"))
      if (auto f = r.string(sv["unit_file"], at + ".unit_file")) {
        if (f->empty()) r.error(at + ".unit_file", "expected the path of a unit file; got \"\"");
        else refs->unit_file = *f;
      }
    if (sv.contains("drop_ins")) {
      const Json& d = sv["drop_ins"];
      if (!d.is_array() || d.empty() || d.size() > limits::kMaxDropIns) {
        r.error(at + ".drop_ins", "expected an array of 1 to " + std::to_string(limits::kMaxDropIns) +
                                      " paths (NAME.service.d folders or *.conf files); got " + shown(d));
      } else {
        for (std::size_t i = 0; i < d.size(); ++i)
          if (auto p = r.string(d[i], Reader::index(at + ".drop_ins", i))) refs->drop_ins.emplace_back(*p);
      }
    }
    // A slice's file is looked for next to the unit file and next to each NAME.service.d.
    if (refs->unit_file) refs->slice_dirs.push_back(refs->unit_file->parent_path());
    for (const auto& d : refs->drop_ins) {
      std::filesystem::path folder = d.lexically_normal();
      if (folder.filename().empty()) folder = folder.parent_path();  // "units/api.service.d/"
      if (folder.extension() == ".conf") folder = folder.parent_path();
      const std::filesystem::path beside = folder.parent_path();
      if (std::find(refs->slice_dirs.begin(), refs->slice_dirs.end(), beside) == refs->slice_dirs.end())
        refs->slice_dirs.push_back(beside);
    }
  }
  if (!sources.read_unit_files) return;
  if (sources.units_dir && !service.name.empty())
    if (auto tree = unitsTreeRefs(*sources.units_dir, service.name)) refs = tree;
  if (!refs || (!refs->unit_file && refs->drop_ins.empty())) return;
  auto result = readServiceFiles(service.name, *refs, service.inline_unit, at);
  for (const auto& e : result.errors) r.error(at, e.where + ": " + e.message);
  if (!result.errors.empty()) return;
  service.unit = std::move(result.unit);
  service.files = std::move(result.files);
}

// "systemd_oomd": {"SwapUsedLimit": "80%", ...}: oomd.conf's [OOM] settings, as oomd
// reads them (percentages with at most two decimals, a duration).
void readOomd(Reader& r, const Json& v, Scenario& s) {
  const std::string path = "$.systemd_oomd";
  if (!r.object(v, path, "systemdOomd")) return;
  OomdSpec oomd;
  for (const char* key : {"SwapUsedLimit", "DefaultMemoryPressureLimit"}) {
    if (!v.contains(key)) continue;
    const std::string at = path + "." + key;
    if (auto p = r.string(v[key], at)) {
      // The same percentage systemd's ManagedOOMMemoryPressureLimit= takes.
      if (!toDbusProperty("ManagedOOMMemoryPressureLimit", *p))
        r.error(at, "expected a percentage from 0% to 100% such as 60% or 12.5%; got " + quotedText(*p));
      else if (std::string(key) == "SwapUsedLimit") oomd.SwapUsedLimit = *p;
      else oomd.DefaultMemoryPressureLimit = *p;
    }
  }
  if (v.contains("DefaultMemoryPressureDurationSec"))
    if (auto d = r.duration(v["DefaultMemoryPressureDurationSec"], path + ".DefaultMemoryPressureDurationSec")) {
      if (*d < 1) r.error(path + ".DefaultMemoryPressureDurationSec", "expected at least 1s (systemd-oomd's minimum)");
      else oomd.DefaultMemoryPressureDurationSec = formatDurationExact(Seconds(*d));
    }
  s.oomd = oomd;
}

void readServices(Reader& r, const Json& v, Scenario& s, const ScenarioSources& sources) {
  const std::string path = "$.services";
  if (!v.is_array() || v.empty()) {
    r.error(path, "expected a non-empty array of services; got " + shown(v));
    return;
  }
  if (v.size() > limits::kMaxServices) {
    r.error(path, "expected at most " + std::to_string(limits::kMaxServices) + " services; got " +
                      std::to_string(v.size()));
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = Reader::index(path, i);
    const Json& sv = v[i];
    if (!r.object(sv, at, "service")) continue;
    ServiceSpec service;
    if (sv.contains("name")) {
      if (auto name = r.string(sv["name"], at + ".name")) {
        if (name->size() > 8 && name->substr(name->size() - 8) == kUnitSuffix)
          r.error(at + ".name", "expected the unit name without \".service\" (it is added); got " + quotedText(*name));
        else if (!validUnitStem(*name))
          r.error(at + ".name", "expected a unit name stem of letters, digits and :_.-\\ (at most 200); got " + quotedText(*name));
        else if (!seen.insert(*name).second)
          r.error(at + ".name", "duplicate service name " + quotedText(*name) + "; names must be unique");
        else service.name = *name;
      }
    }
    if (sv.contains("why"))
      if (auto why = r.text(sv["why"], at + ".why")) service.why = *why;
    if (sv.contains("unit")) readUnit(r, sv["unit"], at + ".unit", service);
    service.inline_unit = service.unit;
    readUnitFiles(r, sv, at, sources, service);
    if (sv.contains("load")) readLoad(r, sv["load"], at + ".load", s.guest, service.load);
    if (auto max = service.directive("MemoryMax"); max && *max != "infinity") {
      auto limit = parseSize(*max);
      if (limit && service.load.baseline_bytes >= *limit)
        r.error(at + ".load.baseline", "baseline " + formatSize(service.load.baseline_bytes) +
                                           " does not fit under MemoryMax=" + *max +
                                           ": the unit would be OOM-killed before it is ready");
    }
    s.services.push_back(std::move(service));
  }
}

void requireService(Reader& r, const Scenario& s, const std::string& name, const std::string& path) {
  if (s.service(name)) return;
  std::vector<std::string> names;
  for (const auto& svc : s.services)
    if (!svc.name.empty()) names.push_back(svc.name);
  r.error(path, "no service named " + quotedText(name) + "; services are " + join(names));
}

// One expectation's value, read by its kind (expectations.def).
template <ExpectationKind K>
void readExpectation(Reader& r, const Scenario& s, const Json& v, const std::string& at,
                     typename ExpectationValue<K>::type& out) {
  if constexpr (K == ExpectationKind::service) {
    if (auto name = r.string(v, at)) {
      requireService(r, s, *name, at);
      out = *name;
    }
  } else if constexpr (K == ExpectationKind::services) {
    out = r.names(v, at);
    for (std::size_t i = 0; i < out.size(); ++i) requireService(r, s, out[i], Reader::index(at, i));
  } else if constexpr (K == ExpectationKind::count) {
    out = r.range(v, at);
  } else if constexpr (K == ExpectationKind::flag) {
    out = r.boolean(v, at);
  } else if constexpr (K == ExpectationKind::duration) {
    out = r.duration(v, at);
  } else if constexpr (K == ExpectationKind::positive_duration) {
    if (auto d = r.duration(v, at)) {
      if (*d <= 0) r.error(at, "expected a duration greater than 0");
      else out = *d;
    }
  } else {
    out = r.string(v, at);
  }
}

// "a, b, c or d": a scope's keys, for the messages that list them.
std::string keyList(ExpectationScope scope) {
  const auto keys = expectationKeys(scope);
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i)
    out += (i == 0 ? "" : i + 1 == keys.size() ? " or " : ", ") + keys[i];
  return out;
}

// What a schema cannot say about the scenario-wide expectations: how they agree.
void checkScenarioExpectations(Reader& r, const std::string& path, const Expectations& e) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < e.kill_order.size(); ++i)
    if (!seen.insert(e.kill_order[i]).second)
      r.error(Reader::index(path + ".kill_order", i),
              "\"" + e.kill_order[i] + "\" appears twice; kill_order lists each unit's first kill");
  if (e.first_killed && !e.kill_order.empty() && e.kill_order.front() != *e.first_killed)
    r.error(path + ".kill_order", "starts with \"" + e.kill_order.front() + "\" but first_killed is \"" +
                                      *e.first_killed + "\"");
  for (std::size_t i = 0; i < e.never_killed.size(); ++i) {
    const auto& name = e.never_killed[i];
    if (e.first_killed == name || std::count(e.kill_order.begin(), e.kill_order.end(), name))
      r.error(Reader::index(path + ".never_killed", i),
              "\"" + name + "\" is expected to be killed (first_killed/kill_order) and never killed");
  }
}

// ... and about one unit's: what its service must have for the expectation to mean
// anything, the values a text key accepts, and agreement with the scenario-wide ones.
void checkUnitExpectations(Reader& r, const Scenario& s, const std::string& at, const std::string& name,
                           UnitExpectation& u) {
  const ServiceSpec* svc = s.service(name);
  if (u.resumes_from_checkpoint && svc && !svc->load.checkpoint)
    r.error(at + ".resumes_from_checkpoint",
            "expected only for a service whose load has \"checkpoint\": true; " + name + " keeps no checkpoint");
  if (u.throttled_not_killed && svc && !svc->directive("MemoryHigh")) {
    r.error(at + ".throttled_not_killed",
            "expects throttling at MemoryHigh=, which " + quotedText(name) + " does not set");
    u.throttled_not_killed.reset();
  }
  if (u.killed_by) {
    if (*u.killed_by != "kernel" && *u.killed_by != "systemd-oomd" && *u.killed_by != "any")
      r.error(at + ".killed_by", "expected one of kernel, systemd-oomd, any; got " + quotedText(*u.killed_by));
    else if (*u.killed_by == "systemd-oomd" && !s.oomd)
      r.error(at + ".killed_by",
              "expects systemd-oomd, which this scenario does not enable (add \"systemd_oomd\": {})");
  }
  if (u.constraint && *u.constraint != "CONSTRAINT_NONE" && *u.constraint != "CONSTRAINT_MEMCG")
    r.error(at + ".constraint", "expected one of CONSTRAINT_NONE (global OOM), CONSTRAINT_MEMCG "
                                "(a MemoryMax= limit was hit); got \"" + *u.constraint + "\"");
  const Expectations& e = s.expect;
  const bool never = std::count(e.never_killed.begin(), e.never_killed.end(), name) > 0;
  const bool killed = e.first_killed == name || std::count(e.kill_order.begin(), e.kill_order.end(), name) > 0;
  if (u.oom_kills && never && u.oom_kills->min.value_or(0) > 0)
    r.error(at + ".oom_kills", "expects kills but \"" + name + "\" is in never_killed");
  if (u.oom_kills && killed && u.oom_kills->max == 0u)
    r.error(at + ".oom_kills", "expects no kills but \"" + name + "\" is in first_killed/kill_order");
  if (!u.namesAnExpectation())
    r.error(at, "expected at least one expectation for " + quotedText(name) + " (" +
                    keyList(ExpectationScope::unit) + ")");
}

#define OOM_EXPECTATION_READ(key, kind, json, at, field) \
  if ((json).contains(#key)) readExpectation<ExpectationKind::kind>(r, s, (json)[#key], (at) + "." #key, (field).key);

void readExpect(Reader& r, const Json& v, Scenario& s) {
  const std::string path = "$.expect";
  if (!r.object(v, path, "expect")) return;
  Expectations& e = s.expect;
#define OOM_EXPECTATION_scenario(key, kind) OOM_EXPECTATION_READ(key, kind, v, path, e)
#define OOM_EXPECTATION_unit(key, kind)
#define OOM_EXPECTATION(key, scope, kind, plan) OOM_EXPECTATION_##scope(key, kind)
#include "scenario/expectations.def"
#undef OOM_EXPECTATION_scenario
#undef OOM_EXPECTATION_unit
  checkScenarioExpectations(r, path, e);
  if (v.contains("restart_grace"))
    if (auto d = r.duration(v["restart_grace"], path + ".restart_grace")) e.restart_grace_sec = *d;
  if (v.contains("half_alive_grace"))
    if (auto d = r.duration(v["half_alive_grace"], path + ".half_alive_grace")) e.half_alive_grace_sec = *d;
  if (v.contains("allow_collateral"))
    if (auto b = r.boolean(v["allow_collateral"], path + ".allow_collateral")) e.allow_collateral = *b;
  // A scenario with nothing that can fail would pass whatever the guest did.
  const auto requireAnExpectation = [&] {
    if (!e.namesAnExpectation())
      r.error(path, "expected at least one expectation (" + keyList(ExpectationScope::scenario) +
                        ", or one under units such as oom_kills); a scenario that expects nothing passes "
                        "whatever happens");
  };
  if (!v.contains("units")) return requireAnExpectation();
  const Json& units = v["units"];
  if (!units.is_object()) {
    r.error(path + ".units", "expected an object keyed by service name; got " + shown(units));
    return;
  }
  for (const auto& [name, uv] : units.items()) {
    const std::string at = Reader::key(path + ".units", name);
    requireService(r, s, name, at);
    if (!r.object(uv, at, "unitExpectation")) continue;
    UnitExpectation u;
#define OOM_EXPECTATION_scenario(key, kind)
#define OOM_EXPECTATION_unit(key, kind) OOM_EXPECTATION_READ(key, kind, uv, at, u)
#include "scenario/expectations.def"
#undef OOM_EXPECTATION_scenario
#undef OOM_EXPECTATION_unit
    checkUnitExpectations(r, s, at, name, u);
    e.units.emplace_back(name, std::move(u));
  }
  requireAnExpectation();
}
#undef OOM_EXPECTATION
#undef OOM_EXPECTATION_READ

}  // namespace

const std::vector<ObjectKeys>& scenarioObjectKeys() { return kKeys; }

namespace {

std::string fileTooLarge(std::uint64_t bytes) {
  return "expected a scenario file of at most " + formatSize(limits::kMaxFileBytes) + " (" +
         std::to_string(limits::kMaxFileBytes) + " bytes); got " + std::to_string(bytes) + " bytes";
}

ScenarioCheck checkScenario(std::string_view text, const std::string& source, const ScenarioSources& sources) {
  ScenarioCheck out;
  if (text.size() > limits::kMaxFileBytes) {
    out.errors.push_back(Error{source, fileTooLarge(text.size())});
    return out;
  }
  Json doc;
  ErrorList json_errors;
  if (!readScenarioJson(text, source, doc, json_errors)) {
    out.errors = json_errors.take(source);
    return out;
  }
  Reader r(source);
  Scenario s;
  s.source = source;
  if (r.object(doc, "$", "scenario")) {
    if (doc.contains("name")) {
      if (auto name = r.string(doc["name"], "$.name")) {
        if (!validUnitStem(*name)) r.error("$.name", "expected letters, digits and :_.- (used in file names); got " + quotedText(*name));
        else s.name = *name;
      }
    }
    if (doc.contains("description"))
      if (auto d = r.text(doc["description"], "$.description")) s.description = *d;
    if (doc.contains("guest")) readGuest(r, doc["guest"], s.guest);
    if (doc.contains("time_limit")) {
      if (auto d = r.duration(doc["time_limit"], "$.time_limit")) {
        if (*d <= 0) r.error("$.time_limit", "expected a duration greater than 0");
        else s.time_limit_sec = *d;
      }
    }
    if (doc.contains("settle"))
      if (auto d = r.duration(doc["settle"], "$.settle")) s.settle_sec = *d;
    if (s.settle_sec >= s.time_limit_sec)
      r.error("$.settle", "settle (" + formatDuration(Seconds(s.settle_sec)) +
                              ") must be shorter than time_limit (" +
                              formatDuration(Seconds(s.time_limit_sec)) + ")");
    if (doc.contains("systemd_oomd")) readOomd(r, doc["systemd_oomd"], s);
    if (doc.contains("services")) readServices(r, doc["services"], s, sources);
    if (doc.contains("expect")) readExpect(r, doc["expect"], s);
  }
  out.errors = r.takeErrors();
  if (!out.errors.empty()) return out;
  out.warnings = lintScenario(s);
  // A warning about a value that came from a unit file names that file and line.
  for (auto& w : out.warnings) {
    if (!w.service || *w.service >= s.services.size() || !s.services[*w.service].files) continue;
    for (const auto& o : s.services[*w.service].files->effective)
      if (o.directive == w.directive && o.where.rfind("scenario ", 0) != 0) w.where = o.where;
  }
  const Budget budget = computeBudget(s);
  if (!budget.fits()) out.errors.push_back(Error{source + ": $.services", budget.explain()});
  s.document = std::move(doc);
  if (out.errors.empty()) out.scenario = std::move(s);
  return out;
}

// A regular file of at most limits::kMaxFileBytes, checked before reading.
Expected<std::string> readScenarioBytes(const std::filesystem::path& file) {
  return readRegularFile(file, limits::kMaxFileBytes, "scenario file");
}

}  // namespace

ScenarioCheck parseScenario(std::string_view text, const std::string& source, const ScenarioSources& sources) {
  // Whatever the text, an answer: an unexpected exception is reported, not thrown.
  try {
    return checkScenario(text, source, sources);
  } catch (const std::exception& e) {
    ScenarioCheck out;
    out.errors.push_back(Error{source, std::string("could not be checked: ") + printable(e.what())});
    return out;
  }
}

ScenarioCheck loadScenarioFile(const std::filesystem::path& file,
                               const std::optional<std::filesystem::path>& units_dir) {
  auto bytes = readScenarioBytes(file);
  if (!bytes) {
    ScenarioCheck out;
    out.errors.push_back(bytes.error());
    return out;
  }
  ScenarioSources sources{file.parent_path(), units_dir};
  if (units_dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(*units_dir, ec)) {
      ScenarioCheck out;
      out.errors.push_back(Error{units_dir->string(), "--units: expected a folder laid out as /etc/systemd/system"});
      return out;
    }
  }
  auto check = parseScenario(*bytes, file.string(), sources);
  if (check.ok() && units_dir) {
    bool any = false;
    std::string names;
    for (const auto& svc : check.scenario->services) {
      any = any || unitsTreeRefs(*units_dir, svc.name).has_value();
      names += (names.empty() ? "" : ", ") + svc.name + ".service";
    }
    if (!any)
      check.errors.push_back(Error{units_dir->string(), "--units: no unit file or drop-in folder for any of the "
                                                        "scenario's services (" + names + ")"});
    if (!any) check.scenario.reset();
  }
  return check;
}

}  // namespace oom
