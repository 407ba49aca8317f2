// Fuzz target: any bytes as the results channel (one JSON record per line), then
// the whole pipeline after it: the checks judge the timeline against a shipped
// scenario and the reports are rendered. Nothing a guest sends may crash the host.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "checks/verdict.hpp"
#include "plan/planner.hpp"
#include "report/html_report.hpp"
#include "report/report.hpp"
#include "scenario/parse.hpp"
#include "timeline/timeline.hpp"

namespace {
const oom::Scenario& scenario() {
  static const oom::Scenario s = *oom::loadScenarioFile(OOM_SOURCE_DIR "/scenarios/three-services.json").scenario;
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  oom::RunReport report;
  report.scenario = scenario();
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    (void)oom::applyStreamLine(report.timeline, std::string(rest.substr(0, nl)));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  report.verdict = oom::evaluate(report.scenario, report.timeline);
  (void)oom::toResultJson(report).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  (void)oom::junitXml(report);
  (void)oom::summarize(report);
  (void)oom::htmlReport(report);
  return 0;
}
