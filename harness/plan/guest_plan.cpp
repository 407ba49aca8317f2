#include "plan/guest_plan.hpp"

#include "oom/shell.hpp"

namespace oom {

std::string PlannedProbe::asks() const { return kind + " " + (command.empty() ? target : shellLine(command)); }

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
