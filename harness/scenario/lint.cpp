#include "scenario/lint.hpp"

#include <algorithm>

#include "oom/units.hpp"
#include "scenario/probe_address.hpp"

#include "systemd/restart_rules.hpp"

namespace oom {

std::optional<LoadOverLimit> loadAboveOwnLimit(const ServiceSpec& svc) {
  // (A baseline above MemoryMax= is an error of the parser: OOM-killed before it is ready.)
  const auto value = svc.directive("MemoryHigh");
  const auto limit = value ? parseSize(*value) : Expected<std::uint64_t>(0);  // "infinity", "50%": no size
  if (!value || !limit || *limit == 0) return std::nullopt;
  if (svc.runsOwnCommand()) return std::nullopt;
  const Load& load = *svc.load;
  if (load.baseline_bytes > *limit)
    return LoadOverLimit{"MemoryHigh", "baseline " + formatSize(load.baseline_bytes) + " is above its own MemoryHigh=" + *value};
  if (load.spike && load.baseline_bytes + load.spike->bytes > *limit)
    return LoadOverLimit{"MemoryHigh", "baseline and spike, " + formatSize(load.baseline_bytes + load.spike->bytes) +
                                           ", are above its own MemoryHigh=" + *value};
  return std::nullopt;
}

namespace {

bool probed(const Scenario& s, const std::string& service) {
  return std::any_of(s.probes.begin(), s.probes.end(), [&](const ProbeSpec& p) { return p.service == service; });
}

// A service running its own program: how many processes it has is the program's,
// unknown before the run, so OOMPolicy=continue is worth a word whatever the count.
template <typename About>
void lintOwnPrograms(const Scenario& s, const About& about, std::vector<ScenarioWarning>& warnings) {
  for (std::size_t i = 0; i < s.services.size(); ++i) {
    const auto& svc = s.services[i];
    if (!svc.runsOwnCommand() || svc.directive("OOMPolicy") != "continue") continue;
    warnings.push_back(about(i, "OOMPolicy", "oom-policy-continue",
                             "OOMPolicy=continue on a service that runs its own program: if it has more than one "
                             "process, after one is killed the unit stays active whether or not the rest replaces "
                             "it" + std::string(probed(s, svc.name) ? "; the probes on it show which"
                                                                    : "; add a health probe and a port probe "
                                                                      "(docs/probes.md) so the run shows which")));
  }
}

// The guest's ports on which a service's oomstress answers (load.health_port): its own
// in the guest's network, the host ports a bridged container publishes it on.
std::vector<unsigned> healthPortsInGuest(const ServiceSpec& svc) {
  std::vector<unsigned> ports;
  if (!svc.load || !svc.load->health_port) return ports;
  const unsigned port = svc.load->health_port;
  if (!svc.container || svc.container->network == kContainerNetworkHost) ports.push_back(port);
  else if (svc.container->network == kContainerNetworkBridge)
    for (const auto& published : svc.container->publish)
      if (published.container_port == port) ports.push_back(published.host_port);
  return ports;
}

// Probes that cannot measure what their names promise.
template <typename Wide>
void lintProbes(const Scenario& s, const Wide& scenarioWide, std::vector<ScenarioWarning>& warnings) {
  for (std::size_t i = 0; i < s.probes.size(); ++i) {
    const ProbeSpec& p = s.probes[i];
    const std::string at = "$.probes[" + std::to_string(i) + "]";
    const ServiceSpec* svc = p.service.empty() ? nullptr : s.service(p.service);
    if (!svc || svc->runsOwnCommand() || p.kind == kProbeCommand || svc->files_unread) continue;
    const auto address = p.kind == kProbeHttp ? parseProbeUrl(p.target) : parseProbeHostPort(p.target);
    const auto answers = healthPortsInGuest(*svc);
    if (address && std::find(answers.begin(), answers.end(), address->port) != answers.end()) continue;
    std::string where = "opens no port (no load.health_port)";
    if (!answers.empty()) where = "answers on port " + std::to_string(answers.front()) + " of the guest only";
    else if (svc->load && svc->load->health_port)
      where = "answers on port " + std::to_string(svc->load->health_port) + " inside its container, which no "
              "published port leads to";
    warnings.push_back(scenarioWide(at + ".service", "probe-on-stand-in",
                                    "probe " + p.name + " asks " + p.service + " over the network, but " + p.service +
                                        " runs oomstress (it has a load), which " + where + ": every attempt "
                                        "fails; give its load a health_port the probe reaches, remove its load so it "
                                        "runs its own program, or probe another service"));
  }
}

}  // namespace

std::vector<ScenarioWarning> lintScenario(const Scenario& s) {
  std::vector<ScenarioWarning> warnings;
  // A warning about service i's directive, under `rule`.
  auto about = [&](std::size_t i, const std::string& directive, const char* rule, std::string message) {
    ScenarioWarning w;
    w.json_path = "$.services[" + std::to_string(i) + "].unit." + directive;
    w.where = s.source + ": " + w.json_path;
    w.message = std::move(message);
    w.rule = rule;
    w.service = i;
    w.directive = directive;
    return w;
  };
  auto scenarioWide = [&](std::string json_path, const char* rule, std::string message) {
    ScenarioWarning w;
    w.where = s.source + ": " + json_path;
    w.json_path = std::move(json_path);
    w.message = std::move(message);
    w.rule = rule;
    return w;
  };
  const bool all_protected =
      s.services.size() > 1 && std::all_of(s.services.begin(), s.services.end(), [](const auto& svc) {
        return svc.oomScoreAdjust() < 0;
      });
  if (all_protected)
    warnings.push_back(scenarioWide("$.services", "all-services-protected",
                             "every service has a negative OOMScoreAdjust: protecting everything "
                             "gives the kernel fewer useful choices; pick priorities"));
  for (std::size_t i = 0; i < s.services.size(); ++i) {
    const auto& svc = s.services[i];
    const auto policy = svc.directive("OOMPolicy");
    const auto restart = svc.directive("Restart");
    // With a supervisor even one worker makes two: the master can outlive it.
    const unsigned processes = svc.load ? svc.load->processesInUnit() : 0;
    if (policy == "continue" && processes > 1)
      warnings.push_back(about(i, "OOMPolicy", "oom-policy-continue",
                               "OOMPolicy=continue on a service with " + std::to_string(processes) +
                                   " processes: after one is killed the unit can stay active with "
                                   "part of its workload gone (half-alive); consider OOMPolicy=kill"));
    if (svc.oomScoreAdjust() > 0 && (!restart || *restart == "no") && !(svc.load && svc.load->checkpoint))
      warnings.push_back(about(i, "OOMScoreAdjust", "positive-adjust-no-restart",
                               "positive OOMScoreAdjust=" + std::to_string(svc.oomScoreAdjust()) +
                                   " without Restart= (or a checkpoint): the service is easy to "
                                   "kill and nothing brings it back"));
    if (const auto over = loadAboveOwnLimit(svc))
      warnings.push_back(about(i, over->directive, "load-above-own-limit",
                               over->text + ": held there, a Type=notify unit reaches READY=1 only by reclaiming "
                                   "(into swap, if any) while it starts, and is often killed before it is ready (by "
                                   "systemd-oomd or the kernel), so the run tests nothing; start small and leak "
                                   "instead (load.leak)"));
    if (svc.oomScoreAdjust() == -1000)
      warnings.push_back(about(i, "OOMScoreAdjust", "oom-score-adjust-min",
                               "OOMScoreAdjust=-1000 makes the kernel never choose this service: "
                               "if it is the one leaking, the machine has no way to recover"));
  }
  lintOwnPrograms(s, about, warnings);
  lintProbes(s, scenarioWide, warnings);
  // systemd 252 (bookworm) may end a restarted unit's later OOM kills with
  // Result=signal: when the scenario expects such a kill, the Result check
  // accepts signal for it, and says so.
  for (const auto& [name, u] : s.expect.units) {
    const ServiceSpec* svc = s.service(name);
    if (!svc || u.Result != "oom-kill" || s.guest.release != "bookworm") continue;
    if (!restartsAfter(svc->directive("Restart").value_or(""), "oom-kill")) continue;
    if (!u.oom_kills || u.oom_kills->min.value_or(0) < 2) continue;  // no kill after a restart is expected
    warnings.push_back(scenarioWide("$.expect.units." + name + ".Result", "result-signal-after-restart",
                             "Result \"oom-kill\" on bookworm (systemd 252): after " + name +
                                 " has been restarted, a later OOM kill may end with Result=signal and no "
                                 "OOM message (docs/kernel-and-systemd.md#result-signal-after-a-restart); "
                                 "the check accepts signal for kills after the first restart and says so"));
  }
  return warnings;
}

}  // namespace oom
