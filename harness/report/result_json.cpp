#include <fstream>
#include <map>

#include "report/report.hpp"
#include "oom/files.hpp"
#include "scenario/parse.hpp"

namespace oom {

nlohmann::ordered_json toResultJson(const RunReport& r) {
  nlohmann::ordered_json j;
  j["format"] = kResultFormat;
  j["tool_version"] = r.tool_version;
  j["scenario_file"] = r.scenario.source;
  j["scenario"] = r.scenario.document;
  j["verdict"] = nlohmann::json(r.verdict.verdict);
  j["reason"] = r.verdict.reason;
  j["exit_status"] = r.exit_status;
  j["timing"] = {{"started_at", r.started_at}, {"wall_sec", r.wall_sec},
                 {"boot_sec", r.vm.boot_sec}, {"run_sec", r.vm.run_sec},
                 {"pressure_t", r.verdict.pressure_t}};
  j["vm"] = nlohmann::json(r.vm);
  j["guest"] = nlohmann::json(r.timeline.guest);
  std::map<std::string, std::map<std::string, std::string>> applied;
  for (const auto& s : r.timeline.setup) applied[s.unit] = s.applied;
  j["settings_applied"] = applied;
  j["plan"] = nlohmann::json(r.plan);
  j["checks"] = nlohmann::json(r.verdict.checks);
  j["timeline"] = nlohmann::json(r.timeline);
  return j;
}

Expected<RunReport> fromResultJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object() || j.value("format", "") != kResultFormat)
    return fail(source + ": $.format", std::string("expected \"") + kResultFormat + "\"");
  RunReport r;
  try {
    const std::string file = j.value("scenario_file", source);
    auto check = parseScenario(j.at("scenario").dump(), file);
    if (!check.ok()) return fail(source + ": $.scenario", check.errors.front().str());
    r.scenario = std::move(*check.scenario);
    r.tool_version = j.value("tool_version", "");
    r.exit_status = j.at("exit_status").get<int>();
    const auto& timing = j.at("timing");
    r.started_at = timing.value("started_at", "");
    r.wall_sec = timing.value("wall_sec", 0.0);
    r.vm = j.at("vm").get<VmFacts>();
    r.plan = j.at("plan").get<GuestPlan>();
    r.timeline = j.at("timeline").get<Timeline>();
    r.verdict.verdict = j.at("verdict").get<VerdictKind>();
    r.verdict.reason = j.value("reason", "");
    r.verdict.pressure_t = timing.value("pressure_t", 0.0);
    r.verdict.checks = j.at("checks").get<std::vector<CheckResult>>();
  } catch (const nlohmann::json::exception& e) {
    return fail(source, std::string("not a valid result file: ") + e.what());
  }
  return r;
}

std::vector<std::string> writeRunReports(const std::filesystem::path& dir, const RunReport& report) {
  std::vector<std::string> failures;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {dir.string() + ": cannot create the folder: " + ec.message()};
  auto write = [&](const char* name, const std::string& text) {
    if (auto written = writeFileAtomically(dir / name, text); !written)
      failures.push_back(written.error().str());
  };
  // Text from the guest (console tails, comm names) may hold invalid UTF-8: replace it, never throw.
  write("result.json",
        toResultJson(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  write("junit.xml", junitXml(report));
  write("summary.txt", summarize(report));
  return failures;
}

}  // namespace oom
