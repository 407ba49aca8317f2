#include "plan/guest_plan.hpp"

#include "oom/shell.hpp"

namespace oom {

std::string PlannedProbe::asks() const { return kind + " " + (command.empty() ? target : shellLine(command)); }

namespace {
// The fields every PlannedUnit writes (the macro's pair of functions, for a struct of them).
struct PlannedUnitFields {
  std::string service, unit, why;
  std::vector<std::string> exec_start;
  std::vector<UnitProperty> properties;
  std::string systemd_run;
  std::uint64_t baseline_bytes = 0;
  unsigned processes = 1;
  ServiceFiles files;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlannedUnitFields, service, unit, why, exec_start, properties,
                                                systemd_run, baseline_bytes, processes, files)
}  // namespace

void to_json(nlohmann::json& j, const PlannedUnit& u) {
  j = PlannedUnitFields{u.service, u.unit, u.why, u.exec_start, u.properties, u.systemd_run, u.baseline_bytes,
                        u.processes, u.files};
  if (u.inContainer()) j["container"] = u.container;
}

void from_json(const nlohmann::json& j, PlannedUnit& u) {
  const auto f = j.get<PlannedUnitFields>();
  u.service = f.service;
  u.unit = f.unit;
  u.why = f.why;
  u.exec_start = f.exec_start;
  u.properties = f.properties;
  u.systemd_run = f.systemd_run;
  u.baseline_bytes = f.baseline_bytes;
  u.processes = f.processes;
  u.files = f.files;
  u.container = j.contains("container") ? j.at("container").get<PlannedContainer>() : PlannedContainer{};
}

void to_json(nlohmann::json& j, const PlannedProbe& p) {
  j = nlohmann::json{{"name", p.name},       {"why", p.why},         {"service", p.service},
                     {"unit", p.unit},       {"kind", p.kind},       {"target", p.target},
                     {"command", p.command}, {"status", p.status},   {"interval_sec", p.interval_sec},
                     {"timeout_sec", p.timeout_sec}};
  if (p.output) j["output"] = *p.output;
}

void from_json(const nlohmann::json& j, PlannedProbe& p) {
  const PlannedProbe d;
  p.name = j.value("name", d.name);
  p.why = j.value("why", d.why);
  p.service = j.value("service", d.service);
  p.unit = j.value("unit", d.unit);
  p.kind = j.value("kind", d.kind);
  p.target = j.value("target", d.target);
  p.command = j.value("command", d.command);
  p.status = j.value("status", d.status);
  if (j.contains("output")) p.output = j.at("output").get<std::string>();
  p.interval_sec = j.value("interval_sec", d.interval_sec);
  p.timeout_sec = j.value("timeout_sec", d.timeout_sec);
}

}  // namespace oom
