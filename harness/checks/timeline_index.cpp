#include "checks/timeline_index.hpp"

#include "guest/containers.hpp"

#include <algorithm>
#include <set>
#include <cmath>
#include <limits>
#include <cstdio>
#include <map>

#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {
// Group-kill lines follow their victim's within this window (same OOM invocation).
constexpr double kGroupWindowSec = 2.0;
}  // namespace

bool isStopped(const std::string& active_state) {
  return active_state == "deactivating" || active_state == "inactive" || active_state == "failed";
}

std::vector<int> pidsOf(const MemorySample& sample) {
  std::vector<int> pids;
  for (const auto& p : sample.processes) pids.push_back(p.pid);
  return pids;
}

namespace {
// oomd's own line and PID 1's message about one kill are logged within this of each other.
constexpr double kOomdReasonWindowSec = 5.0;
}  // namespace

std::vector<const OomdKill*> TimelineIndex::oomdKillsIn(const std::string& unit) const {
  std::vector<const OomdKill*> out;
  for (const auto& k : oomd_kills_)
    if (k.unit == unit) out.push_back(&k);
  return out;
}

Evidence oomdKillEvidence(const OomdKill& k) {
  Evidence e = journalEvidence(*k.message);
  if (k.reason) e.text += " | systemd-oomd: " + k.reason->MESSAGE;
  return e;
}

bool isOomdKillRecord(const JournalRecord& j) {
  const auto source = j.fields.find("SOURCE");
  return source != j.fields.end() && source->second == kOomdUnit && isOomdKillLine(j.MESSAGE);
}

const OomdCandidate* OomdRanking::find(const std::string& unit) const {
  for (const auto& c : candidates)
    if (c.unit == unit) return &c;
  return nullptr;
}

std::string oomdRankingText(const OomdKill& k, std::size_t shown) {
  if (!k.ranking) return "";
  const OomdRanking& r = *k.ranking;
  std::string out = "systemd-oomd weighed " + std::to_string(r.considered) + " cgroup(s)";
  if (r.candidates.empty()) return out;
  out += "; listed first: ";
  for (std::size_t i = 0; i < r.candidates.size() && i < shown; ++i) {
    const OomdCandidate& c = r.candidates[i];
    std::string figures;
    for (const auto& [name, value] : c.figures) figures += (figures.empty() ? "" : ", ") + name + " " + value;
    out += (i ? ", " : "") + c.cgroup + (figures.empty() ? "" : " (" + figures + ")");
  }
  if (r.candidates.size() > shown) out += ", and " + std::to_string(r.candidates.size() - shown) + " more listed";
  return out;
}

