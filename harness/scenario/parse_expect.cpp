// A scenario's `expect`: every key of expectations.def read by its kind, then what a
// schema cannot say (services that exist, keys that agree, settings an expectation needs).
#include <algorithm>
#include <set>

#include "scenario/expectations.hpp"
#include "value_reader.hpp"

namespace oom::detail {
namespace {

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
  } else if constexpr (K == ExpectationKind::ratio) {
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
      r.error(at, "expected a number from 0 to 1 (the share of attempts that succeed, 0.95 for 95 %); got " +
                      shown(v));
    else out = v.get<double>();
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
  if (u.resumes_from_checkpoint && svc && !(svc->load && svc->load->checkpoint))
    r.error(at + ".resumes_from_checkpoint",
            "expected only for a service whose load has \"checkpoint\": true; " + name + " keeps no checkpoint");
  if (u.throttled_not_killed && svc && !svc->files_unread && !svc->directive("MemoryHigh")) {
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
  if (u.decided_by) {
    const std::string& d = *u.decided_by;
    if (d != kLayerContainer && d != kLayerUnit && d != kLayerSlice && d != kLayerOomd && d != kLayerKernel)
      r.error(at + ".decided_by", "expected one of container (its memory limit), unit (MemoryMax=), slice (a "
                                  "limit above the unit), systemd-oomd, kernel (the whole guest); got " + quotedText(d));
    else if (d == kLayerContainer && svc && !svc->container)
      r.error(at + ".decided_by", "expects the container's limit to decide, but " + quotedText(name) +
                                      " runs in no container (add \"container\" to the service)");
    else if (d == kLayerContainer && svc && svc->container && !svc->container->memory_bytes &&
             !svc->files_unread)  // a Quadlet file not read (a stored scenario): its limit is unknown
      r.error(at + ".decided_by", "expects the container's limit to decide, but " + quotedText(name) +
                                      "'s container has none (set container.memory)");
    else if (d == kLayerOomd && !s.oomd)
      r.error(at + ".decided_by",
              "expects systemd-oomd, which this scenario does not enable (add \"systemd_oomd\": {})");
  }
  if (u.restarted_by) {
    const std::string& by = *u.restarted_by;
    const bool podman = svc && svc->container && svc->container->restart != "no";
    const bool systemd = svc && svc->directive("Restart").value_or("no") != "no";
    if (by != "systemd" && by != "podman" && by != "both" && by != "neither")
      r.error(at + ".restarted_by", "expected one of systemd, podman, both, neither; got " + quotedText(by));
    else if (svc && !svc->container)
      r.error(at + ".restarted_by", "is about a container's restarts, and " + quotedText(name) +
                                        " runs in none (use restarts for systemd's)");
    else if ((by == "podman" || by == "both") && svc && !podman)
      r.error(at + ".restarted_by", "expects Podman to restart it, but its container.restart is \"no\"");
    else if ((by == "systemd" || by == "both") && svc && !svc->files_unread && !systemd)
      r.error(at + ".restarted_by", "expects systemd to restart it, but its unit sets no Restart= (or Restart=no)");
  }
  if (u.oom_killed && svc && !svc->container)
    r.error(at + ".oom_killed", "is about a container, and " + quotedText(name) +
                                    " runs in none (use oom_kills for a unit's own processes)");
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

// `expect.probes`: an object keyed by the name of one of the scenario's probes.
void readProbeExpectations(Reader& r, const Json& v, const std::string& path, Scenario& s) {
  if (!v.is_object()) {
    r.error(path, "expected an object keyed by probe name; got " + shown(v));
    return;
  }
  for (const auto& [name, pv] : v.items()) {
    const std::string at = Reader::key(path, name);
    const ProbeSpec* probe = s.probe(name);
    if (!probe) {
      std::vector<std::string> names;
      for (const auto& p : s.probes) names.push_back(p.name);
      r.error(at, "no probe named " + quotedText(name) +
                      (names.empty() ? "; the scenario has no \"probes\"" : "; probes are " + join(names)));
      continue;
    }
    if (!r.object(pv, at, "probeExpectation")) continue;
    ProbeExpectation p;
#define OOM_EXPECTATION_scenario(key, kind)
#define OOM_EXPECTATION_unit(key, kind)
#define OOM_EXPECTATION_probe(key, kind) OOM_EXPECTATION_READ(key, kind, pv, at, p)
#define OOM_EXPECTATION(key, scope, kind, plan) OOM_EXPECTATION_##scope(key, kind)
#include "scenario/expectations.def"
#undef OOM_EXPECTATION_scenario
#undef OOM_EXPECTATION_unit
#undef OOM_EXPECTATION_probe
#undef OOM_EXPECTATION
    if (p.recovers_within && probe->service.empty())
      r.error(at + ".recovers_within", "measures from each kill of the probe's service; set \"service\" on probe " +
                                           quotedText(name));
    if (!p.namesAnExpectation())
      r.error(at, "expected at least one expectation for probe " + quotedText(name) + " (" +
                      keyList(ExpectationScope::probe) + ")");
    s.expect.probes.emplace_back(name, std::move(p));
  }
}

}  // namespace

void readExpect(Reader& r, const Json& v, Scenario& s) {
  const std::string path = "$.expect";
  if (!r.object(v, path, "expect")) return;
  Expectations& e = s.expect;
#define OOM_EXPECTATION_scenario(key, kind) OOM_EXPECTATION_READ(key, kind, v, path, e)
#define OOM_EXPECTATION_unit(key, kind)
#define OOM_EXPECTATION_probe(key, kind)
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
  if (v.contains("probes")) readProbeExpectations(r, v["probes"], path + ".probes", s);
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
#undef OOM_EXPECTATION_probe
#undef OOM_EXPECTATION
#undef OOM_EXPECTATION_READ


}  // namespace oom::detail
