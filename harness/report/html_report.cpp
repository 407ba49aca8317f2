// report.html, section by section: the verdict, the timeline chart, why each
// victim, every check with its evidence, the scenario as requested and applied,
// the guest and the timings, the observer's blind spots. Every string that came
// from the guest or a scenario goes through htmlText().
#include <algorithm>
#include <cstdio>

#include "chart_units.hpp"
#include "checks/registry.hpp"
#include "checks/timeline_index.hpp"
#include "kill_lines.hpp"
#include "oom/shell.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "report/html_report.hpp"
#include "output_budget.hpp"
#include "report/xml_text.hpp"
#include "checks/victim_choice.hpp"

namespace oom {
namespace {

const char* const kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1d;background:#fff}
main{max-width:1180px;margin:0 auto;padding:14px 20px 40px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:30px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:15px;margin:20px 0 6px}nav a{margin-right:14px}a{color:#1a5fb4}
.badge{display:inline-block;padding:1px 9px;border-radius:4px;color:#fff;font-weight:600;font-size:13px;vertical-align:middle}
.pass{background:#2e7d32}.fail{background:#c62828}.inconclusive{background:#a85d00}.note{background:#546e7a}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.victim td{background:#fde3e3;font-weight:600}tr.outcome-fail td{background:#fff0f0}tr.outcome-inconclusive td{background:#fff6e5}
pre,code{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,monospace}
pre{background:#f6f6f6;padding:7px 9px;white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}
.why{font-size:15px}.muted{color:#606060}.warn{color:#b00020}ul.evidence{margin:4px 0;padding-left:18px}
details>summary{cursor:pointer;color:#1a5fb4}.sw{display:inline-block;width:16px;height:4px;vertical-align:middle}
figure{margin:8px 0}svg{width:100%;height:auto;font:10px system-ui,sans-serif;fill:#333}
svg .grid{stroke:#ececec}svg .frame{fill:none;stroke:#bbb}svg .label{font-size:10px}
svg .unit-line{fill:none;stroke-width:1.7;stroke-linejoin:round}svg .guest-line{fill:none;stroke:#333;stroke-width:1.2;stroke-dasharray:5 3}
svg .total-line{stroke:#555;stroke-dasharray:1 3}svg .limit-line{stroke-width:1.3}
svg .psi-band.some{fill:#f3c168}svg .psi-band.full{fill:#b3261e;fill-opacity:.8}
svg .kill-marker line{stroke:#c62828;stroke-width:1.4}svg .kill-marker path,svg .kill-marker circle{fill:#c62828}
svg .kill-marker.group-member line{stroke-dasharray:3 2;stroke-width:1}svg .restart-marker{fill:#fff;stroke:#1b7a2a;stroke-width:2}
svg .gap-marker{fill:#6d6d6d;fill-opacity:.22}svg .loss-marker{fill:#e67e22}
svg .phase-marker line{stroke:#888;stroke-dasharray:2 2}svg .time-limit-marker line{stroke:#111;stroke-width:1.6;stroke-dasharray:7 3}
)";

std::string sinceOrUntimed(double t, double p0) { return t < 0 ? "untimed" : formatSince(t, p0); }

std::string fixed(double v, const char* format = "%.1f") {
  char b[48];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

std::string badge(const char* cls, const std::string& text) {
  return std::string("<span class=\"badge ") + cls + "\">" + htmlText(text) + "</span>";
}

std::string row(std::initializer_list<std::string> cells, const char* tag = "td") {
  std::string out = "<tr>";
  for (const auto& c : cells) out += std::string("<") + tag + ">" + c + "</" + tag + ">";
  return out + "</tr>\n";
}

std::string header(const RunReport& r) {
  const char* v = toString(r.verdict.verdict);
  std::string out = "<header><h1>" + htmlText(r.scenario.name) + " " + badge(v, v) + "</h1>\n";
  out += "<p class=\"why\">" + htmlText(r.verdict.reason) + "</p>\n";
  if (!r.scenario.description.empty()) out += "<p class=\"muted\">" + htmlText(r.scenario.description) + "</p>\n";
  const auto& g = r.timeline.guest;
  out += "<p class=\"muted\">" + (r.started_at.empty() ? std::string("") : htmlText(r.started_at) + " · ") +
         (g.kernel.empty() ? "" : htmlText(g.os_release) + ", kernel " + htmlText(g.kernel) + " · ") + "exit status " +
         std::to_string(r.exit_status) + " · " + std::to_string(r.timeline.kills.size()) + " kernel OOM kill(s)</p>\n";
  out += "<nav><a href=\"#timeline\">Timeline</a><a href=\"#kills\">OOM kills</a><a href=\"#checks\">Checks</a>"
         "<a href=\"#scenario\">Scenario</a><a href=\"#guest\">Guest and timings</a><a href=\"#observer\">Observer</a>"
         "</nav></header>\n";
  return out;
}

std::string legend(const RunReport& r, const TimelineIndex& index) {
  const std::vector<std::string> units = chartUnits(r);
  std::string out = "<table class=\"legend\">\n" +
                    row({"unit", "memory.current peak", "MemoryHigh / MemoryMax", "OOM kills", "NRestarts", "at the end"},
                        "th");
  for (std::size_t i = 0; i < units.size(); ++i) {
    const std::string& u = units[i];
    std::uint64_t peak = 0;
    for (const auto* s : index.samplesOf(u))
      if (s->isAvailable(kCgroupMemoryCurrent)) peak = std::max(peak, s->memory_current);
    std::string limits;
    if (const UnitSetup* setup = index.setupOf(u))
      for (const char* d : {"MemoryHigh", "MemoryMax"})
        if (const auto a = setup->applied.find(d); a != setup->applied.end()) {
          const auto bytes = parseNumber<std::uint64_t>(a->second);
          limits += (limits.empty() ? "" : " / ") + std::string(d) + "=" +
                    (bytes ? formatSize(*bytes) : htmlText(a->second));
        }
    std::uint32_t restarts = 0;
    for (const auto& s : r.timeline.states)
      if (s.unit == u) restarts = std::max(restarts, s.NRestarts);
    const UnitStateChange* last = index.lastState(u);
    std::string end = last ? htmlText(last->ActiveState) + "/" + htmlText(last->SubState) : "—";
    if (last && !last->Result.empty() && last->Result != "success") end += " Result=" + htmlText(last->Result);
    out += row({"<span class=\"sw\" style=\"background:" + std::string(chartUnitColour(i)) + "\"></span> " +
                    htmlText(u) + (chartUnitDashed(i) ? " (dashed)" : ""),
                peak ? formatSize(peak) : "—", limits.empty() ? "—" : limits,
                std::to_string(index.eventsIn(u).size()), std::to_string(restarts), end});
  }
  out += "</table>\n<p class=\"muted\">Lines: memory.current per unit (solid), the guest's memory in use "
         "(MemTotal − MemAvailable, dashed black), MemTotal (dotted), MemoryMax= (long dashes) and MemoryHigh= "
         "(short dashes) in the unit's colour. Band: memory PSI avg10, some (yellow) and full (red). Lanes: each "
         "unit's systemd state (<span class=\"sw\" style=\"background:#8cc084\"></span> active, "
         "<span class=\"sw\" style=\"background:#f1ce63\"></span> activating, "
         "<span class=\"sw\" style=\"background:#f4a261\"></span> deactivating, "
         "<span class=\"sw\" style=\"background:#d62728\"></span> failed, "
         "<span class=\"sw\" style=\"background:#d9d9d9\"></span> inactive), ○ a restart. Red lines: kernel OOM kills "
         "(▼ the chosen victim, ● a member killed with its memory.oom.group, dashed); grey bands: observer gaps; "
         "orange ticks: losses. Hover over a mark for its details; a kill links to its explanation below.</p>\n";
  return out;
}

std::string candidateTable(const VictimChoice& choice) {
  if (choice.candidates.empty()) return "";
  const bool dump = choice.source == VictimChoice::Source::task_dump;
  std::string out = "<table class=\"candidates\">\n";
  out += dump ? row({"rank", "pid", "name", "unit", "RSS", "swap", "page tables", "oom_score_adj", "badness (pages)",
                     "oom_score"},
                    "th")
              : row({"rank", "pid", "name", "unit", "RSS", "oom_score_adj", "oom_score (sampled)"}, "th");
  std::size_t shown = 0;
  for (std::size_t i = 0; i < choice.candidates.size(); ++i) {
    const VictimCandidate& c = choice.candidates[i];
    if (shown >= kCandidatesShownMax && !c.victim) continue;
    ++shown;
    std::string tr = c.victim ? "<tr class=\"victim\">" : "<tr>";
    auto td = [&](const std::string& text, bool numeric = false) {
      tr += std::string(numeric ? "<td class=\"num\">" : "<td>") + text + "</td>";
    };
    td(std::to_string(i + 1), true);
    td(std::to_string(c.pid), true);
    td(htmlText(processLabel(c.name, c.title)) + (c.victim ? " (victim)" : ""));
    td(c.unit.empty() ? "<span class=\"muted\">not a scenario unit</span>" : htmlText(c.unit));
    td(formatSize(c.rss_bytes), true);
    if (dump) {
      td(formatSize(c.swap_bytes), true);
      td(formatSize(c.pgtables_bytes), true);
    }
    td(std::to_string(c.oom_score_adj), true);
    if (dump) td(std::to_string(c.badness), true);
    td(c.oom_score >= 0 ? std::to_string(c.oom_score) : "—", true);
    out += tr + "</tr>\n";
  }
  out += "</table>\n";
  std::string notes;
  if (choice.candidates.size() > shown)
    notes += std::to_string(choice.candidates.size() - shown) + " lower-ranked candidate(s) not shown (all in result.json). ";
  if (choice.unkillable)
    notes += std::to_string(choice.unkillable) +
             " task(s) the kernel listed with oom_score_adj -1000 are left out: it never chooses them. ";
  if (choice.outside_scope)
    notes += std::to_string(choice.outside_scope) + " sampled task(s) outside " + htmlText(choice.scope) +
             " are left out: the kernel could not choose them. ";
  if (!notes.empty()) out += "<p class=\"muted\">" + notes + "</p>\n";
  return out;
}

std::string killSection(const RunReport& r, const TimelineIndex& index, const OomEvent& e, std::size_t n) {
  const double p0 = r.verdict.pressure_t;
  const KernelOomKill& v = *e.victim;
  const VictimChoice choice = explainVictim(index, e);
  std::string out = "<section class=\"kill\" id=\"kill-event-" + std::to_string(n) + "\">\n<h3>" + sinceOrUntimed(e.t, p0) +
                    " " + htmlText(e.unit.empty() ? (v.task_memcg.empty() ? "(unit unknown)" : v.task_memcg) : e.unit) +
                    ": pid " + std::to_string(v.pid) + " (" + htmlText(processLabel(v.comm, v.cmdline)) + ") killed, " +
                    (v.constraint.empty() ? "constraint unknown" : htmlText(v.constraint)) + ", anon-rss " +
                    formatSize(v.anon_rss_kb * KiB) + "</h3>\n";
  out += "<p class=\"why\"><strong>Why this victim:</strong> " + htmlText(choice.sentence) + "</p>\n";
  switch (choice.source) {
    case VictimChoice::Source::task_dump:
      out += "<p class=\"muted\">The tasks the kernel could choose from" +
             std::string(choice.memcg ? " (only those in " + htmlText(choice.scope) + ")" : "") +
             ", from the task dump in its own OOM report, ranked as it ranks them: badness = RSS + swap + page "
             "tables (in pages) + oom_score_adj × totalpages / 1000; oom_score is the same badness as "
             "/proc/PID/oom_score scales it (0–2000).</p>\n";
      break;
    case VictimChoice::Source::samples:
      out += "<p class=\"muted\">No task dump was recorded with this kill: the tasks " +
             std::string(choice.memcg ? "of " + htmlText(choice.scope) + " " : "") +
             "the observer sampled in the 5 s before it, by their oom_score.</p>\n";
      break;
    case VictimChoice::Source::none: break;
  }
  out += candidateTable(choice);
  if (e.members.size() > 1) {
    out += "<p>Killed with it (memory.oom.group, OOMPolicy=kill):";
    for (const auto* m : e.members)
      if (m != e.victim)
        out += " pid " + std::to_string(m->pid) + " (" + htmlText(processLabel(m->comm, m->cmdline)) + ") at " + sinceOrUntimed(m->t, p0) + ";";
    out += "</p>\n";
  }
  if (!v.attribution.empty())
    out += "<p class=\"muted\">Unit found by " +
           std::string(v.attribution == kAttributionByPid ? "the pid (the unit the observer last sampled it in)"
                                                          : "nothing: the kill could be anyone's") +
           ".</p>\n";
  if (!e.unit.empty()) out += "<p>" + htmlText(systemdLine(index, e, p0)) + "</p>\n";
  out += "<details><summary>kernel lines (" + std::to_string(v.lines.size()) + ")</summary><pre>";
  for (std::size_t i = 0; i < v.lines.size() && i < kKernelLinesShownMax; ++i) out += htmlText(v.lines[i]) + "\n";
  if (v.lines.size() > kKernelLinesShownMax)
    out += "… " + std::to_string(v.lines.size() - kKernelLinesShownMax) + " more in result.json\n";
  out += "</pre></details>\n</section>\n";
  return out;
}

std::string killsSection(const RunReport& r, const TimelineIndex& index) {
  const auto& events = index.events();
  std::string out = "<section id=\"kills\"><h2>OOM kills</h2>\n";
  // systemd-oomd's kills: systemd's message and oomd's own reason, with its figures.
  if (!index.oomdKills().empty()) {
    out += "<h3>By systemd-oomd</h3>\n<table>" +
           row({"time", "unit", "systemd", "systemd-oomd's reason", "its ranking"}, "th");
    for (const auto& k : index.oomdKills()) {
      const std::string swap = oomdSwapBefore(index, r.scenario, k);
      out += row({sinceOrUntimed(k.t, r.verdict.pressure_t), htmlText(k.unit), htmlText(k.message->MESSAGE),
                  k.reason ? htmlText(k.reason->MESSAGE) : "<span class=\"muted\">not in the journal</span>",
                  (k.ranking ? htmlText(oomdRankingText(k, 10)) : "<span class=\"muted\">not in the journal</span>") +
                      (swap.empty() ? std::string() : "<br>just before (observer): " + htmlText(swap))});
    }
    out += "</table>\n";
  }
  for (const auto& s : r.timeline.oomd)
    out += "<details><summary>oomctl " + htmlText(s.when == "end" ? "at the end" : "before the pressure") +
           "</summary><pre>" + htmlText(shownText(s.text, report_limits::kMaxUnitFileShownBytes)) + "</pre></details>\n";
  if (events.empty()) return out + "<p>No kernel OOM kill.</p></section>\n";
  out += "<p>" + std::to_string(events.size()) + " kernel OOM decision(s), " + std::to_string(r.timeline.kills.size()) +
         " process(es) killed. Times are seconds since pressure began.</p>\n";
  for (std::size_t i = 0; i < events.size() && i < kKillsExplainedMax; ++i)
    out += killSection(r, index, events[i], i + 1);
  if (events.size() > kKillsExplainedMax) {
    out += "<h3>The other " + std::to_string(events.size() - kKillsExplainedMax) +
           " kill(s)</h3>\n<table>" + row({"#", "time", "unit", "pid", "process", "constraint", "group members"}, "th");
    for (std::size_t i = kKillsExplainedMax; i < events.size(); ++i) {
      const auto& e = events[i];
      out += "<tr id=\"kill-event-" + std::to_string(i + 1) + "\"><td>" + std::to_string(i + 1) + "</td><td>" +
             sinceOrUntimed(e.t, r.verdict.pressure_t) + "</td><td>" + htmlText(e.unit) + "</td><td>" +
             std::to_string(e.victim->pid) + "</td><td>" + htmlText(processLabel(e.victim->comm, e.victim->cmdline)) + "</td><td>" +
             htmlText(e.victim->constraint) + "</td><td>" + std::to_string(e.members.size() - 1) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  return out + "</section>\n";
}

std::string checksSection(const RunReport& r) {
  const double p0 = r.verdict.pressure_t;
  std::string out = "<section id=\"checks\"><h2>Checks</h2>\n<table class=\"checks\">\n" +
                    row({"outcome", "check", "expected", "observed, evidence and why"}, "th");
  for (const auto& c : r.verdict.checks) {
    const char* cls = outcomeName(c.outcome);
    const std::string name = displayName(c);
    std::string cell = htmlText(c.observed);
    if (!c.why.empty()) cell += "<br><strong>why:</strong> " + htmlText(c.why);
    if (!c.evidence.empty()) {
      const bool open = c.outcome == CheckOutcome::fail || c.outcome == CheckOutcome::inconclusive;
      cell += std::string("<details") + (open ? " open" : "") + "><summary>evidence (" +
              std::to_string(c.evidence.size()) + ")</summary><ul class=\"evidence\">";
      for (std::size_t i = 0; i < c.evidence.size() && i < kEvidenceShownMax; ++i) {
        const Evidence& e = c.evidence[i];
        cell += "<li><code>" + sinceOrUntimed(e.t, p0) + " " + htmlText(e.source) +
                (e.unit.empty() ? "" : " " + htmlText(e.unit)) + ": " + htmlText(shownText(e.text)) + "</code></li>";
      }
      if (c.evidence.size() > kEvidenceShownMax)
        cell += "<li>… " + std::to_string(c.evidence.size() - kEvidenceShownMax) + " more in result.json</li>";
      cell += "</ul></details>";
    }
    out += std::string("<tr class=\"check outcome-") + cls + "\"><td>" + badge(cls, toString(c.outcome)) + "</td><td>" +
           htmlText(name) + "</td><td>" + htmlText(c.expected) + "</td><td>" + cell + "</td></tr>\n";
  }
  return out + "</table>\n</section>\n";
}

std::string loadText(const Load& l) {
  std::string s = "baseline " + formatSize(l.baseline_bytes) + " in " + std::to_string(l.processes) + " process(es)";
  if (l.supervisor) s += " under a supervisor that holds none";
  if (l.rate_bytes_per_sec) s += ", ramp " + formatSize(l.rate_bytes_per_sec) + "/s";
  if (l.leak_bytes_per_sec) s += ", leak " + formatSize(l.leak_bytes_per_sec) + "/s";
  if (l.spike) s += ", spike " + formatSizeAt(*l.spike);
  if (l.hold_sec) s += ", hold " + formatDuration(Seconds(*l.hold_sec));
  if (l.start_after_sec > 0) s += ", starts after " + formatDuration(Seconds(l.start_after_sec));
  if (l.sawtooth) s += ", sawtooth";
  if (l.checkpoint) s += ", checkpoints";
  return s;
}

// A unit from real files: each file as installed, and what the merge and the harness
// drop-in did, every line citing its file and line.
std::string unitFilesHtml(const ServiceFiles& files, const UnitSetup* setup) {
  std::string out = "<p>Unit files, in the order systemd applied them:</p>\n<ul>\n";
  for (const auto& f : files.files)
    out += "<li><details><summary><code>" + htmlText(f.guest_path) + "</code> from <code>" + htmlText(f.source) +
           "</code></summary><pre>" + htmlText(shownText(f.text, report_limits::kMaxUnitFileShownBytes)) +
           "</pre></details></li>\n";
  out += "</ul>\n";
  auto list = [&](const char* title, const std::vector<SettingOrigin>& items) {
    if (items.empty()) return;
    out += "<p>" + std::string(title) + ":</p>\n<ul>\n";
    for (const auto& o : items)
      out += "<li><code>" + htmlText(o.directive + "=" + o.value) + "</code> " + htmlText(o.where) + "</li>\n";
    out += "</ul>\n";
  };
  list("Overridden by a later file or the scenario", files.overridden);
  list("Replaced or reset by the harness drop-in", files.neutralized);
  list("Left to systemd (outside the directive table)", files.passed_through);
  list("Left to Quadlet and Podman (the Quadlet file's [Container])", files.quadlet);
  if (setup) {
    for (const auto& stub : setup->stubs) out += "<p class=\"muted\">" + htmlText(stub) + "</p>\n";
    for (const auto& w : setup->systemd_warnings)
      out += "<p class=\"warn\">systemd about these files: " + htmlText(w) + "</p>\n";
  }
  return out;
}

// The load drivers (when each started, from the guest's phases) and the probes, as planned.
std::string drivesAndProbesHtml(const RunReport& r) {
  std::string out;
  if (!r.plan.drives.empty()) {
    out += "<h3>Load drivers</h3>\n<table>\n" + row({"unit", "command", "starts after", "started"}, "th");
    for (const auto& d : r.plan.drives) {
      std::string started = "<span class=\"muted\">not started</span>";
      for (const auto& p : r.timeline.phases)
        if ((p.name == kPhaseDriveStarted || p.name == kPhaseDriveFailed) && p.detail.rfind(d.unit, 0) == 0)
          started = p.name == kPhaseDriveStarted ? formatSince(p.t, r.verdict.pressure_t)
                                                  : "<span class=\"warn\">" + htmlText(p.detail) + "</span>";
      out += row({htmlText(d.unit), "<code>" + htmlText(shellLine(d.exec_start)) + "</code>",
                  formatDuration(Seconds(d.start_after_sec)), started});
    }
    out += "</table>\n";
  }
  if (!r.plan.probes.empty()) {
    out += "<h3>Probes</h3>\n<table>\n" + row({"probe", "asks", "of", "every", "attempts (ok)"}, "th");
    for (const auto& p : r.plan.probes) {
      std::size_t n = 0, ok = 0;
      for (const auto& a : r.timeline.probes)
        if (a.probe == p.name) ++n, ok += a.ok ? 1 : 0;
      out += row({htmlText(p.name), "<code>" + htmlText(p.asks()) + "</code>", htmlText(p.unit.empty() ? "-" : p.unit),
                  formatDuration(Seconds(p.interval_sec)) + " (timeout " + formatDuration(Seconds(p.timeout_sec)) + ")",
                  std::to_string(n) + " (" + std::to_string(ok) + ")"});
    }
    out += "</table>\n";
  }
  return out;
}

std::string scenarioSection(const RunReport& r, const TimelineIndex& index) {
  const Scenario& s = r.scenario;
  std::string out = "<section id=\"scenario\"><h2>Scenario</h2>\n<p><code>" + htmlText(s.source) + "</code>: guest " +
                    htmlText(s.guest.release) + ", memory " + formatSize(s.guest.memory_bytes) + ", swap " +
                    formatSize(s.guest.swap_bytes) + (s.guest.swap_kind == kSwapZram ? " (zram)" : "") + ", " +
                    std::to_string(s.guest.cpus) + " CPU(s); time limit " +
                    formatDuration(Seconds(s.time_limit_sec)) + ", settle " + formatDuration(Seconds(s.settle_sec)) +
                    ".</p>\n";
  for (const auto& svc : s.services) {
    const std::string unit = unitName(svc.name);
    out += "<h3>" + htmlText(unit) + "</h3>\n";
    if (!svc.why.empty()) out += "<p class=\"why\">" + htmlText(svc.why) + "</p>\n";
    out += svc.load ? "<p>Load: " + loadText(*svc.load) + ".</p>\n"
                    : "<p>Runs its own program: the ExecStart= of its unit file, as written.</p>\n";
    const UnitSetup* setup = index.setupOf(unit);
    std::map<std::string, std::string> applied = setup ? setup->applied : std::map<std::string, std::string>{};
    const bool from_files = svc.files.has_value();
    // Where each requested value came from: a file and line, the scenario, or oomharness.
    auto originOf = [&](const std::string& directive) -> std::string {
      if (!from_files) return "";
      for (const auto& o : svc.files->effective)
        if (o.directive == directive) return htmlText(o.where);
      return "<span class=\"muted\">oomharness drop-in</span>";
    };
    out += "<table class=\"settings\">" +
           (from_files ? row({"directive", "requested", "applied (systemd)", "from"}, "th")
                       : row({"directive", "requested", "applied (systemd)"}, "th"));
    // What the guest asked systemd for: the plan's properties (Type= included), else the scenario's.
    const std::vector<UnitProperty>* requested = &svc.unit;
    for (const auto& u : r.plan.units)
      if (u.unit == unit && !u.properties.empty()) requested = &u.properties;
    for (const auto& d : *requested) {
      std::string key = d.name;
      if (!applied.count(key) && key.size() > 3 && key.compare(key.size() - 3, 3, "Sec") == 0)
        key = key.substr(0, key.size() - 3) + "USec";  // RestartSec= is shown as RestartUSec
      std::string shown = "<span class=\"muted\">not reported</span>";
      if (const auto a = applied.find(key); a != applied.end()) {
        std::string value = htmlText(a->second);
        if (key != d.name)  // systemd shows RestartSec= as RestartUSec, in microseconds
          if (const auto us = parseNumber<std::uint64_t>(a->second))
            value = formatDuration(Seconds(static_cast<double>(*us) / 1e6)) + " <span class=\"muted\">(" +
                    htmlText(key) + "=" + htmlText(a->second) + ")</span>";
        shown = value;
        applied.erase(a);
      }
      if (from_files) out += row({htmlText(d.name), htmlText(d.value), shown, originOf(d.name)});
      else out += row({htmlText(d.name), htmlText(d.value), shown});
    }
    for (const auto& [key, value] : applied)
      out += row({htmlText(key), "<span class=\"muted\">(not requested)</span>", htmlText(value)});
    out += "</table>\n";
    if (setup)
      for (const auto& m : setup->mismatches) out += "<p class=\"warn\">not applied: " + htmlText(m) + "</p>\n";
    if (from_files) out += unitFilesHtml(*svc.files, setup);
    for (const auto& u : r.plan.units)
      if (u.unit == unit && !u.systemd_run.empty())
        out += "<p>Reproduce by hand:</p><pre>" + htmlText(u.systemd_run) + "</pre>\n";
  }
  out += drivesAndProbesHtml(r);
  if (s.document.is_object() && s.document.contains("expect"))
    out += "<h3>Expectations</h3><pre>" +
           htmlText(s.document["expect"].dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) + "</pre>\n";
  return out + "</section>\n";
}

std::string guestSection(const RunReport& r) {
  const auto& g = r.timeline.guest;
  const auto& vm = r.vm;
  std::string out = "<section id=\"guest\"><h2>Guest and timings</h2>\n<table>\n";
  auto fact = [&](const std::string& k, const std::string& v) { out += row({k, v}); };
  fact("release", htmlText(g.os_release.empty() ? r.scenario.guest.release : g.os_release));
  fact("kernel", htmlText(g.kernel));
  fact("systemd", htmlText(g.systemd_version));
  fact("cgroup controllers", htmlText(g.cgroup_controllers));
  fact("memory", "MemTotal " + formatSize(g.mem_total_bytes) + ", swap " + formatSize(g.swap_total_bytes) +
                     (g.swap_areas.empty() ? "" : " on " + htmlText(g.swap_areas)) +
                     ", MemAvailable before the units " + formatSize(g.mem_available_at_start_bytes));
  fact("accelerator", htmlText(vm.accelerator.empty() ? "(no guest ran)" : vm.accelerator) +
                          (vm.qemu_version.empty() ? "" : ", qemu " + htmlText(vm.qemu_version)));
  fact("image", vm.image_recipe.empty() ? htmlText(vm.image)
                                        : htmlText(vm.image_recipe) + ", built " + htmlText(vm.image_built_at) +
                                              (vm.image_build_sec > 0 ? " in " + fixed(vm.image_build_sec) + " s" : "") +
                                              " (" + htmlText(vm.image) + ")");
  if (!vm.packages.empty()) fact("packages", htmlText(packageVersionsText(vm.packages)));
  fact("started", htmlText(r.started_at));
  if (!vm.start.empty())
    fact("guest start", htmlText(vm.start) + (vm.start_note.empty() ? "" : ": " + htmlText(vm.start_note)));
  fact("timings", (vm.start == "restored" ? "restore " : "boot ") + fixed(vm.boot_sec) + " s, guest run " + fixed(vm.run_sec) + " s, whole command " +
                      fixed(r.wall_sec) + " s" + (vm.timed_out ? " (the host's watchdog fired)" : ""));
  fact("host", "reserved " + formatSize(vm.host_memory_reserved_bytes) + " of MemAvailable " +
                   formatSize(vm.host_memory_available_bytes) +
                   (vm.swap_reserved_bytes ? ", swap file " + formatSize(vm.swap_reserved_bytes) : ""));
  if (!vm.output_losses.empty()) fact("guest output lost", htmlText(vm.output_losses));
  if (!vm.earlier_boot_failure.empty()) fact("earlier boot", htmlText(vm.earlier_boot_failure));
  fact("tool", "oomharness " + htmlText(r.tool_version) + ", exit status " + std::to_string(r.exit_status));
  return out + "</table>\n</section>\n";
}

std::string observerSection(const RunReport& r) {
  const Timeline& t = r.timeline;
  const double p0 = r.verdict.pressure_t;
  std::string out = "<section id=\"observer\"><h2>Observer</h2>\n";
  const ObserverStats o = observerStats(t);
  if (o.guest_samples > 0)
    out += "<p>" + std::to_string(o.guest_samples) + " guest samples, longest interval " +
           fixed(o.longest_sample_interval_sec, "%.2f") + " s (from " + sinceOrUntimed(o.longest_sample_interval_at, p0) + ")" +
           (o.kills_timed ? "; the slowest of " + std::to_string(o.kills_timed) + " kill(s) reached the timeline " +
                                fixed(o.slowest_kill_sec * 1000, "%.0f") + " ms after the kernel's line"
                          : "") +
           ". Memory PSI full avg10 peaked at " + fixed(o.peak_psi_full) + " %, some at " + fixed(o.peak_psi_some) +
           " %; MemAvailable near zero (at most " + formatSize(o.near_zero_bytes) + ") for " +
           formatTenths(o.near_zero_sec) + ".</p>\n";
  out += "<p>Run " + std::string(t.complete ? "complete (the guest's end record arrived)" : "<strong>incomplete</strong>: no end record") +
         ".</p>\n";
  if (t.gaps.empty() && t.losses.empty()) return out + "<p>No observer gap, no loss.</p></section>\n";
  out += "<table>" + row({"blind spot", "when", "length / count", "cause"}, "th");
  for (const auto& g : t.gaps)
    out += row({"gap", sinceOrUntimed(g.t, p0), formatTenths(g.length_sec), htmlText(g.cause)});
  for (const auto& l : t.losses)
    out += row({"loss: " + htmlText(l.source) + " " + htmlText(l.what), l.t >= 0 ? sinceOrUntimed(l.t, p0) : "time unknown",
                std::to_string(l.count), htmlText(l.detail)});
  return out + "</table>\n</section>\n";
}

}  // namespace

// The same escaping as junit.xml's (&apos; is an HTML5 character reference too).
std::string htmlText(std::string_view text) { return xmlText(text); }

std::string htmlReport(const RunReport& r) {
  const TimelineIndex index(r.timeline);
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      // Nothing outside this file may load: no script at all, styles and images inline only.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
      htmlText(r.scenario.name) + ": " + toString(r.verdict.verdict) + " — oomharness</title>\n<style>" + kStyle +
      "</style>\n</head>\n<body>\n<main>\n";
  html += header(r);
  html += "<section id=\"timeline\"><h2>Timeline</h2>\n<figure>\n" + timelineChartSvg(r) + "</figure>\n" +
          legend(r, index) + "</section>\n";
  html += killsSection(r, index);
  html += checksSection(r);
  html += scenarioSection(r, index);
  html += guestSection(r);
  html += observerSection(r);
  html += "<footer><p class=\"muted\">Written by oomharness " + htmlText(r.tool_version) +
          " from the run's result.json (" + std::string(kResultFormat) +
          "). <code>oomharness report DIR</code> writes this page again, <code>oomharness show DIR</code> prints the "
          "summary.</p></footer>\n</main>\n</body>\n</html>\n";
  return cutToBudget(std::move(html), report_limits::kMaxReportHtmlBytes,
                     "<p class=\"warn\">report.html cut here: it reached its budget (report/limits.hpp). "
                     "Everything is in result.json.</p>\n</body>\n</html>\n");
}

}  // namespace oom