std::string oomdSwapBefore(const TimelineIndex& index, const Scenario& scenario, const OomdKill& k) {
  std::vector<std::pair<std::uint64_t, std::string>> units;
  for (const MemorySample* s : index.samplesBefore(k.reason ? k.reason->t : k.t)) {
    const ServiceSpec* svc = scenario.serviceForUnit(s->unit);
    if (!svc || !s->memory_swap_current) continue;
    units.emplace_back(*s->memory_swap_current, s->unit + " " + formatSize(*s->memory_swap_current) +
                                                    " swap (ManagedOOMPreference=" +
                                                    svc->directive("ManagedOOMPreference").value_or("none") + ")");
  }
  std::stable_sort(units.begin(), units.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (units.empty() || units.front().first == 0) return "";  // no swap in use: nothing it could weigh
  std::string out;
  for (const auto& u : units) out += (out.empty() ? "" : ", ") + u.second;
  return out;
}

namespace {
// systemd-oomd's rankings from its journal lines, in order: a header starts one, a
// "Path:" line starts a candidate, any other indented "Name: value" line is a figure.
std::vector<OomdRanking> oomdRankingsOf(const Timeline& timeline) {
  std::vector<const JournalRecord*> lines;
  for (const auto& j : timeline.journal) {
    const auto source = j.fields.find("SOURCE");
    if (source != j.fields.end() && source->second == kOomdUnit && isOomdRankingLine(j.MESSAGE)) lines.push_back(&j);
  }
  std::stable_sort(lines.begin(), lines.end(), [](auto* a, auto* b) { return a->t < b->t; });
  std::vector<OomdRanking> out;
  for (const JournalRecord* j : lines) {
    const std::string& m = j->MESSAGE;
    if (m.rfind(kOomdRankingPrefix.data(), 0, kOomdRankingPrefix.size()) == 0) {
      OomdRanking r;
      r.t = j->t;
      r.header = j;
      r.considered = leadingNumber<std::size_t>(m.substr(kOomdRankingPrefix.size())).value_or(0);
      out.push_back(std::move(r));
      continue;
    }
    if (out.empty()) continue;  // a candidate line whose header the journal did not keep
    const auto start = m.find_first_not_of(" \t");
    const auto colon = m.find(':', start);
    if (start == std::string::npos || colon == std::string::npos) continue;
    const std::string name = m.substr(start, colon - start);
    const auto value_at = m.find_first_not_of(' ', colon + 1);
    const std::string value = value_at == std::string::npos ? "" : m.substr(value_at);
    OomdRanking& r = out.back();
    if (name == "Path") {
      r.candidates.push_back(OomdCandidate{value, value.substr(value.rfind('/') + 1), {}});
    } else if (!r.candidates.empty()) {
      r.candidates.back().figures.emplace_back(name, value);
    }
  }
  return out;
}
}  // namespace

TimelineIndex::TimelineIndex(const Timeline& timeline) : timeline_(timeline) {
  oomd_rankings_ = oomdRankingsOf(timeline);
  for (const auto& j : timeline.journal) {
    if (j.MESSAGE_ID != kMsgUnitOomdKill) continue;
    const bool again = std::any_of(oomd_kills_.begin(), oomd_kills_.end(), [&](const OomdKill& k) {
      return k.t == j.t && k.unit == j.unit && k.message->MESSAGE == j.MESSAGE;
    });
    if (again) continue;
    OomdKill k{j.t, j.unit, j.INVOCATION_ID, &j, nullptr};
    for (const auto& r : timeline.journal) {
      if (!isOomdKillRecord(r) || r.unit != j.unit) continue;
      if (std::abs(r.t - j.t) <= kOomdReasonWindowSec && (!k.reason || std::abs(r.t - j.t) < std::abs(k.reason->t - j.t)))
        k.reason = &r;
    }
    // The ranking is logged just before oomd's own line: the last one begun by then.
    const double decided = k.reason ? k.reason->t : j.t;
    for (const auto& r : oomd_rankings_)
      if (r.t <= decided && decided - r.t <= kOomdReasonWindowSec) k.ranking = &r;
    oomd_kills_.push_back(k);
  }
  std::stable_sort(oomd_kills_.begin(), oomd_kills_.end(), [](const OomdKill& a, const OomdKill& b) { return a.t < b.t; });
  // Invocations from state changes.
  std::vector<const UnitStateChange*> states;
  for (const auto& s : timeline.states) states.push_back(&s);
  std::stable_sort(states.begin(), states.end(), [](auto* a, auto* b) { return a->t < b->t; });
  std::map<std::pair<std::string, std::string>, std::size_t> by_id;
  for (const UnitStateChange* s : states) {
    if (s->InvocationID.empty()) continue;
    auto [it, fresh] = by_id.try_emplace({s->unit, s->InvocationID}, invocations_.size());
    if (fresh) {
      invocations_.push_back(Invocation{s->unit, s->InvocationID, s->t, s->t, {}, {}, {}, {}, {}, 0, s->NRestarts});
    }
    Invocation& inv = invocations_[it->second];
    const bool between = s->SubState.rfind("auto-restart", 0) == 0;
    if (inv.main_pid == 0 && s->MainPID > 0 && !between) inv.main_pid = s->MainPID;
    inv.last_t = s->t;
    inv.states.push_back(s);
    // Between invocations (auto-restart; systemd 254+ adds auto-restart-queued) the
    // killed invocation's processes are gone: any process in the cgroup then is the
    // next invocation's, already forked while the state still carries the old ID.
    if (!between) {
      inv.pids.insert(s->pids.begin(), s->pids.end());
      if (s->MainPID > 0) inv.pids.insert(s->MainPID);
    }
    if (s->ActiveState == "active" && !inv.active_t) inv.active_t = s->t;
    if (inv.active_t && !inv.ended_t && isStopped(s->ActiveState)) inv.ended_t = s->t;
    if (inv.result.empty() && !s->Result.empty() && s->Result != "success") inv.result = s->Result;
  }
  // Containers the units ran: Podman's records, and its events in the units' journal.
  for (const auto& c : timeline.containers)
    if (!c.id.empty() && !c.unit.empty()) container_units_.emplace(c.id, c.unit);
  for (const auto& j : timeline.journal)
    if (const auto e = podmanEvent(j); e && !e.id.empty() && !j.unit.empty())
      container_units_.emplace(std::string(e.id), j.unit);
  // A victim in a container of one of the units is that unit's, wherever its cgroup is.
  const auto unitOf = [&](const KernelOomKill& k) {
    const std::string unit = unitOfContainer(containerOf(k));
    return unit.empty() ? k.unit : unit;
  };
  // OOM events: each chosen victim, then group members close after it in the same unit.
  std::vector<const KernelOomKill*> kills;
  for (const auto& k : timeline.kills) kills.push_back(&k);
  std::stable_sort(kills.begin(), kills.end(), [](auto* a, auto* b) { return a->t < b->t; });
  for (const KernelOomKill* k : kills) {
    // The same process's line relayed twice: one kill (a process dies once).
    const bool again = std::any_of(events_.rbegin(), events_.rend(), [&](const OomEvent& e) {
      return e.unit == unitOf(*k) && std::abs(k->t - e.t) <= kGroupWindowSec &&
             std::any_of(e.members.begin(), e.members.end(), [&](const KernelOomKill* m) { return m->pid == k->pid; });
    });
    if (again) {
      ++duplicate_kills_;
      continue;
    }
    if (k->group_kill) {
      auto owner = std::find_if(events_.rbegin(), events_.rend(), [&](const OomEvent& e) {
        return e.unit == unitOf(*k) && k->t - e.t <= kGroupWindowSec;
      });
      if (owner != events_.rend()) {
        owner->members.push_back(k);
        continue;
      }
    }
    const std::string container = containerOf(*k);
    events_.push_back(OomEvent{k->t, unitOf(*k), k, {k}, {}, unitOfContainer(container).empty() ? "" : container});
  }
  // The invocation each event hit: by pid, else the unit's invocation running at that time.
  for (auto& e : events_) {
    for (const auto& inv : invocations_) {
      if (inv.unit != e.unit) continue;
      if (inv.pids.count(e.victim->pid)) { e.InvocationID = inv.InvocationID; break; }
    }
    if (!e.InvocationID.empty()) continue;
    const Invocation* best = nullptr;
    for (const auto& inv : invocations_)
      if (inv.unit == e.unit && inv.first_t <= e.t && (!best || inv.first_t > best->first_t)) best = &inv;
    if (best) e.InvocationID = best->InvocationID;
  }
  // A process dies once: a second record of a victim already killed in the same
  // invocation (a line relayed twice) is the same kill, not another one.
  std::set<std::pair<int, std::string>> killed;  // (pid, unit + InvocationID)
  std::vector<OomEvent> unique;
  for (auto& e : events_) {
    if (!killed.insert({e.victim->pid, e.unit + "/" + e.InvocationID}).second) {
      ++duplicate_kills_;
      continue;
    }
    for (const auto* m : e.members) killed.insert({m->pid, e.unit + "/" + e.InvocationID});
    unique.push_back(std::move(e));
  }
  events_ = std::move(unique);
  for (const auto& e : events_)
    for (auto& inv : invocations_)
      if (inv.unit == e.unit && inv.InvocationID == e.InvocationID)
        for (const auto* m : e.members) inv.pids.insert(m->pid);
  findSampleHoles();
}

// The sampler writes a gap record whenever it goes without a sample for longer than
// sampleGapAfterSec(its interval); a longer stretch without a guest sample and without
// such a record means the records themselves are missing. The interval is the
// recording's own (the median between guest samples); its timestamps are taken to
// within kHoleMarginSec.
void TimelineIndex::findSampleHoles() {
  constexpr double kHoleMarginSec = 1.0;
  std::vector<double> ts;
  for (const auto& g : timeline_.guest_samples) ts.push_back(g.t);
  std::sort(ts.begin(), ts.end());
  if (ts.size() < 3) return;
  std::vector<double> steps;
  for (std::size_t i = 1; i < ts.size(); ++i) steps.push_back(ts[i] - ts[i - 1]);
  std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2), steps.end());
  const double interval = steps[steps.size() / 2];
  const double after = sampleGapAfterSec(interval) + kHoleMarginSec;
  for (std::size_t i = 1; i < ts.size(); ++i) {
    const double a = ts[i - 1], b = ts[i];
    if (b - a <= after) continue;
    const bool recorded = std::any_of(timeline_.gaps.begin(), timeline_.gaps.end(), [&](const ObserverGap& g) {
      return g.cause.rfind(kGapSampler, 0) == 0 && g.t <= a + kHoleMarginSec && g.t + g.length_sec >= b - kHoleMarginSec;
    });
    if (recorded) continue;
    sample_holes_.push_back(ObserverGap{a, b - a, std::string(kGapHole) + ": no guest sample for " + formatTenths(b - a) +
                                                      " (sampled every " + formatTenths(interval) +
                                                      ") and no observer_gap record for it"});
  }
}

