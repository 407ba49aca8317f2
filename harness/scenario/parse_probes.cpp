// A scenario's `probes`: the clients' view of its services, each an http request,
// a tcp connect or a command, with how often and how long to wait. What a schema
// cannot say (exactly one kind, a known service, unique names) is checked here too.
#include <algorithm>
#include <set>

#include "scenario/probe_address.hpp"
#include "value_reader.hpp"

namespace oom::detail {
namespace {

constexpr const char* kProbeKinds[] = {kProbeHttp, kProbeTcp, kProbeCommand};

bool validProbeName(const std::string& name) {
  return !name.empty() && name.size() <= limits::kMaxProbeNameBytes &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
         });
}

// The one kind the probe names (http, tcp or command); "" (and an error) when it names none or more.
std::string probeKind(Reader& r, const Json& v, const std::string& at) {
  std::vector<std::string> named;
  for (const char* kind : kProbeKinds)
    if (v.contains(kind)) named.emplace_back(kind);
  if (named.size() == 1) return named[0];
  r.error(at, "expected exactly one of http, tcp, command; got " + (named.empty() ? "none" : join(named)));
  return "";
}

void readName(Reader& r, const Json& v, const std::string& at, std::set<std::string>& seen, ProbeSpec& p) {
  auto name = r.string(v, at);
  if (!name) return;
  if (!validProbeName(*name))
    r.error(at, "expected a name of letters, digits and _.- (at most " + std::to_string(limits::kMaxProbeNameBytes) +
                    " bytes); got " + quotedText(*name));
  else if (!seen.insert(*name).second)
    r.error(at, "duplicate probe name " + quotedText(*name) + "; names must be unique");
  else
    p.name = *name;
}

void readService(Reader& r, const Json& v, const std::string& at, const Scenario& s, ProbeSpec& p) {
  auto name = r.string(v, at);
  if (!name) return;
  if (s.service(*name)) {
    p.service = *name;
    return;
  }
  std::vector<std::string> names;
  for (const auto& svc : s.services)
    if (!svc.name.empty()) names.push_back(svc.name);
  r.error(at, "no service named " + quotedText(*name) + "; services are " + join(names));
}

// An http URL or a tcp HOST:PORT, checked with the grammar the guest splits it by.
void readTarget(Reader& r, const Json& v, const std::string& at, ProbeSpec& p) {
  auto text = r.string(v, at);
  if (!text) return;
  if (text->size() > limits::kMaxProbeTargetBytes) {
    r.error(at, "expected at most " + std::to_string(limits::kMaxProbeTargetBytes) + " bytes; got " +
                    std::to_string(text->size()));
    return;
  }
  const auto address = p.kind == kProbeHttp ? parseProbeUrl(*text) : parseProbeHostPort(*text);
  if (!address) {
    r.error(at, "expected " + address.error() + "; got " + quotedText(*text));
    return;
  }
  p.target = *text;
}

// A probe of a service in a container must be able to reach it: from the guest, a
// container answers on the guest's network (host) or on a port Podman publishes.
void checkReachesContainer(Reader& r, const std::string& at, const Scenario& s, const ProbeSpec& p) {
  const ServiceSpec* svc = s.service(p.service);
  if (!svc || !svc->container || p.target.empty()) return;
  const auto address = p.kind == kProbeHttp ? parseProbeUrl(p.target) : parseProbeHostPort(p.target);
  if (!address) return;
  const ContainerSpec& c = *svc->container;
  // A Quadlet file not read (a stored scenario's) holds a network this cannot know.
  if (c.fromQuadlet() && svc->files_unread) return;
  const std::string port = std::to_string(address->port);
  if (c.network == kContainerNetworkNone) {
    r.error(at, "probes " + quotedText(p.service) + ", whose container has no network (" +
                    (c.fromQuadlet() ? "the harness runs a Quadlet container with Network=none"
                                     : "container.network \"none\", the default") +
                    "): nothing in the guest can reach port " + port + (c.fromQuadlet() ? "" :
                    "; expected \"network\": \"host\" in its container, or \"publish\": [\"" + port + ":" + port +
                    "\"]"));
    return;
  }
  if (c.network != kContainerNetworkBridge) return;
  const bool published = std::any_of(c.publish.begin(), c.publish.end(), [&](const PublishedPort& pp) {
    return pp.host_port == address->port && (pp.host_ip.empty() || pp.host_ip == address->ipv4());
  });
  if (!published) {
    std::vector<std::string> ports;
    for (const auto& pp : c.publish) ports.push_back(pp.text());
    r.error(at, "probes " + quotedText(p.service) + " at " + address->ipv4() + ":" + port + ", which its container "
                    "does not publish (publish: " + (ports.empty() ? "none" : join(ports)) +
                    "); expected a published host port and address");
  }
}

