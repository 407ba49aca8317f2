#pragma once
// A run report built from a recording (tests/checks/fixtures/recorded-*.jsonl are
// real guest runs) judged against its shipped scenario, as `oomharness evaluate`
// builds one, with the VM facts a real run would add.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "plan/planner.hpp"
#include "report/report.hpp"
#include "run/exit_status.hpp"
#include "scenario/parse.hpp"

namespace oomtest {

inline std::filesystem::path sourceDir() { return OOM_SOURCE_DIR; }

inline oom::RunReport recordedRun(const std::string& scenario, const std::string& fixture) {
  oom::RunReport r;
  auto c = oom::loadScenarioFile(sourceDir() / "scenarios" / scenario);
  EXPECT_TRUE(c.ok()) << scenario;
  if (!c.ok()) return r;
  r.scenario = *c.scenario;
  r.plan = *oom::makeGuestPlan(r.scenario);
  std::ifstream in(sourceDir() / "tests/checks/fixtures" / fixture);
  EXPECT_TRUE(in) << fixture;
  for (std::string line; std::getline(in, line);) oom::applyStreamLine(r.timeline, line);
  r.verdict = oom::evaluate(r.scenario, r.timeline);
  r.vm.accelerator = "tcg";
  r.vm.qemu_version = "7.2.11";
  r.vm.image = "bookworm-cloud";
  r.vm.boot_sec = 6.1;
  r.vm.run_sec = 70.2;
  r.started_at = "2026-11-29T12:00:00Z";
  r.wall_sec = 75.5;
  r.exit_status = oom::exitStatusFor(r.verdict.verdict);
  return r;
}

struct Recording {
  const char* fixture;
  const char* scenario;
};

// Every recording with a kill, both releases.
inline const std::vector<Recording>& killRecordings() {
  static const std::vector<Recording> all = {
      {"recorded-three-services-bookworm.jsonl", "three-services.json"},
      {"recorded-three-services-trixie.jsonl", "three-services.json"},
      {"recorded-batch-stop-checkpoint-bookworm.jsonl", "batch-stop-checkpoint.json"},
      {"recorded-image-worker-bookworm.jsonl", "image-worker.json"},
      {"recorded-image-worker-trixie.jsonl", "image-worker.json"},
      {"recorded-thrash-no-swap-bookworm.jsonl", "thrash-no-swap.json"},
      {"recorded-thrash-no-swap-trixie.jsonl", "thrash-no-swap.json"},
      {"recorded-memorymax-contained-trixie.jsonl", "memorymax-contained.json"},
      {"recorded-memorymax-contained-bookworm.jsonl", "memorymax-contained.json"},
      {"recorded-restart-loop-bookworm.jsonl", "restart-loop.json"},
      {"recorded-restart-loop-trixie.jsonl", "restart-loop.json"},
      {"recorded-burst-many-small-bookworm.jsonl", "burst-many-small.json"},
      {"recorded-burst-many-small-trixie.jsonl", "burst-many-small.json"},
  };
  return all;
}

inline std::size_t occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace oomtest