std::string TimelineIndex::unitOfContainer(const std::string& id) const {
  if (id.empty()) return "";
  const auto it = container_units_.find(id);
  return it == container_units_.end() ? "" : it->second;
}

std::string TimelineIndex::containerOf(const KernelOomKill& k) { return containerIdInCgroup(k.task_memcg); }

KillLayer TimelineIndex::layerOf(const OomEvent& e) const {
  const KernelOomKill& k = *e.victim;
  if (k.constraint != "CONSTRAINT_MEMCG") {
    const std::string limit = "the whole guest's memory";
    return {kLayerKernel, limit, limit + " (" + (k.constraint.empty() ? "no constraint printed" : k.constraint) + ")"};
  }
  const std::string& memcg = k.oom_memcg.empty() ? k.task_memcg : k.oom_memcg;
  const auto layer = [&](const char* name, const std::string& limit) {
    return KillLayer{name, limit, limit + " of " + memcg};
  };
  if (!containerIdInCgroup(memcg).empty()) return layer(kLayerContainer, "the container's memory limit (--memory)");
  const UnitSetup* setup = e.unit.empty() ? nullptr : setupOf(e.unit);
  const std::string own = setup ? setup->control_group : "";
  if (!own.empty() && (memcg == own || memcg.rfind(own + "/", 0) == 0)) return layer(kLayerUnit, "the unit's MemoryMax=");
  return layer(kLayerSlice, "a limit above the unit");
}

