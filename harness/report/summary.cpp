// The human summary: who died, when, why (scores), how systemd reacted, and
// one line per check.
#include <algorithm>
#include <cstdio>

#include "checks/registry.hpp"
#include "checks/timeline_index.hpp"
#include "kill_lines.hpp"
#include "output_budget.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "report/report.hpp"
#include "checks/victim_choice.hpp"
#include "guest/containers.hpp"

namespace oom {
namespace {

constexpr std::size_t kMaxKillsListed = 8;

// Text from the scenario or the guest (process names, cgroup paths, journal-derived
// results, check evidence) with its control characters escaped, newlines included,
// so that no field can fake a line of the summary or reach the terminal raw.
std::string p(const std::string& text) { return printable(text); }

constexpr std::size_t kMaxCandidates = 3;


std::string upper(const char* s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Why the kernel chose this victim: its score at the last sample before the kill,
// then the others it could have chosen, as the kernel ranked them (from its own
// task dump; for a CONSTRAINT_MEMCG kill only the tasks of that cgroup).
std::string whyLine(const TimelineIndex& index, const OomEvent& e, const VictimChoice& choice, double pressure_t) {
  const KernelOomKill& v = *e.victim;
  std::string line = "why: oom_score_adj " + std::to_string(v.oom_score_adj);
  double sample_t = -1;
  for (const MemorySample* s : index.samplesBefore(e.t))
    for (const auto& p : s->processes)
      if (p.pid == v.pid) {
        line += ", oom_score " + std::to_string(p.oom_score) + " at " + formatSince(s->t, pressure_t);
        sample_t = s->t;
      }
  if (sample_t < 0) line += " (no sample of it before the kill)";
  if (choice.source == VictimChoice::Source::none) return line;
  std::vector<const VictimCandidate*> others;
  for (const auto& c : choice.candidates)
    if (!c.victim) others.push_back(&c);
  const std::string where = choice.memcg ? " in " + p(choice.scope) : "";
  const char* from = choice.source == VictimChoice::Source::task_dump ? " (kernel's task dump)" : " (sampled)";
  if (others.empty()) return line + "; no other candidate" + where + from;
  line += "; other candidates" + where + from + ":";
  for (std::size_t i = 0; i < others.size() && i < kMaxCandidates; ++i) {
    const VictimCandidate& c = *others[i];
    const int score = c.oom_score >= 0 ? c.oom_score : static_cast<int>(c.badness);
    line += std::string(i ? "," : "") + " " + p(c.unit.empty() ? c.name : c.unit) + " pid " + std::to_string(c.pid) +
            " score " + std::to_string(score) + " (adj " + std::to_string(c.oom_score_adj) + ")";
  }
  return line;
}

// systemd's side of one kill, tied to the invocation it killed (by InvocationID)
// and to the one that followed. NRestarts is the new invocation's own, as it began:
// later states of that invocation already carry the next restart's count.
}  // namespace

std::string systemdLine(const TimelineIndex& index, const OomEvent& e, double pressure_t) {
  std::string line = "systemd: invocation " + (e.InvocationID.empty() ? std::string("(unknown)") : p(e.InvocationID.substr(0, 8)));
  const Invocation* inv = index.invocation(e.unit, e.InvocationID);
  line += " Result=" + (inv && !inv->result.empty() ? p(inv->result) : std::string("(none reported)"));
  for (const auto* next : index.invocationsOf(e.unit)) {
    if (next->first_t <= e.t || next->InvocationID == e.InvocationID) continue;
    line += ", restarted (NRestarts " + std::to_string(next->nrestarts) + ")";
    if (next->active_t) line += ", active again at " + formatSince(*next->active_t, pressure_t);
    line += ", new invocation " + p(next->InvocationID.substr(0, 8));
    return line;
  }
  if (const UnitStateChange* last = index.lastState(e.unit))
    line += ", not restarted; at the end " + p(last->ActiveState) + "/" + p(last->SubState) +
            (last->Result.empty() || last->Result == "success" ? "" : " Result=" + p(last->Result));
  return line;
}

namespace {

const CheckResult* findCheck(const RunReport& r, const char* name) {
  for (const auto& c : r.verdict.checks)
    if (c.name == name) return &c;
  return nullptr;
}

// How the run ended, what proved the pressure, what the observer missed (every
// gap with its start and length, every loss), and what the load achieved.
std::string runLines(const RunReport& r, const TimelineIndex& index) {
  const Timeline& t = r.timeline;
  const double p0 = r.verdict.pressure_t;
  std::string out;
  for (const auto& ph : t.phases) {
    if (ph.name == kPhaseTimeLimit)
      out += "run: reached its time_limit (" + formatDuration(Seconds(r.scenario.time_limit_sec)) + ") at " +
             formatSince(ph.t, p0) + ": what had not happened by then did not happen within the limit\n";
    else if (ph.name == kPhaseSettled)
      out += "run: settled at " + formatSince(ph.t, p0) + (ph.detail.empty() ? "" : " (" + p(ph.detail) + ")") + "\n";
  }
  if (!t.complete) out += "run: no end record, the timeline stops at " + formatSince(index.endT(), p0) + "\n";
  if (const CheckResult* c = findCheck(r, "pressure"))
    out += std::string("pressure: ") + (c->outcome == CheckOutcome::pass ? "" : "NOT PROVEN: ") + p(c->observed) + "\n";
  if (const ObserverStats o = observerStats(t); o.guest_samples > 0) {
    char buf[320];
    std::snprintf(buf, sizeof buf, "observer: %zu guest sample(s), longest interval %.2fs (from %s)", o.guest_samples,
                  o.longest_sample_interval_sec, formatSince(o.longest_sample_interval_at, p0).c_str());
    out += buf;
    if (o.kills_timed > 0) {
      std::snprintf(buf, sizeof buf, "; slowest of %zu kill(s) reached the timeline %.0fms after the kernel's line",
                    o.kills_timed, o.slowest_kill_sec * 1000);
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "\nstall: memory PSI full avg10 peaked at %.1f%% (%s), some at %.1f%%; ",
                  o.peak_psi_full, formatSince(o.peak_psi_full_at, p0).c_str(), o.peak_psi_some);
    out += buf;
    out += "MemAvailable near zero (at most " + formatSize(o.near_zero_bytes) + ") for " +
           formatTenths(o.near_zero_sec) + "\n";
  }
  if (!t.gaps.empty() || !t.losses.empty()) {
    out += "observer blind spots (" + std::to_string(t.gaps.size()) + " gap(s), " + std::to_string(t.losses.size()) +
           " loss(es)):\n";
    for (const auto& g : t.gaps)
      out += "  gap from " + formatSince(g.t, p0) + " for " + formatTenths(g.length_sec) +
             (g.cause.empty() ? "" : " (" + p(g.cause) + ")") + "\n";
    for (const auto& l : t.losses)
      out += "  loss " + (l.t > 0 ? "at " + formatSince(l.t, p0) : std::string("(time unknown)")) + ": " + p(l.source) + " " +
             p(l.what) + (l.count > 1 ? " x" + std::to_string(l.count) : "") +
             (l.detail.empty() ? "" : " (" + p(l.detail) + ")") + "\n";
  }
  if (const CheckResult* c = findCheck(r, "load_fidelity"); c && c->outcome != CheckOutcome::pass)
    out += std::string("load: the guest could not deliver what the scenario asked: ") + p(c->observed) + "\n";
  return out;
}

}  // namespace

// The summary as built; summarize() escapes it.
static std::string summarizeFields(const RunReport& r) {
  const TimelineIndex index(r.timeline);
  const double p0 = r.verdict.pressure_t;
  std::string out = p(r.scenario.name) + ": " + upper(toString(r.verdict.verdict)) + " (" +
                    p(r.verdict.reason) + ")\n";
  const auto& g = r.timeline.guest;
  if (!g.kernel.empty()) {
    out += "guest: " + p(g.os_release) + ", kernel " + p(g.kernel) + ", systemd " + p(g.systemd_version);
    if (g.swap_total_bytes > 0)
      out += ", swap " + formatSize(g.swap_total_bytes) + (g.swap_areas.empty() ? "" : " on " + p(g.swap_areas));
    if (g.swappiness >= 0 && r.plan.swappiness >= 0) out += ", vm.swappiness " + std::to_string(g.swappiness);
    out += "\n";
  }
  if (!r.vm.accelerator.empty()) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "vm: %s, %s %.1fs, run %.1fs%s\n", r.vm.accelerator.c_str(),
                  r.vm.start == "restored" ? "restored" : "boot", r.vm.boot_sec, r.vm.run_sec,
                  r.vm.timed_out ? " (timed out)" : "");
    out += buf;
  }
  if (!r.vm.start_note.empty()) out += "vm: " + p(r.vm.start.empty() ? "boot" : r.vm.start) + ": " + p(r.vm.start_note) + "\n";
  if (!r.vm.packages.empty()) out += "packages: " + p(packageVersionsText(r.vm.packages)) + "\n";
  if (!r.vm.output_losses.empty()) out += "guest output not kept in full: " + p(r.vm.output_losses) + "\n";
  // What the runtime set, before the pressure: the container, its limit, conmon's and its process's adjustment.
  for (const auto& c : r.timeline.containers)
    if (c.when == kContainerAtSetup) out += "container: " + p(c.unit) + ": " + p(containerSetupText(c)) + "\n";
  // A unit Quadlet wrote: the file's settings, each with its line (read back at setup).
  for (const auto& u : r.plan.units) {
    if (!u.fromQuadlet()) continue;
    std::string settings;
    for (const auto* list : {&u.files.quadlet, &u.files.effective})
      for (const auto& o : *list)
        settings += (settings.empty() ? "" : "; ") + o.directive + "=" + o.value + " (" + o.where + ")";
    out += "quadlet: " + p(u.unit) + " written by Quadlet from " + p(u.container.quadlet) + ": " + p(settings) + "\n";
  }
  if (!r.vm.earlier_boot_failure.empty())
    out += "vm: booted twice: the first boot died before the job started (" + p(r.vm.earlier_boot_failure) +
           "; console-boot-1.log)\n";
  out += runLines(r, index);
  const auto& events = index.events();
  if (events.empty() && index.oomdKills().empty()) {
    out += "\nNo OOM kill.\n";
  } else if (!index.oomdKills().empty()) {
    out += "\nsystemd-oomd kills (seconds since pressure began):\n";
    for (const auto& k : index.oomdKills()) {
      const std::string swap = oomdSwapBefore(index, r.scenario, k);
      out += "  " + formatSince(k.t, p0) + " " + p(k.unit) + ": " + p(k.message->MESSAGE) +
             (k.reason ? "\n    why: " + p(k.reason->MESSAGE) : std::string()) +
             (k.ranking ? "\n    ranking: " + p(oomdRankingText(k)) : std::string()) +
             (swap.empty() ? std::string() : "\n    just before (observer): " + p(swap)) + "\n";
    }
  }
  if (!events.empty()) {
    out += "\nOOM kills (seconds since pressure began):\n";
    for (std::size_t i = 0; i < events.size() && i < kMaxKillsListed; ++i) {
      const OomEvent& e = events[i];
      const KernelOomKill& v = *e.victim;
      out += "  " + formatSince(e.t, p0) + " " + p(e.unit.empty() ? v.task_memcg : e.unit) + ": pid " +
             std::to_string(v.pid) + " (" + p(processLabel(v.comm, v.cmdline)) + ") killed, " +
             (v.constraint.empty() ? "constraint unknown" : p(v.constraint)) + ", anon-rss " +
             formatSize(v.anon_rss_kb * KiB);
      if (e.members.size() > 1) out += ", with " + std::to_string(e.members.size() - 1) + " more by group kill";
      const VictimChoice choice = explainVictim(index, e);
      out += "\n    " + whyLine(index, e, choice, p0) + "\n    " + p(choice.sentence) + "\n";
      if (!e.unit.empty()) out += "    " + systemdLine(index, e, p0) + "\n";
    }
    if (events.size() > kMaxKillsListed)
      out += "  ... and " + std::to_string(events.size() - kMaxKillsListed) + " more (see result.json)\n";
  }
  out += "\nChecks:\n";
  for (const auto& c : r.verdict.checks) {
    const std::string name = displayName(c);
    out += "  " + std::string(toString(c.outcome)) + " " + p(name) + ": " + p(c.observed) + "\n";
    if (!c.why.empty() && c.outcome != CheckOutcome::pass) out += "      why: " + p(c.why) + "\n";
  }
  return out;
}

std::string summarize(const RunReport& r) {
  return cutToBudget(printableLines(summarizeFields(r)), report_limits::kMaxSummaryBytes,
                     "... summary cut here: it reached its budget (report/limits.hpp); everything is in result.json\n");
}

}  // namespace oom