void readCommand(Reader& r, const Json& v, const std::string& at, ProbeSpec& p) {
  if (!v.is_array() || v.empty() || v.size() > limits::kMaxCommandWords) {
    r.error(at, "expected an array of 1 to " + std::to_string(limits::kMaxCommandWords) +
                    " words (argv, such as [\"redis-cli\", \"ping\"]); got " + shown(v));
    return;
  }
  std::vector<std::string> argv;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (auto word = r.text(v[i], Reader::index(at, i))) argv.push_back(*word);
  if (argv.size() != v.size()) return;
  // Absolute, or a name looked up in PATH: a relative path would depend on the agent's folder.
  if (argv[0].find('/') != std::string::npos && argv[0][0] != '/') {
    r.error(Reader::index(at, 0), "expected an absolute path or a program name looked up in PATH; got " +
                                      quotedText(argv[0]));
    return;
  }
  p.command = std::move(argv);
}

// A duration within [lo, hi]; `lo_open`: more than lo.
std::optional<double> boundedDuration(Reader& r, const Json& v, const std::string& at, double lo, bool lo_open,
                                      double hi) {
  auto d = r.duration(v, at);
  if (!d) return d;
  if ((lo_open ? *d <= lo : *d < lo) || *d > hi) {
    r.error(at, "expected a duration " + std::string(lo_open ? "more than " : "of at least ") +
                    formatDuration(Seconds(lo)) + " and at most " + formatDuration(Seconds(hi)) + "; got " + shown(v));
    return std::nullopt;
  }
  return d;
}

ProbeSpec readProbe(Reader& r, const Json& v, const std::string& at, const Scenario& s,
                    std::set<std::string>& seen) {
  ProbeSpec p;
  if (!r.object(v, at, "probe")) return p;
  if (v.contains("name")) readName(r, v["name"], at + ".name", seen, p);
  if (v.contains("why"))
    if (auto why = r.text(v["why"], at + ".why")) p.why = *why;
  if (v.contains("service")) readService(r, v["service"], at + ".service", s, p);
  p.kind = probeKind(r, v, at);
  if (p.kind == kProbeHttp || p.kind == kProbeTcp) {
    readTarget(r, v[p.kind], at + "." + p.kind, p);
    checkReachesContainer(r, at + "." + p.kind, s, p);
  }
  if (p.kind == kProbeCommand) readCommand(r, v[p.kind], at + ".command", p);
  if (v.contains("status")) {
    if (p.kind != kProbeHttp) r.error(at + ".status", "only an http probe has a status; this one is " + p.kind);
    else if (auto n = r.count(v["status"], at + ".status", 100, 599)) p.status = static_cast<int>(*n);
  }
  if (v.contains("output")) {
    if (p.kind == kProbeTcp) r.error(at + ".output", "a tcp probe reads no output; expected it on http or command");
    else p.output = r.text(v["output"], at + ".output");
  }
  if (v.contains("interval"))
    if (auto d = boundedDuration(r, v["interval"], at + ".interval", limits::kMinProbeIntervalSec, false,
                                 limits::kMaxProbeIntervalSec))
      p.interval_sec = *d;
  if (v.contains("timeout"))
    if (auto d = boundedDuration(r, v["timeout"], at + ".timeout", 0, true, limits::kMaxProbeTimeoutSec))
      p.timeout_sec = *d;
  return p;
}

}  // namespace

void readProbes(Reader& r, const Json& v, Scenario& s) {
  const std::string path = "$.probes";
  if (!v.is_array() || v.size() > limits::kMaxProbes) {
    r.error(path, "expected an array of at most " + std::to_string(limits::kMaxProbes) + " probes; got " +
                      (v.is_array() ? std::to_string(v.size()) + " probes" : shown(v)));
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < v.size(); ++i) s.probes.push_back(readProbe(r, v[i], Reader::index(path, i), s, seen));
}

}  // namespace oom::detail