std::vector<const OomEvent*> TimelineIndex::eventsIn(const std::string& unit) const {
  std::vector<const OomEvent*> out;
  for (const auto& e : events_)
    if (e.unit == unit) out.push_back(&e);
  return out;
}

std::vector<const KernelOomKill*> TimelineIndex::killsIn(const std::string& unit) const {
  std::vector<const KernelOomKill*> out;
  for (const auto& e : events_)
    if (e.unit == unit) out.insert(out.end(), e.members.begin(), e.members.end());
  return out;
}

std::vector<const Invocation*> TimelineIndex::invocationsOf(const std::string& unit) const {
  std::vector<const Invocation*> out;
  for (const auto& inv : invocations_)
    if (inv.unit == unit) out.push_back(&inv);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->first_t < b->first_t; });
  return out;
}

const Invocation* TimelineIndex::nextInvocation(const std::string& unit, double t, const std::string& killed_id) const {
  for (const auto* inv : invocationsOf(unit))
    if (inv->first_t > t && inv->InvocationID != killed_id) return inv;
  return nullptr;
}

const Invocation* TimelineIndex::invocation(const std::string& unit, const std::string& id) const {
  for (const auto& inv : invocations_)
    if (inv.unit == unit && inv.InvocationID == id) return &inv;
  return nullptr;
}

const UnitStateChange* TimelineIndex::lastState(const std::string& unit, double until) const {
  const UnitStateChange* last = nullptr;
  for (const auto& s : timeline_.states)
    if (s.unit == unit && s.t <= until && (!last || s.t >= last->t)) last = &s;
  return last;
}

std::vector<const JournalRecord*> TimelineIndex::journalFor(const std::string& unit,
                                                            const std::string& message_id) const {
  std::vector<const JournalRecord*> out;
  for (const auto& j : timeline_.journal) {
    if (j.unit != unit || j.MESSAGE_ID != message_id) continue;
    // The same entry read twice (journald had copied it from /run to /var while
    // the observer read both files) is one message, not two.
    const bool again = std::any_of(out.begin(), out.end(), [&](const JournalRecord* o) {
      return o->t == j.t && o->INVOCATION_ID == j.INVOCATION_ID && o->MESSAGE == j.MESSAGE;
    });
    if (!again) out.push_back(&j);
  }
  return out;
}

const UnitSetup* TimelineIndex::setupOf(const std::string& unit) const {
  for (const auto& s : timeline_.setup)
    if (s.unit == unit) return &s;
  return nullptr;
}

