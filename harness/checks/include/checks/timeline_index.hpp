#pragma once
// The timeline regrouped the way the checks ask questions: OOM events per unit
// (a chosen victim with its group-killed siblings), and unit invocations.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checks/verdict.hpp"
#include "scenario/scenario.hpp"
#include "timeline/message_ids.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// One kernel OOM decision: the victim the kernel chose, plus the members of its
// memory.oom.group killed with it (OOMPolicy=kill). A unit's kill count counts these.
struct OomEvent {
  double t = 0;
  std::string unit;                        // "report-worker.service"; "" when not a unit
  const KernelOomKill* victim = nullptr;   // chosen victim (or the first group member if none)
  std::vector<const KernelOomKill*> members;  // every record of this event, victim first
  std::string InvocationID;                // the invocation the victim belonged to, if known
  // The victim's container (Podman's id), when its cgroup names one that a unit of the
  // scenario ran: `unit` is then that unit, though the kernel saw a scope outside it.
  std::string container;
};

// One candidate in systemd-oomd's ranking: its cgroup and the figures oomd printed
// for it, in its order ("Swap Usage" = "170.8M"; for pressure kills "Pressure",
// "Current Memory Usage", "Pgscan" and the like).
struct OomdCandidate {
  std::string cgroup;                                        // "/batch.slice/batch.service"
  std::string unit;                                          // "batch.service" (its last component)
  std::vector<std::pair<std::string, std::string>> figures;  // in oomd's order
};

// The ranking systemd-oomd logs before it acts: "Considered N cgroups for killing,
// top candidates were:" and the first candidates in its order (at most 10 are
// listed; a cgroup marked ManagedOOMPreference=avoid is ranked after all others).
struct OomdRanking {
  double t = 0;
  std::size_t considered = 0;                 // N of the header
  const JournalRecord* header = nullptr;
  std::vector<OomdCandidate> candidates;      // as listed, first = oomd's first choice
  const OomdCandidate* find(const std::string& unit) const;
};

// The layer that decided a kernel OOM event (scenario.hpp kLayer*): from its
// constraint and the cgroup whose limit was hit (oom_memcg), against the container
// ids and the unit's own cgroup. `words` names the limit for people.
struct KillLayer {
  std::string layer;  // kLayerContainer, kLayerUnit, kLayerSlice or kLayerKernel
  std::string limit;  // "the container's memory limit (--memory)", "the unit's MemoryMax=", ...
  std::string words;  // limit and cgroup: "the container's memory limit (--memory) of /machine.slice/..."
};

// True for systemd-oomd's "Killed <cgroup> due to ..." record (not a ranking line).
bool isOomdKillRecord(const JournalRecord& j);

// One systemd-oomd kill of a unit: systemd's UNIT_OOMD_KILL message ("systemd-oomd
// killed N process(es) in this unit"), with oomd's own "Killed <cgroup> due to ..."
// line when the journal had it (the pressure or swap figure that triggered it).
struct OomdKill {
  double t = 0;
  std::string unit;
  std::string InvocationID;
  const JournalRecord* message = nullptr;  // PID 1's UNIT_OOMD_KILL
  const JournalRecord* reason = nullptr;   // systemd-oomd's, or nullptr
  const OomdRanking* ranking = nullptr;    // the ranking logged just before, or nullptr
};

// systemd's ActiveState of a unit that is not running: deactivating, inactive or failed.
bool isStopped(const std::string& active_state);

// The pids a sample saw (the argument TimelineIndex::invocationAt takes).
std::vector<int> pidsOf(const MemorySample& sample);

// One run of a unit between starts: systemd's InvocationID.
struct Invocation {
  std::string unit;
  std::string InvocationID;
  double first_t = 0, last_t = 0;
  std::vector<const UnitStateChange*> states;   // in time order
  std::set<int> pids;                           // every pid seen in it (states and kills)
  std::optional<double> active_t;               // first time ActiveState=active
  std::optional<double> ended_t;                // first deactivating/inactive/failed after active
  std::string result;                           // first Result other than "" and "success"
  int main_pid = 0;                             // first MainPID systemd reported for it
  std::uint32_t nrestarts = 0;                  // NRestarts when it began (the restart that started it)
};

// The cause of a hole in the samples that no gap record explains (TimelineIndex::sampleHoles).
inline constexpr const char* kGapHole = "samples missing";

class TimelineIndex {
 public:
  explicit TimelineIndex(const Timeline& timeline);

