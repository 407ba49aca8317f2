#include "scenario/parse.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "oom/confined.hpp"
#include "oom/files.hpp"
#include "oom/guest_paths.hpp"
#include "oom/payload_tree.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "systemd/directives.hpp"
#include "scenario/budget.hpp"
#include "scenario/image_archive.hpp"
#include "scenario/limits.hpp"
#include "scenario/quadlet.hpp"
#include "scenario/lint.hpp"
#include "scenario/unit_sources.hpp"
#include "value_reader.hpp"

namespace oom {
namespace detail {
namespace {

// An object's keys: the expectations of its scope (expectations.def), then its own.
std::vector<std::string> withExpectationKeys(ExpectationScope scope, std::vector<std::string> own) {
  auto keys = expectationKeys(scope);
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

const std::vector<ObjectKeys> kKeys = {
    {"scenario",
     {"$schema", "name", "description", "guest", "time_limit", "settle", "services", "drive", "systemd_oomd",
      "payload", "probes", "expect"},
     {"name", "description", "services", "expect"}},
    {"guest", {"release", "memory", "cpus", "swap", "swap_kind", "swappiness", "packages"}, {}},
    {"service", {"name", "why", "unit_file", "drop_ins", "unit", "load", "container"}, {"name", "why"}},
    {"container",
     {"image", "archive", "quadlet", "memory", "memory_swap", "oom_score_adj", "restart", "cgroups", "network",
      "publish"},
     {}},
    {"packagedUnitFile", {"package"}, {"package"}},
    {"load",
     {"baseline", "processes", "supervisor", "rate", "leak", "spike", "hold", "start_after", "sawtooth",
      "checkpoint", "compress_ratio", "health_port"},
     {"baseline"}},
    {"expect", withExpectationKeys(ExpectationScope::scenario, {"units", "probes", "restart_grace", "half_alive_grace",
                                                                 "allow_collateral"}),
     {}},
    {"unitExpectation", withExpectationKeys(ExpectationScope::unit, {}), {}},
    {"probeExpectation", withExpectationKeys(ExpectationScope::probe, {}), {}},
    {"countRange", {"min", "max"}, {}},
    {"probe", {"name", "why", "service", "http", "tcp", "command", "status", "output", "interval", "timeout"}, {"name"}},
    {"drive", {"name", "why", "command", "start_after"}, {"name", "why", "command"}},
    {"systemdOomd", {"SwapUsedLimit", "DefaultMemoryPressureLimit", "DefaultMemoryPressureDurationSec"}, {}},
};

}  // namespace

const ObjectKeys& keysOf(std::string_view def) {
  for (const auto& k : kKeys)
    if (k.def == def) return k;
  throw std::logic_error("no key table for " + std::string(def));
}

}  // namespace detail
namespace {
using namespace detail;

bool validUnitStem(const std::string& name) {
  return !name.empty() && name.size() <= 200 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' ||
                  c == '.' || c == '-' || c == '\\';
         });
}

// NAME of a NAME.service the scenario adds (a service's or a load driver's): a unit
// name stem, without the suffix, not one of the guest's own units. Refused with why.
bool ownUnitStem(Reader& r, const std::string& name, const std::string& at) {
  if (name.size() > 8 && name.substr(name.size() - 8) == kUnitSuffix)
    r.error(at, "expected the unit name without \".service\" (it is added); got " + quotedText(name));
  else if (!validUnitStem(name))
    r.error(at, "expected a unit name stem of letters, digits and :_.-\\ (at most 200); got " + quotedText(name));
  else if (guest::isGuestService(name))
    r.error(at, quotedText(name) + ".service is one of the guest's own units (systemd's, "
                    "oomharness's or its packages'); expected a name of your own");
  else
    return true;
  return false;
}

void readPackages(Reader& r, const Json& v, const std::string& path, GuestSpec& guest) {
  if (!v.is_array() || v.empty() || v.size() > limits::kMaxGuestPackages) {
    r.error(path, "expected an array of 1 to " + std::to_string(limits::kMaxGuestPackages) +
                      " Debian package names such as [\"nginx\", \"python3\"]; got " + shown(v));
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = Reader::index(path, i);
    auto name = r.string(v[i], at);
    if (!name) continue;
    if (!isDebianPackageName(*name))
      r.error(at, "expected a Debian package name ([a-z0-9][a-z0-9+.-]+, at most " +
                      std::to_string(kMaxDebianPackageNameBytes) + " characters); got " + quotedText(*name));
    else if (!seen.insert(*name).second)
      r.error(at, "duplicate package " + quotedText(*name) + "; each package once");
    else guest.packages.push_back(*name);
  }
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
  if (v.contains("packages")) readPackages(r, v["packages"], path + ".packages", guest);
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
      r.error(where, prop.error().message);  // the path names the directive
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
  if (v.contains("supervisor"))
    if (auto b = r.boolean(v["supervisor"], path + ".supervisor")) load.supervisor = *b;
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
  if (v.contains("health_port"))
    if (auto n = r.count(v["health_port"], path + ".health_port", 1, 65535))
      load.health_port = static_cast<std::uint16_t>(*n);
  // oomstress has one --rate: it is the leak rate when leaking, else the ramp rate.
  if (load.rate_bytes_per_sec > 0 && load.leak_bytes_per_sec > 0)
    r.error(path, "rate and leak are both set; the stressor has one --rate, used as the leak rate "
                  "when leaking: set rate to \"0\" (ramp as fast as possible) or leak to \"0\"");
  if (load.supervisor && load.checkpoint)
    r.error(path + ".supervisor", "cannot be combined with checkpoint: each of the workers would need a job of its "
                                  "own; set supervisor to false or checkpoint to false");
  if (load.sawtooth && load.leak_bytes_per_sec == 0 && load.rate_bytes_per_sec == 0)
    r.error(path + ".sawtooth", "a sawtooth needs a rate or a leak to grow with");
}

// Podman refuses a --memory under 6 MiB (its minimum memory limit).
constexpr std::uint64_t kContainerMinMemory = 6 * MiB;

bool validContainerRestart(const std::string& v) {
  if (v == "no" || v == "always" || v == "on-failure" || v == "unless-stopped") return true;
  const std::string prefix = "on-failure:";
  if (v.rfind(prefix, 0) != 0 || v.size() == prefix.size() || v.size() > prefix.size() + 4) return false;
  return std::all_of(v.begin() + static_cast<long>(prefix.size()), v.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// One `publish` entry: "[IPV4:]HOSTPORT:CONTAINERPORT", Podman's -p for TCP.
std::optional<PublishedPort> readPublished(Reader& r, const Json& v, const std::string& at) {
  const auto text = r.string(v, at);
  if (!text) return std::nullopt;
  if (auto port = parsePublishedPort(*text)) return port;
  r.error(at, std::string("expected ") + kPublishedPortForm + ", such as \"127.0.0.1:8080:8080\"; got " +
                  quotedText(*text));
  return std::nullopt;
}

// trixie's Podman (netavark) runs nft to publish; the guest image has only what it lists.
void requireNftables(Reader& r, const std::string& at, const GuestSpec& guest, const ContainerSpec& c) {
  if (c.network == kContainerNetworkBridge && guest.release != "bookworm" &&
      std::find(guest.packages.begin(), guest.packages.end(), "nftables") == guest.packages.end())
    r.error(at, "Podman's bridge on " + guest.release + " (netavark) runs nft, which the guest image has only with "
                "nftables: expected \"nftables\" in $.guest.packages (bookworm's CNI uses iptables, a dependency "
                "of podman)");
}

// `network` and `publish`: how the container reaches the guest's network, if at all.
void readContainerNetwork(Reader& r, const Json& v, const std::string& path, const GuestSpec& guest,
                          ContainerSpec& c) {
  if (v.contains("publish")) c.network = kContainerNetworkBridge;  // Podman publishes on its bridge
  if (v.contains("network"))
    if (auto network = r.string(v["network"], path + ".network")) {
      if (*network != kContainerNetworkNone && *network != kContainerNetworkHost && *network != kContainerNetworkBridge)
        r.error(path + ".network", std::string("expected one of ") + kContainerNetworkNone + " (no interface but "
                                   "its own loopback), " + kContainerNetworkHost + " (the guest's network), " +
                                   kContainerNetworkBridge + " (Podman's bridge, with ports in publish); got " +
                                   quotedText(*network));
      else if (v.contains("publish") && *network != kContainerNetworkBridge)
        r.error(path + ".publish", "publishes ports, which Podman does on its bridge network only: expected "
                                   "\"network\": \"bridge\" or no network; got \"network\": " + quotedText(*network));
      else c.network = *network;
    }
  if (v.contains("publish")) {
    const Json& list = v["publish"];
    if (!list.is_array() || list.empty() || list.size() > 16) {
      r.error(path + ".publish", "expected an array of 1 to 16 ports such as [\"127.0.0.1:8080:8080\"]; got " +
                                     shown(list));
    } else {
      // A host port published twice is refused with every other taker (checkGuestPorts).
      for (std::size_t i = 0; i < list.size(); ++i)
        if (auto port = readPublished(r, list[i], Reader::index(path + ".publish", i))) c.publish.push_back(*port);
    }
  }
  requireNftables(r, path + (v.contains("publish") ? ".publish" : ".network"), guest, c);
}

// "container": {"memory": "64M", ...}: podman run's settings for the service's load
// (docs/containers.md). Checked against the guest (Podman in its packages) and the
// load (a baseline that fits under the container's limit).
void readContainer(Reader& r, const Json& v, const std::string& path, const GuestSpec& guest, ContainerSpec& c) {
  if (!r.object(v, path, "container")) return;
  if (v.contains("quadlet")) {
    // The file says what the container gets; it is read with the service's unit files.
    for (const char* key : {"memory", "memory_swap", "oom_score_adj", "restart", "cgroups", "network", "publish"})
      if (v.contains(key))
        r.error(path + "." + key, std::string("comes from the Quadlet file (PodmanArgs=, CgroupsMode=, Network=, "
                                              "PublishPort= in its [Container]); expected it there, not beside "
                                              "\"quadlet\""));
    if (guest.release == "bookworm")
      r.error(path + ".quadlet", "needs Quadlet, which Podman has from 4.4 on; bookworm's guest has 4.3.1: "
                                 "expected \"release\": \"trixie\" in $.guest");
  }
  if (v.contains("image"))
    if (auto image = r.string(v["image"], path + ".image")) {
      if (*image != kBuiltinImage && !validImageName(*image))
        r.error(path + ".image", std::string("expected \"") + kBuiltinImage + "\" (the built-in image) or the name of "
                                     "an image in \"archive\" such as \"localhost/shop/web:1.4\" (lower-case letters, "
                                     "digits, . _ - / : @); got " + quotedText(*image));
      else c.image = *image;
    }
  if (v.contains("archive"))
    if (auto archive = r.string(v["archive"], path + ".archive")) c.archive = *archive;
  if (c.ownImage() && c.archive.empty() && v.contains("image"))
    r.error(path + ".archive", "expected the docker-archive that holds " + quotedText(c.image) +
                                   " (podman save -o FILE IMAGE), a file in $.payload: the guest loads it, "
                                   "with no registry");
  if (!c.archive.empty() && !c.ownImage())
    r.error(path + ".image", "expected the name of the image in " + quotedText(c.archive) +
                                 " (the name podman save was given); the built-in image needs no archive");
  if (v.contains("quadlet") && (v.contains("image") || v.contains("archive")))
    r.error(path + (v.contains("archive") ? ".archive" : ".image"),
            "a Quadlet container runs the built-in image (its Image= is replaced); the user's own image is "
            "supported with podman run, without \"quadlet\", not yet from a Quadlet file");
  const std::string most = "from 6MiB (Podman's minimum) to the guest memory, " + formatSize(guest.memory_bytes);
  if (v.contains("memory"))
    if (auto b = r.size(v["memory"], path + ".memory", kContainerMinMemory, guest.memory_bytes, most))
      c.memory_bytes = *b;
  if (v.contains("memory_swap")) {
    if (!v.contains("memory"))
      r.error(path + ".memory_swap", "needs \"memory\" too (Podman refuses --memory-swap without --memory)");
    else if (auto b = r.size(v["memory_swap"], path + ".memory_swap"); b && c.memory_bytes) {
      if (*b < *c.memory_bytes)
        r.error(path + ".memory_swap", "expected at least memory, " + formatSize(*c.memory_bytes) +
                                           " (it is memory and swap together); got " + shown(v["memory_swap"]));
      else c.memory_swap_bytes = *b;
    }
  }
  if (v.contains("oom_score_adj")) {
    const Json& a = v["oom_score_adj"];
    if (!a.is_number_integer() || a.get<long long>() < -1000 || a.get<long long>() > 1000)
      r.error(path + ".oom_score_adj", "expected an integer from -1000 to 1000; got " + shown(a));
    else c.oom_score_adj = static_cast<int>(a.get<long long>());
  }
  if (v.contains("restart"))
    if (auto restart = r.string(v["restart"], path + ".restart")) {
      if (!validContainerRestart(*restart))
        r.error(path + ".restart", "expected one of no, on-failure, on-failure:N, always, unless-stopped "
                                   "(Podman's --restart); got " + quotedText(*restart));
      else c.restart = *restart;
    }
  if (v.contains("cgroups"))
    if (auto cgroups = r.string(v["cgroups"], path + ".cgroups")) {
      if (*cgroups != kContainerCgroupsEnabled && *cgroups != kContainerCgroupsSplit)
        r.error(path + ".cgroups", std::string("expected one of ") + kContainerCgroupsEnabled + " (Podman's default: "
                                   "a scope under machine.slice), " + kContainerCgroupsSplit +
                                   " (below the unit, as Quadlet runs it); got " + quotedText(*cgroups));
      else c.cgroups = *cgroups;
    }
  if (!v.contains("quadlet")) readContainerNetwork(r, v, path, guest, c);
  if (std::find(guest.packages.begin(), guest.packages.end(), "podman") == guest.packages.end())
    r.error(path, "runs the load in a container, which needs Podman in the guest: expected \"podman\" in "
                  "$.guest.packages");
}

// A scenario from a pull request is read by root: its unit_file and drop_ins may
// name files below its own folder only (links are checked when they are read).
bool belowScenario(Reader& r, const std::string& path, const std::string& at, const ScenarioSources& sources) {
  const auto why = leavesFolder(path);
  if (!why) return true;
  std::error_code ec;
  const auto folder = std::filesystem::absolute(sources.base_dir.empty() ? "." : sources.base_dir, ec);
  r.error(at, quotedText(path) + (startsWith(*why, "leaves") ? " leaves the scenario's folder" : " " + *why) +
                  "; expected a path below " + folder.lexically_normal().string());
  return false;
}

// The files' last ExecStart= assignment runs something (an empty one clears the list).
bool setsExecStart(const ServiceFiles& files) {
  bool sets = false;
  for (const auto& o : files.passed_through)
    if (o.directive == "ExecStart") sets = !o.value.empty();
  return sets;
}

// The guest image's packaged units, looked up once per scenario, when a service asks.
class PackagedUnitLookup {
 public:
  PackagedUnitLookup(const ScenarioSources& sources, const GuestSpec& guest) : sources_(sources), guest_(guest) {}
  bool available() const { return bool(sources_.packaged_units); }
  const GuestSpec& guest() const { return guest_; }
  const Expected<PackagedUnits>& units() {
    if (!answer_) answer_ = sources_.packaged_units(guest_);
    return *answer_;
  }

 private:
  const ScenarioSources& sources_;
  const GuestSpec& guest_;
  std::optional<Expected<PackagedUnits>> answer_;
};

// "unit_file": {"package": "nginx"}: the package, one of guest.packages.
std::optional<std::string> readPackagedUnitFile(Reader& r, const Json& v, const std::string& at,
                                                const GuestSpec& guest) {
  if (!r.object(v, at, "packagedUnitFile") || !v.contains("package")) return std::nullopt;
  auto package = r.string(v["package"], at + ".package");
  if (!package) return std::nullopt;
  if (std::find(guest.packages.begin(), guest.packages.end(), *package) == guest.packages.end()) {
    r.error(at + ".package", "expected one of guest.packages (the unit is read from the image they are "
                             "installed in); " + quotedText(*package) + " is not in " +
                             (guest.packages.empty() ? std::string("guest.packages, which is empty")
                                                     : "[" + join(guest.packages) + "]"));
    return std::nullopt;
  }
  return package;
}

// The unit a package installs for the service (NAME.service), read from the image.
std::optional<PackagedUnit> findPackagedUnit(Reader& r, const std::string& package, const std::string& at,
                                             const ServiceSpec& service, PackagedUnitLookup& lookup) {
  const auto& units = lookup.units();
  if (!units) {
    r.error(at, units.error().message, units.error().kind);
    return std::nullopt;
  }
  const std::string unit = unitName(service.name);
  if (const PackagedUnit* found = units->find(package, unit)) return *found;
  const auto shipped = units->unitsOf(package);
  r.error(at, "package " + quotedText(package) + " installs no " + unit + " in the guest image " + units->image +
                  (shipped.empty() ? "; it installs no unit files at all"
                                   : "; it installs " + join(shipped) + " (a service's name is its unit's name "
                                     "without .service)"));
  return std::nullopt;
}

// unit_file and drop_ins, or the --units tree: the unit's real files, merged with
// the inline `unit` (which overrides them). Every problem names the file and line.
void readUnitFiles(Reader& r, const Json& sv, const std::string& at, const ScenarioSources& sources,
                   UnitFileBudget& budget, PackagedUnitLookup& packaged, ServiceSpec& service) {
  std::optional<ServiceFileRefs> refs;
  std::optional<std::string> package;  // "unit_file": {"package": ...}
  if (sv.contains("unit_file") || sv.contains("drop_ins")) {
    refs.emplace();
    refs->base = sources.base_dir;
    if (sv.contains("unit_file") && sv["unit_file"].is_object())
      package = readPackagedUnitFile(r, sv["unit_file"], at + ".unit_file", packaged.guest());
    else if (sv.contains("unit_file"))
      if (auto f = r.string(sv["unit_file"], at + ".unit_file")) {
        if (f->empty()) r.error(at + ".unit_file", "expected the path of a unit file; got \"\"");
        else if (belowScenario(r, *f, at + ".unit_file", sources)) refs->unit_file = *f;
      }
    if (sv.contains("drop_ins")) {
      const Json& d = sv["drop_ins"];
      if (!d.is_array() || d.empty() || d.size() > limits::kMaxDropIns) {
        r.error(at + ".drop_ins", "expected an array of 1 to " + std::to_string(limits::kMaxDropIns) +
                                      " paths (NAME.service.d folders or *.conf files); got " + shown(d));
      } else {
        for (std::size_t i = 0; i < d.size(); ++i)
          if (auto p = r.string(d[i], Reader::index(at + ".drop_ins", i)))
            if (belowScenario(r, *p, Reader::index(at + ".drop_ins", i), sources)) refs->drop_ins.emplace_back(*p);
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
  if (sv.contains("unit_file") && sv["unit_file"].is_object() && !package) return;  // said why already
  if (!sources.read_unit_files || (package && !packaged.available())) {
    service.files_unread = refs.has_value() || sources.units_dir.has_value();
    return;
  }
  if (sources.units_dir && !service.name.empty())
    if (auto tree = unitsTreeRefs(*sources.units_dir, service.name)) {
      if (tree->unit_file) package.reset();  // the tree's unit file replaces the package's
      refs = tree;
    }
  if (package && !service.name.empty()) {
    refs->packaged_unit = findPackagedUnit(r, *package, at + ".unit_file", service, packaged);
    if (!refs->packaged_unit) return;
  }
  // A container without a load runs its image's own program (checked with the container).
  const bool own_command = !sv.contains("load") && !sv.contains("container");
  if (!refs || (!refs->unit_file && !refs->packaged_unit && refs->drop_ins.empty())) {
    if (own_command)
      r.error(at, "expected \"load\" (oomstress stands in for the service) or a \"unit_file\" whose ExecStart= "
                  "runs the service's own program; it has neither");
    return;
  }
  refs->own_command = own_command;
  auto result = readServiceFiles(service.name, *refs, service.inline_unit, at, budget);
  for (const auto& e : result.errors) r.error(at, e.where + ": " + e.message);
  if (!result.errors.empty()) return;
  if (own_command && !setsExecStart(result.files))
    r.error(at, "runs its own program (it has no \"load\"), but its unit files set no ExecStart=; expected one "
                "in " + (refs->packaged_unit ? refs->packaged_unit->guest_path
                         : refs->unit_file       ? refs->unit_file->string()
                                                 : std::string("its unit file")) +
                ", or a \"load\" for oomstress");
  service.unit = std::move(result.unit);
  service.files = std::move(result.files);
}

// "container": {"quadlet": "quadlet/worker.container"}: the unit is the one Quadlet
// generates from the file, so the file holds its [Service] settings too.
void readQuadlet(Reader& r, const Json& sv, const std::string& at, const ScenarioSources& sources,
                 const GuestSpec& guest, UnitFileBudget& budget, ServiceSpec& service) {
  const std::string path = at + ".container.quadlet";
  auto file = r.string(sv["container"]["quadlet"], path);
  if (!file) return;
  if (file->empty() || !endsWith(*file, ".container")) {
    r.error(path, "expected the path of a Quadlet file, NAME.container; got " + quotedText(*file));
    return;
  }
  if (!belowScenario(r, *file, path, sources)) return;
  for (const char* key : {"unit", "unit_file", "drop_ins"})
    if (sv.contains(key))
      r.error(at + "." + key, "the unit is the one Quadlet generates from " + *file +
                                  ": expected its settings in the file's [Service] section");
  service.container->quadlet = *file;
  if (!sources.read_unit_files) {
    service.files_unread = true;
    return;
  }
  auto result = readQuadletFile(service.name, sources.base_dir, *file, at, budget, *service.container);
  for (const auto& e : result.errors) r.error(path, e.where + ": " + e.message);
  if (!result.errors.empty()) return;
  const ContainerSpec& c = *service.container;
  if (c.memory_bytes && *c.memory_bytes < kContainerMinMemory)
    r.error(path, c.origins.at("--memory") + ": PodmanArgs= --memory " + formatSize(*c.memory_bytes) +
                      ": expected at least 6MiB (Podman's minimum)");
  if (c.memory_swap_bytes && (!c.memory_bytes || *c.memory_swap_bytes < *c.memory_bytes))
    r.error(path, c.origins.at("--memory-swap") + ": PodmanArgs= --memory-swap " + formatSize(*c.memory_swap_bytes) +
                      ": expected --memory too, and at least as much (it is memory and swap together)");
  requireNftables(r, path, guest, c);
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

// "payload": "payload": a folder below the scenario's, checked against its budgets
// now (nothing starts when it is wrong) and copied when the guest boots.
void readPayload(Reader& r, const Json& v, Scenario& s, const ScenarioSources& sources) {
  const std::string at = "$.payload";
  auto relative = r.string(v, at);
  if (!relative || !belowScenario(r, *relative, at, sources)) return;
  const std::filesystem::path base = sources.base_dir.empty() ? "." : sources.base_dir;
  s.payload_dir = (base / *relative).lexically_normal();
  if (!sources.read_unit_files) return;  // a stored scenario: the plan names what ran
  auto tree = readPayloadTree(base, *relative);
  if (!tree) r.error(at, tree.error().where + ": " + tree.error().message);
  else s.payload_digest = tree->digest;
}

// "archive": "payload/images/web.tar": the user's image, a docker-archive inside the
// scenario's payload (the guest reads it from there, with podman load), checked now to
// hold the image the scenario names. Read confined to the scenario's folder.
void readImageArchive(Reader& r, const std::string& at, const Scenario& s, const ScenarioSources& sources,
                      ContainerSpec& c) {
  const std::string path = at + ".archive";
  if (c.archive.empty() || !belowScenario(r, c.archive, path, sources)) return;
  const std::filesystem::path base = sources.base_dir.empty() ? "." : sources.base_dir;
  const std::filesystem::path file = (base / c.archive).lexically_normal();
  const std::filesystem::path inside = file.lexically_relative(s.payload_dir);
  if (s.payload_dir.empty() || inside.empty() || inside == "." || leavesFolder(inside)) {
    r.error(path, quotedText(c.archive) + " is not in the scenario's payload folder" +
                      (s.payload_dir.empty() ? std::string(" (it has no $.payload)") : "") +
                      "; expected a file inside $.payload, which the guest reads");
    return;
  }
  c.archive_in_payload = inside;
  if (!sources.read_unit_files) return;  // a stored scenario: the payload's digest names what ran
  auto dir = ConfinedDir::open(base);
  if (!dir) {
    r.error(path, dir.error().where + ": " + dir.error().message);
    return;
  }
  auto text = dir->read(c.archive, limits::kMaxPayloadBytes, "image archive");
  if (!text) {
    r.error(path, text.error().where + ": " + text.error().message);
    return;
  }
  auto images = imageNamesInArchive(*text);
  if (!images) {
    r.error(path, quotedText(c.archive) + " " + images.error().message);
    return;
  }
  if (std::find(images->begin(), images->end(), c.image) == images->end()) {
    std::string names;
    for (const auto& n : *images) names += (names.empty() ? "" : ", ") + quotedText(n);
    r.error(at + ".image", quotedText(c.image) + " is not in " + c.archive + ", whose manifest.json names " +
                               (names.empty() ? std::string("no image (RepoTags empty: save it by name)") : names) +
                               "; expected one of those");
  }
}

// The guest's TCP ports the services take: a health port in the guest's own network
// (a unit, or a container on the host network) and every port a container publishes.
// Two takers of one port: the second would fail to start, which is no OOM test.
void checkGuestPorts(Reader& r, const Scenario& s) {
  std::map<unsigned, std::string> taken;  // port -> what took it
  // `at`: the field to report; `what`: how a later taker names this one.
  const auto take = [&](unsigned port, const std::string& at, const std::string& what) {
    if (auto [it, fresh] = taken.emplace(port, what); !fresh)
      r.error(at, "port " + std::to_string(port) + " of the guest is already taken by " + it->second +
                      "; expected a port of its own");
  };
  for (std::size_t i = 0; i < s.services.size(); ++i) {
    const ServiceSpec& svc = s.services[i];
    const std::string at = Reader::index("$.services", i);
    const bool own_namespace = svc.container && svc.container->network != kContainerNetworkHost;
    if (svc.load && svc.load->health_port && !own_namespace)
      take(svc.load->health_port, at + ".load.health_port", at + ".load.health_port");
    if (!svc.container) continue;
    const ContainerSpec& c = *svc.container;
    for (std::size_t j = 0; j < c.publish.size(); ++j) {
      // A Quadlet file's PublishPort= has no field of the scenario: named by its file.
      const std::string field = c.fromQuadlet() ? at + ".container.quadlet" : Reader::index(at + ".container.publish", j);
      take(c.publish[j].host_port, field,
           c.fromQuadlet() ? "PublishPort=" + c.publish[j].text() + " of " + c.quadlet : field);
    }
  }
}

void readServices(Reader& r, const Json& v, Scenario& s, const ScenarioSources& sources) {
  UnitFileBudget budget;  // one for all the services' files
  PackagedUnitLookup packaged(sources, s.guest);
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
        if (!ownUnitStem(r, *name, at + ".name")) {
          // refused, with why
        } else if (!seen.insert(*name).second) {
          r.error(at + ".name", "duplicate service name " + quotedText(*name) + "; names must be unique");
        } else {
          service.name = *name;
        }
      }
    }
    if (sv.contains("why"))
      if (auto why = r.text(sv["why"], at + ".why")) service.why = *why;
    if (sv.contains("unit")) readUnit(r, sv["unit"], at + ".unit", service);
    service.inline_unit = service.unit;
    readUnitFiles(r, sv, at, sources, budget, packaged, service);
    if (sv.contains("load")) readLoad(r, sv["load"], at + ".load", s.guest, *service.load);
    else service.load.reset();  // its own program (readUnitFiles said what that needs)
    if (sv.contains("container")) {
      service.container.emplace();
      readContainer(r, sv["container"], at + ".container", s.guest, *service.container);
      if (sv["container"].is_object() && sv["container"].contains("quadlet"))
        readQuadlet(r, sv, at, sources, s.guest, budget, service);
      readImageArchive(r, at + ".container", s, sources, *service.container);
      if (!service.load && (!service.container->ownImage() || service.container->fromQuadlet()))
        r.error(at + ".container", std::string("expected a \"load\" too: ") +
                                       (service.container->fromQuadlet()
                                            ? "a Quadlet container runs the built-in image, oomstress with the load"
                                            : "the built-in image is oomstress alone, which runs only a load; the "
                                              "team's own image (\"image\", \"archive\") runs its own program "
                                              "without one"));
      else if (sv.contains("unit_file") || sv.contains("drop_ins"))
        r.error(at + ".container", "expected a transient unit or a Quadlet file: a container's unit comes from "
                                   "the scenario or from \"quadlet\", not from unit_file or drop_ins");
      else if (service.load && service.container->memory_bytes &&
               service.load->baseline_bytes >= *service.container->memory_bytes)
        r.error(at + ".load.baseline", "baseline " + formatSize(service.load->baseline_bytes) +
                                           " does not fit under the container's memory " +
                                           formatSize(*service.container->memory_bytes) +
                                           ": it would be OOM-killed before it is ready");
    }
    if (auto max = service.directive("MemoryMax"); service.load && max && *max != "infinity") {
      auto limit = parseSize(*max);
      if (limit && service.load->baseline_bytes >= *limit)
        r.error(at + ".load.baseline", "baseline " + formatSize(service.load->baseline_bytes) +
                                           " does not fit under MemoryMax=" + *max +
                                           ": the unit would be OOM-killed before it is ready");
    }
    s.services.push_back(std::move(service));
  }
  checkGuestPorts(r, s);
}

// A driver's argv: 1 to limits::kMaxCommandWords words, the first an absolute path
// (systemd runs ExecStart= without a PATH search of ours).
std::vector<std::string> readCommand(Reader& r, const Json& v, const std::string& at) {
  std::vector<std::string> argv;
  if (!v.is_array() || v.empty() || v.size() > limits::kMaxCommandWords) {
    r.error(at, "expected an array of 1 to " + std::to_string(limits::kMaxCommandWords) +
                    " words such as [\"/usr/bin/redis-benchmark\", \"-n\", \"100000\"]; got " + shown(v));
    return argv;
  }
  for (std::size_t i = 0; i < v.size(); ++i)
    if (auto w = r.string(v[i], Reader::index(at, i), i == 0)) argv.push_back(*w);
  if (argv.size() == v.size() && argv.front().front() != '/')
    r.error(Reader::index(at, 0), "expected an absolute path in the guest such as /usr/bin/curl or " +
                                      std::string(guest::kPayloadDir) + "/load.sh; got " + quotedText(argv.front()));
  return argv;
}

void readDrives(Reader& r, const Json& v, Scenario& s) {
  const std::string path = "$.drive";
  if (!v.is_array() || v.size() > limits::kMaxDrives) {
    r.error(path, "expected an array of at most " + std::to_string(limits::kMaxDrives) + " drivers; got " + shown(v));
    return;
  }
  std::set<std::string> seen;
  for (const auto& svc : s.services) seen.insert(svc.name);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = Reader::index(path, i);
    if (!r.object(v[i], at, "drive")) continue;
    const Json& dv = v[i];
    DriveSpec d;
    if (dv.contains("name"))
      if (auto name = r.string(dv["name"], at + ".name")) {
        if (!ownUnitStem(r, *name, at + ".name")) {
          // refused, with why
        } else if (!seen.insert(*name).second) {
          r.error(at + ".name", quotedText(*name) + " is already the name of a service or driver; names must be unique");
        } else {
          d.name = *name;
        }
      }
    if (dv.contains("why"))
      if (auto why = r.text(dv["why"], at + ".why")) d.why = *why;
    if (dv.contains("command")) d.command = readCommand(r, dv["command"], at + ".command");
    if (dv.contains("start_after"))
      if (auto t = r.duration(dv["start_after"], at + ".start_after")) {
        if (*t >= s.time_limit_sec)
          r.error(at + ".start_after", "expected less than time_limit (" +
                                           formatDuration(Seconds(s.time_limit_sec)) + "): it would never start");
        else d.start_after_sec = *t;
      }
    s.drives.push_back(std::move(d));
  }
}

}  // namespace

const std::vector<ObjectKeys>& scenarioObjectKeys() { return detail::kKeys; }

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
    if (doc.contains("payload")) readPayload(r, doc["payload"], s, sources);
    if (doc.contains("services")) readServices(r, doc["services"], s, sources);
    if (doc.contains("drive")) readDrives(r, doc["drive"], s);
    if (doc.contains("probes")) readProbes(r, doc["probes"], s);
    if (doc.contains("expect")) readExpect(r, doc["expect"], s);
  }
  out.errors = r.takeErrors();
  if (!out.errors.empty()) return out;
  out.warnings = lintScenario(s);
  // A warning about a value that came from a unit file names that file and line.
  for (auto& w : out.warnings) {
    if (!w.service || *w.service >= s.services.size() || !s.services[*w.service].files) continue;
    for (const auto& o : s.services[*w.service].files->effective)
      if (o.directive == w.directive && o.where.rfind("scenario ", 0) != 0) {
        w.where = o.where;  // "units/api.service.d/20-oom.conf:3": not a place in the scenario file
        w.json_path.clear();
      }
  }
  const Budget budget = computeBudget(s);
  if (!budget.fits()) out.errors.push_back(Error{source + ": $.services", budget.explain(), ErrorKind::input, "$.services"});
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
                               const std::optional<std::filesystem::path>& units_dir,
                               decltype(ScenarioSources::packaged_units) packaged_units) {
  auto bytes = readScenarioBytes(file);
  if (!bytes) {
    ScenarioCheck out;
    out.errors.push_back(bytes.error());
    return out;
  }
  ScenarioSources sources;
  sources.base_dir = file.parent_path();
  sources.units_dir = units_dir;
  sources.packaged_units = std::move(packaged_units);
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