std::vector<const MemorySample*> TimelineIndex::samplesBefore(double t, double max_age) const {
  std::map<std::string, const MemorySample*> last;
  for (const auto& s : timeline_.samples)
    if (s.t <= t && s.t >= t - max_age && (!last[s.unit] || s.t >= last[s.unit]->t)) last[s.unit] = &s;
  std::vector<const MemorySample*> out;
  for (const auto& [unit, s] : last)
    if (s) out.push_back(s);
  return out;
}

std::vector<const MemorySample*> TimelineIndex::samplesOf(const std::string& unit) const {
  std::vector<const MemorySample*> out;
  for (const auto& s : timeline_.samples)
    if (s.unit == unit) out.push_back(&s);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->t < b->t; });
  return out;
}

const Invocation* TimelineIndex::invocationAt(const std::string& unit, double t, const std::vector<int>& pids) const {
  for (const auto& inv : invocations_)
    if (inv.unit == unit)
      for (int pid : pids)
        if (inv.pids.count(pid)) return &inv;
  const Invocation* best = nullptr;
  for (const auto& inv : invocations_)
    if (inv.unit == unit && inv.first_t <= t && (!best || inv.first_t > best->first_t)) best = &inv;
  return best;
}

TimelineIndex::Span TimelineIndex::span() const {
  double first = std::numeric_limits<double>::infinity(), last = -std::numeric_limits<double>::infinity();
  auto see = [&](double t) {
    if (!std::isfinite(t) || t < 0) return;
    first = std::min(first, t);
    last = std::max(last, t);
  };
  for (const auto& x : timeline_.kills) see(x.t);
  for (const auto& x : timeline_.states) see(x.t);
  for (const auto& x : timeline_.journal) see(x.t);
  for (const auto& x : timeline_.samples) see(x.t);
  for (const auto& x : timeline_.phases) see(x.t);
  for (const auto& x : timeline_.setup) see(x.t);
  for (const auto& x : timeline_.guest_samples) see(x.t);
  for (const auto& x : timeline_.gaps) see(x.t + x.length_sec);
  for (const auto& x : timeline_.losses) see(x.t);
  if (first > last) return Span{};
  return Span{first, last};
}

double TimelineIndex::endT() const {
  const Span s = span();
  return s.empty() ? 0 : s.last;
}

std::optional<double> TimelineIndex::phaseT(const std::string& name) const {
  for (const auto& p : timeline_.phases)
    if (p.name == name) return p.t;
  return std::nullopt;
}

double TimelineIndex::pressureT() const {
  for (const auto& p : timeline_.phases)
    if (p.name == kPhasePressure) return p.t;
  double first = -1;
  auto see = [&](double t) { if (first < 0 || t < first) first = t; };
  for (const auto& x : timeline_.setup) see(x.t);
  if (first < 0)
    for (const auto& x : timeline_.states) see(x.t);
  return first < 0 ? 0 : first;
}

Evidence killEvidence(const KernelOomKill& k) {
  std::string text;
  for (const auto& line : k.lines)
    if (line.find("Killed process") != std::string::npos) text = line;
  if (text.empty()) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "Killed process %d (%s) anon-rss:%llukB oom_score_adj:%d",
                  k.pid, k.comm.c_str(), static_cast<unsigned long long>(k.anon_rss_kb),
                  k.oom_score_adj);
    text = buf;
  }
  text += std::string(" [") + (k.constraint.empty() ? "constraint unknown" : k.constraint) +
          (k.group_kill ? ", group kill" : "") + ", task_memcg=" + k.task_memcg + "]";
  return Evidence{k.t, "kernel", k.unit, "", k.pid, text};
}

Evidence stateEvidence(const UnitStateChange& s) {
  std::string text = s.unit + " " + s.ActiveState + "/" + s.SubState;
  if (!s.Result.empty()) text += " Result=" + s.Result;
  text += " NRestarts=" + std::to_string(s.NRestarts);
  if (s.MainPID) text += " MainPID=" + std::to_string(s.MainPID);
  text += " pids=[";
  for (std::size_t i = 0; i < s.pids.size(); ++i) text += (i ? "," : "") + std::to_string(s.pids[i]);
  text += "]";
  return Evidence{s.t, kRecordUnitState, s.unit, s.InvocationID, s.MainPID, text};
}

Evidence journalEvidence(const JournalRecord& j) {
  std::string text = j.MESSAGE;
  for (const auto& [k, v] : j.fields) text += " " + k + "=" + v;
  return Evidence{j.t, kRecordJournal, j.unit, j.INVOCATION_ID, 0, text + " (MESSAGE_ID=" + j.MESSAGE_ID + ")"};
}

}  // namespace oom
