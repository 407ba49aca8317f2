#pragma once
// Why the kernel chose a victim: the tasks it could choose from, ranked as it
// ranked them, from its own task dump ("Tasks state" table) in the OOM report,
// and one plain sentence. The rules are in docs/kernel-and-systemd.md
// (#ranking-the-candidates-of-one-report, #global-and-memcg-oom-constraints).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/timeline_index.hpp"

namespace oom {


struct VictimCandidate {
  int pid = 0;
  std::string name;            // comm as the kernel (or the sample) has it
  std::string title;           // its title as last sampled (ProcessSample::cmdline); "" unknown
  std::string unit;            // "api.service"; "" when the pid was seen in no unit
  std::uint64_t rss_bytes = 0, swap_bytes = 0, pgtables_bytes = 0;
  int oom_score_adj = 0;
  long long badness = 0;       // the kernel's points (task dump); 0 from samples
  int oom_score = 0;           // as /proc/PID/oom_score shows it (0..2000); -1 unknown
  bool victim = false;
};

struct VictimChoice {
  enum class Source {
    task_dump,  // the kernel's own table in its OOM report
    samples,    // no table: the observer's last samples before the kill (its oom_score)
    none,       // no report for this kill (rate-limited): the candidates are unknown
  };
  Source source = Source::none;
  bool memcg = false;                       // CONSTRAINT_MEMCG: only one cgroup's tasks
  std::string scope;                        // the cgroup (memcg) or "the whole guest"
  std::string limit;                        // whose limit was hit (KillLayer::limit); "" for a global OOM
  std::vector<VictimCandidate> candidates;  // highest first, as the kernel ranked them
  std::size_t unkillable = 0;               // listed with oom_score_adj -1000: never chosen
  std::size_t outside_scope = 0;            // sampled tasks left out: outside the memcg
  std::string sentence;                     // why this victim, in plain words
};

VictimChoice explainVictim(const TimelineIndex& index, const OomEvent& event);

// For a victim in a container (event.container): the oom_score_adj it ran with against
// the unit's OOMScoreAdjust=, and conmon's, from the container's setup record, as one
// sentence ending in a full stop.
std::string containerNote(const TimelineIndex& index, const OomEvent& event);

// "score 1419, RSS 516.9MiB, oom_score_adj 600": a candidate as the report's sentence
// and the checks' `why` quote it (the score is oom_score, or the kernel's points).
std::string describeCandidate(const VictimCandidate& candidate, VictimChoice::Source source);

}  // namespace oom