  const Timeline& timeline() const { return timeline_; }
  // The unit that ran a container, by its id (from the "container" records and Podman's
  // journal events), or "" when none of the recorded units did.
  std::string unitOfContainer(const std::string& id) const;
  // The container a kill's victim was in (its task_memcg names it), or "".
  static std::string containerOf(const KernelOomKill& k);
  KillLayer layerOf(const OomEvent& e) const;
  // In time order; a victim recorded twice in one invocation is one event.
  const std::vector<OomEvent>& events() const { return events_; }
  std::size_t duplicateKills() const { return duplicate_kills_; }  // the records folded so
  std::vector<const OomEvent*> eventsIn(const std::string& unit) const;
  std::vector<const KernelOomKill*> killsIn(const std::string& unit) const;  // every record
  std::vector<const Invocation*> invocationsOf(const std::string& unit) const;  // by first_t
  const Invocation* invocation(const std::string& unit, const std::string& id) const;
  // The invocation systemd started after the one a kill at t hit (killed_id; "" if unknown).
  const Invocation* nextInvocation(const std::string& unit, double t, const std::string& killed_id) const;
  // systemd's last word on `unit` at or before `until` (by default, of the whole timeline).
  const UnitStateChange* lastState(const std::string& unit,
                                   double until = std::numeric_limits<double>::infinity()) const;
  std::vector<const JournalRecord*> journalFor(const std::string& unit, const std::string& message_id) const;
  const UnitSetup* setupOf(const std::string& unit) const;
  const std::vector<OomdKill>& oomdKills() const { return oomd_kills_; }  // in time order
  const std::vector<OomdRanking>& oomdRankings() const { return oomd_rankings_; }  // in time order
  std::vector<const OomdKill*> oomdKillsIn(const std::string& unit) const;
  // Per unit, the last sample at or before t and at most max_age older (for the
  // scores just before a kill; older samples may describe processes long gone).
  std::vector<const MemorySample*> samplesBefore(double t, double max_age = 5.0) const;
  // The unit's samples in time order, and the invocation a sample belongs to (by
  // its pids, else the unit's latest invocation begun by then).
  std::vector<const MemorySample*> samplesOf(const std::string& unit) const;
  const Invocation* invocationAt(const std::string& unit, double t, const std::vector<int>& pids = {}) const;
  // The first and last guest timestamps of any record (a gap counts to its end);
  // times that are negative or not finite are no time. Empty: first > last.
  struct Span {
    double first = 0, last = -1;
    bool empty() const { return first > last; }
  };
  Span span() const;
  double endT() const;            // span().last, or 0 for a timeline without a time
  double pressureT() const;       // phase "pressure", else the first setup/state record
  // Stretches without a guest sample that no observer_gap record accounts for (the
  // records are missing): found by the host, worded as gaps with cause kGapHole.
  const std::vector<ObserverGap>& sampleHoles() const { return sample_holes_; }
  std::optional<double> phaseT(const std::string& name) const;  // first phase of that name

 private:
  const Timeline& timeline_;
  std::map<std::string, std::string> container_units_;  // container id -> unit
  std::vector<OomEvent> events_;
  std::size_t duplicate_kills_ = 0;
  std::vector<Invocation> invocations_;
  std::vector<OomdRanking> oomd_rankings_;  // filled before oomd_kills_ points into it
  std::vector<OomdKill> oomd_kills_;
  std::vector<ObserverGap> sample_holes_;
  void findSampleHoles();
};

// Evidence builders: one line a reader can match against the raw logs.
Evidence killEvidence(const KernelOomKill& k);
Evidence stateEvidence(const UnitStateChange& s);
Evidence journalEvidence(const JournalRecord& j);
// PID 1's message, then oomd's reason when known, as one line.
Evidence oomdKillEvidence(const OomdKill& k);
// "systemd-oomd weighed 11 cgroup(s); listed first: /batch.slice/batch.service (Swap
// Usage 170.8M), ..." with at most `shown` candidates; "" without a ranking.
std::string oomdRankingText(const OomdKill& k, std::size_t shown = 3);
// What systemd-oomd weighed, from the observer's own samples: each scenario unit's
// swap in the last sample before the kill and its ManagedOOMPreference, the unit with
// the most swap first: "cache.service 372.1MiB swap (ManagedOOMPreference=avoid),
// batch.service 45.1MiB swap (none)". "" when no sample read memory.swap.current, or
// none of the units held any swap.
std::string oomdSwapBefore(const TimelineIndex& index, const Scenario& scenario, const OomdKill& k);

}  // namespace oom
