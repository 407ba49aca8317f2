// The run as one inline SVG chart, generated here (no library, no script):
// memory.current per unit and the guest's memory in use against MemTotal, each
// unit's MemoryHigh=/MemoryMax=, memory PSI as a band, one lane of systemd states
// per unit, and markers for kills, restarts, observer gaps, losses, phases and the
// time limit. Hovering a mark shows its <title>. Long runs stay small: a series
// keeps its lowest and highest point per column (kChartColumns).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "chart_units.hpp"
#include "checks/timeline_index.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "report/html_report.hpp"

namespace oom {
namespace {

constexpr double kWidth = 1120, kLeft = 138, kRight = 196, kTop = 36, kPlotH = 300;
// At most this many probe lanes (a scenario has at most 16 probes; a timeline may name more).
constexpr std::size_t kProbeLanesMax = 16;
constexpr double kPsiGap = 18, kPsiH = 56, kLaneGap = 20, kLaneH = 15, kAxisH = 30;
constexpr double kGapFactor = 4;  // samples further apart than this many intervals: a break in the line

const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
                                "#edc948", "#9c755f", "#ff9da7", "#17becf", "#8c564b"};
constexpr std::size_t kPaletteSize = sizeof kPalette / sizeof kPalette[0];

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  std::string s(b);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s == "-0" ? "0" : s;
}


struct Point {
  double t = 0, v = 0;
};

struct Frame {
  double t0 = 0, t1 = 1;  // guest seconds at the left and right edges
  double vmax = 1;        // bytes at the top of the memory plot
  double p0 = 0;          // pressure began: labels are seconds since then
  double laneTop = 0, bottom = 0;
  double plotW() const { return kWidth - kLeft - kRight; }
  double x(double t) const { return kLeft + (std::clamp(t, t0, t1) - t0) / (t1 - t0) * plotW(); }
  double y(double v) const { return kTop + kPlotH - std::min(v, vmax) / vmax * kPlotH; }
  double psiTop() const { return kTop + kPlotH + kPsiGap; }
  double markerBottom() const { return psiTop() + kPsiH; }
};

// Runs of points without a long break (a unit between invocations has no cgroup to sample).
std::vector<std::vector<Point>> segments(const std::vector<Point>& pts, double max_step) {
  std::vector<std::vector<Point>> out;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (out.empty() || pts[i].t - pts[i - 1].t > max_step) out.emplace_back();
    out.back().push_back(pts[i]);
  }
  return out;
}

// At most the lowest and the highest point of each column, in time order: peaks survive.
std::vector<Point> decimate(const std::vector<Point>& pts, const Frame& f) {
  std::vector<Point> out;
  const double column = (f.t1 - f.t0) / static_cast<double>(kChartColumns);
  std::size_t i = 0;
  while (i < pts.size()) {
    const double col = std::floor((pts[i].t - f.t0) / column);
    std::size_t j = i + 1, lo = i, hi = i;  // at least one point per step, whatever the times are
    for (; j < pts.size() && std::floor((pts[j].t - f.t0) / column) == col; ++j) {
      if (pts[j].v < pts[lo].v) lo = j;
      if (pts[j].v > pts[hi].v) hi = j;
    }
    out.push_back(pts[std::min(lo, hi)]);
    if (lo != hi) out.push_back(pts[std::max(lo, hi)]);
    i = j;
  }
  return out;
}

std::string pathOf(const std::vector<Point>& pts, const Frame& f) {
  std::string d;
  for (std::size_t i = 0; i < pts.size(); ++i)
    d += (i == 0 ? "M" : " ") + num(f.x(pts[i].t)) + "," + num(f.y(pts[i].v));
  if (pts.size() == 1) d += " h2";  // a lone sample still shows
  return d;
}

// A nice step for about `count` ticks over `span`, from `steps`.
double niceStep(double span, double count, std::initializer_list<double> steps) {
  for (double s : steps)
    if (span / s <= count) return s;
  return *(steps.end() - 1) * std::ceil(span / count / *(steps.end() - 1));
}

std::optional<std::uint64_t> limitBytes(const RunReport& r, const std::string& unit, const char* directive) {
  for (const auto& s : r.timeline.setup)
    if (s.unit == unit)
      if (const auto a = s.applied.find(directive); a != s.applied.end())
        return parseNumber<std::uint64_t>(a->second);  // "infinity" is no line
  if (const ServiceSpec* svc = r.scenario.serviceForUnit(unit))
    if (const auto v = svc->directive(directive); v && *v != "infinity")
      if (auto bytes = parseSize(*v)) return *bytes;
  return std::nullopt;
}

// "cache-loader.service" -> "cache-loader", cut to fit the right margin's labels.
std::string stem(const std::string& unit) {
  std::string s = unit.size() > 8 && unit.compare(unit.size() - 8, 8, ".service") == 0 ? unit.substr(0, unit.size() - 8) : unit;
  return s.size() > 16 ? s.substr(0, 15) + "…" : s;
}

const char* stateColour(const std::string& active) {
  if (active == "active") return "#8cc084";
  if (active == "activating" || active == "reloading") return "#f1ce63";
  if (active == "deactivating") return "#f4a261";
  if (active == "failed") return "#d62728";
  return "#d9d9d9";  // inactive, or not known yet
}

struct Label {
  double y = 0;
  std::string text, colour;
};

// Right-margin labels pushed apart so that none overlaps the one above.
std::string labels(std::vector<Label> ls) {
  std::sort(ls.begin(), ls.end(), [](const Label& a, const Label& b) { return a.y < b.y; });
  std::string out;
  double last = -100;
  for (auto& l : ls) {
    l.y = std::max(l.y, last + 11);
    last = l.y;
    out += "<text class=\"label\" x=\"" + num(kWidth - kRight + 6) + "\" y=\"" + num(l.y + 3.5) + "\" fill=\"" +
           l.colour + "\">" + htmlText(l.text) + "</text>\n";
  }
  return out;
}

}  // namespace

std::vector<std::string> chartUnits(const RunReport& r) {
  std::vector<std::string> units;
  auto add = [&](const std::string& u) {
    if (!u.empty() && std::find(units.begin(), units.end(), u) == units.end()) units.push_back(u);
  };
  for (const auto& u : r.plan.units) add(u.unit);
  for (const auto& s : r.scenario.services) add(unitName(s.name));
  for (const auto& s : r.timeline.samples) add(s.unit);
  for (const auto& s : r.timeline.states) add(s.unit);
  return units;
}

const char* chartUnitColour(std::size_t index) { return kPalette[index % kPaletteSize]; }
bool chartUnitDashed(std::size_t index) { return index >= kPaletteSize; }

namespace {

// What every part of the chart is drawn against: its frame (time and memory scales,
// where the lanes go), the units in lane order, their limit lines and the time limit.
struct Layout {
  Frame f;
  std::vector<std::string> units;
  std::vector<std::string> probes;  // one availability lane each, below the units'
  double probe_top = 0;
  double mem_total = 0;
  struct Limit {
    std::string unit;
    const char* directive;
    std::uint64_t bytes;
  };
  std::vector<Limit> limits;
  std::optional<double> limit_t;
  bool limit_reached = false, limit_in_view = false;
};

Layout layoutOf(const RunReport& r, const TimelineIndex& index) {
  const Timeline& tl = r.timeline;
  Layout l;
  Frame& f = l.f;
  f.p0 = r.verdict.pressure_t;
  l.units = chartUnits(r);
  const std::vector<std::string>& units = l.units;
  std::optional<double>& limit_t = l.limit_t;
  bool& limit_reached = l.limit_reached;
  // Time range: the first record to the last, with the time limit when it is near.
  const TimelineIndex::Span records = index.span();
  double t0 = records.empty() ? f.p0 : records.first, t1 = records.empty() ? f.p0 + 1 : records.last;
  for (const auto& p : tl.phases)
    if (p.name == kPhaseTimeLimit) limit_t = p.t, limit_reached = true;
  if (!limit_t && r.scenario.time_limit_sec > 0) {
    // The guest counts the limit from just before it starts the first unit.
    double start = 1e300;
    for (const auto& s : tl.states) start = std::min(start, s.t);
    for (const auto& s : tl.setup) start = std::min(start, s.t);
    if (start < 1e300) limit_t = start + r.scenario.time_limit_sec;
  }
  l.limit_in_view = limit_t && *limit_t <= t1 + 0.15 * (t1 - t0);
  if (l.limit_in_view) t1 = std::max(t1, *limit_t);
  if (t1 - t0 < 1) t1 = t0 + 1;
  f.t0 = t0;
  f.t1 = t1 + (t1 - t0) * 0.01;

  // Memory scale: the guest's MemTotal, or whatever went above it.
  const double mem_total = l.mem_total = static_cast<double>(tl.guest.mem_total_bytes);
  double vmax = mem_total;
  for (const auto& s : tl.samples)
    if (s.isAvailable(kCgroupMemoryCurrent)) vmax = std::max(vmax, static_cast<double>(s.memory_current));
  for (const auto& u : units)
    for (const char* d : {"MemoryHigh", "MemoryMax"})
      if (const auto b = limitBytes(r, u, d); b && (mem_total == 0 || static_cast<double>(*b) <= mem_total * 1.5)) {
        l.limits.push_back({u, d, *b});
        vmax = std::max(vmax, static_cast<double>(*b));
      }
  if (vmax <= 0) vmax = static_cast<double>(GiB);
  f.vmax = vmax * 1.04;
  f.laneTop = f.markerBottom() + kLaneGap;
  for (const auto& p : r.plan.probes) l.probes.push_back(p.name);
  for (const auto& a : tl.probes)
    if (std::find(l.probes.begin(), l.probes.end(), a.probe) == l.probes.end() && l.probes.size() < kProbeLanesMax)
      l.probes.push_back(a.probe);
  l.probe_top = f.laneTop + static_cast<double>(units.size()) * kLaneH;
  f.bottom = l.probe_top + static_cast<double>(l.probes.size()) * kLaneH + kAxisH;

  return l;
}

std::string axes(const Frame& f) {
  std::string svg;
  // Grid and axes.
  const double span = f.t1 - f.t0;
  const double xstep = niceStep(span, 12, {1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600});
  svg += "<g class=\"axis\">\n";
  // Counted, not accumulated: at guest times near 1e18 (a hostile record) s += step would not move.
  const double first_tick = std::ceil((f.t0 - f.p0) / xstep);
  for (int i = 0; i <= 40 && (first_tick + i) * xstep <= f.t1 - f.p0; ++i) {
    const double s = (first_tick + i) * xstep;
    const double x = f.x(s + f.p0);
    svg += "<line class=\"grid\" x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(kTop) + "\" y2=\"" +
           num(f.bottom - kAxisH) + "\"/><text x=\"" + num(x) + "\" y=\"" + num(f.bottom - kAxisH + 14) +
           "\" text-anchor=\"middle\">" + formatSince(s + f.p0, f.p0).substr(0, formatSince(s + f.p0, f.p0).size() - 3) +
           "s</text>\n";
  }
  svg += "<text x=\"" + num(kLeft + f.plotW() / 2) + "\" y=\"" + num(f.bottom - 4) +
         "\" text-anchor=\"middle\">seconds since pressure began</text>\n";
  const double ystep = static_cast<double>(MiB) *
                       niceStep(f.vmax / static_cast<double>(MiB), 6,
                                {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536});
  for (int i = 0; i <= 12 && i * ystep <= f.vmax; ++i)
  {
    const double v = i * ystep;
    svg += "<line class=\"grid\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kWidth - kRight) + "\" y1=\"" + num(f.y(v)) +
           "\" y2=\"" + num(f.y(v)) + "\"/><text x=\"" + num(kLeft - 6) + "\" y=\"" + num(f.y(v) + 3.5) +
           "\" text-anchor=\"end\">" + formatSize(static_cast<std::uint64_t>(v)) + "</text>\n";
  }
  svg += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(kTop - 22) + "\" text-anchor=\"end\">memory</text>\n";
  svg += "<rect class=\"frame\" x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(f.plotW()) +
         "\" height=\"" + num(kPlotH) + "\"/>\n</g>\n";

  return svg;
}

std::string gapMarkers(const Timeline& tl, const Frame& f) {
  std::string svg;
  for (const auto& g : tl.gaps) {
    const double x = f.x(g.t), w = std::max(1.5, f.x(g.t + g.length_sec) - x);
    svg += "<rect class=\"gap-marker\" x=\"" + num(x) + "\" y=\"" + num(kTop) + "\" width=\"" + num(w) +
           "\" height=\"" + num(f.bottom - kAxisH - kTop) + "\"><title>observer gap from " + formatSince(g.t, f.p0) +
           " for " + formatTenths(g.length_sec) + (g.cause.empty() ? "" : ": " + htmlText(g.cause)) +
           "</title></rect>\n";
  }

  return svg;
}

// The guest's MemTotal and memory in use, each unit's memory.current and limits, and
// their labels in the right margin.
std::string memoryLines(const RunReport& r, const TimelineIndex& index, const Layout& l) {
  const Timeline& tl = r.timeline;
  const Frame& f = l.f;
  const std::vector<std::string>& units = l.units;
  const double mem_total = l.mem_total;
  std::string svg;
  std::vector<Label> right;
  // The guest: MemTotal, and what was in use (MemTotal - MemAvailable).
  if (mem_total > 0) {
    svg += "<line class=\"total-line\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kWidth - kRight) + "\" y1=\"" +
           num(f.y(mem_total)) + "\" y2=\"" + num(f.y(mem_total)) + "\"><title>guest MemTotal " +
           formatSize(tl.guest.mem_total_bytes) + "</title></line>\n";
    right.push_back({f.y(mem_total), "guest MemTotal " + formatSize(tl.guest.mem_total_bytes), "#444"});
    std::vector<Point> used;
    for (const auto& g : tl.guest_samples)
      // MemAvailable 0 is a reading (a thrashing guest), not a gap: only an unread file is left out.
      if (g.isAvailable(kGuestMeminfo))
        used.push_back({g.t, mem_total - static_cast<double>(std::min(g.mem_available_bytes, tl.guest.mem_total_bytes))});
    for (const auto& seg : segments(used, kGapFactor * r.plan.sample_interval_sec + 1))
      svg += "<path class=\"guest-line\" d=\"" + pathOf(decimate(seg, f), f) +
             "\"><title>guest memory in use (MemTotal - MemAvailable)</title></path>\n";
  }

  // Each unit's limits and memory.current.
  for (std::size_t u = 0; u < l.units.size(); ++u) {
    const std::string colour = chartUnitColour(u);
    const bool dashed_series = chartUnitDashed(u);
    for (const auto& lim : l.limits) {
      if (lim.unit != units[u]) continue;
      const double y = f.y(static_cast<double>(lim.bytes));
      const std::string text = stem(units[u]) + " " + lim.directive + "=" + formatSize(lim.bytes);
      svg += "<line class=\"limit-line\" data-unit=\"" + htmlText(units[u]) + "\" data-directive=\"" + lim.directive +
             "\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kWidth - kRight) + "\" y1=\"" + num(y) + "\" y2=\"" + num(y) +
             "\" stroke=\"" + colour + "\" stroke-dasharray=\"" +
             (std::string(lim.directive) == "MemoryMax" ? "8 4" : "2 4") + "\"><title>" + htmlText(text) +
             "</title></line>\n";
      right.push_back({y, text, colour});
    }
    std::vector<Point> pts;
    for (const MemorySample* s : index.samplesOf(units[u]))
      if (s->isAvailable(kCgroupMemoryCurrent)) pts.push_back({s->t, static_cast<double>(s->memory_current)});
    for (const auto& seg : segments(pts, kGapFactor * r.plan.sample_interval_sec + 1))
      svg += "<path class=\"unit-line\" data-unit=\"" + htmlText(units[u]) + "\" stroke=\"" + colour + "\"" +
             (dashed_series ? " stroke-dasharray=\"6 2\"" : "") + " d=\"" + pathOf(decimate(seg, f), f) +
             "\"><title>" + htmlText(units[u]) + " memory.current</title></path>\n";
  }
  svg += labels(right);

  return svg;
}

std::string psiBand(const RunReport& r, const Frame& f) {
  const Timeline& tl = r.timeline;
  std::string svg;
  // Memory PSI (guest-wide avg10, %) as a band: some, and full inside it.
  {
    std::vector<Point> some, full;
    double peak = 0;
    for (const auto& g : tl.guest_samples) {
      if (!g.isAvailable(kGuestPressure))
        continue;
      some.push_back({g.t, g.pressure_some_avg10});
      full.push_back({g.t, g.pressure_full_avg10});
      peak = std::max(peak, g.pressure_some_avg10);
    }
    const double top = f.psiTop(), pmax = std::max(10.0, std::ceil(peak / 10) * 10);
    svg += "<g class=\"psi\"><text x=\"" + num(kLeft - 6) + "\" y=\"" + num(top + 8) +
           "\" text-anchor=\"end\">PSI " + num(pmax) + "%</text><text x=\"" + num(kLeft - 6) + "\" y=\"" +
           num(top + kPsiH) + "\" text-anchor=\"end\">0%</text><rect class=\"frame\" x=\"" + num(kLeft) + "\" y=\"" +
           num(top) + "\" width=\"" + num(f.plotW()) + "\" height=\"" + num(kPsiH) + "\"/>\n";
    auto band = [&](const std::vector<Point>& pts, const char* cls, const char* what) {
      for (const auto& seg : segments(pts, kGapFactor * r.plan.sample_interval_sec + 1)) {
        const auto d = decimate(seg, f);
        std::string path = "M" + num(f.x(d.front().t)) + "," + num(top + kPsiH);
        for (const auto& p : d) path += " " + num(f.x(p.t)) + "," + num(top + kPsiH - std::min(p.v, pmax) / pmax * kPsiH);
        path += " " + num(f.x(d.back().t)) + "," + num(top + kPsiH) + "Z";
        svg += std::string("<path class=\"psi-band ") + cls + "\" d=\"" + path + "\"><title>" + what +
               "</title></path>\n";
      }
    };
    band(some, "some", "memory PSI some avg10: some task waited for memory");
    band(full, "full", "memory PSI full avg10: every task waited for memory");
    if (some.empty())
      svg += "<text x=\"" + num(kLeft + 6) + "\" y=\"" + num(top + kPsiH / 2 + 4) +
             "\">no guest samples: memory PSI not recorded</text>\n";
    svg += "<text class=\"label\" x=\"" + num(kWidth - kRight + 6) + "\" y=\"" + num(top + 10) +
           "\">memory PSI avg10</text><text class=\"label\" x=\"" + num(kWidth - kRight + 6) + "\" y=\"" +
           num(top + 22) + "\" fill=\"#b8860b\">some</text><text class=\"label\" x=\"" +
           num(kWidth - kRight + 40) + "\" y=\"" + num(top + 22) + "\" fill=\"#a61b1b\">full</text></g>\n";
  }

  return svg;
}

std::string stateLanes(const RunReport& r, const TimelineIndex& index, const Layout& l) {
  const Timeline& tl = r.timeline;
  const Frame& f = l.f;
  const std::vector<std::string>& units = l.units;
  const double span = f.t1 - f.t0;
  std::string svg;
  // One lane per unit: its systemd ActiveState over time, and its restarts.
  for (std::size_t u = 0; u < units.size(); ++u) {
    const double y = f.laneTop + static_cast<double>(u) * kLaneH;
    svg += "<g class=\"lane\" data-unit=\"" + htmlText(units[u]) + "\"><text x=\"" + num(kLeft - 6) + "\" y=\"" +
           num(y + 10.5) + "\" text-anchor=\"end\" fill=\"" + chartUnitColour(u) + "\">" +
           htmlText(units[u].size() > 22 ? units[u].substr(0, 21) + "…" : units[u]) + "</text>\n";
    std::vector<const UnitStateChange*> states;
    for (const auto& s : tl.states)
      if (s.unit == units[u]) states.push_back(&s);
    std::stable_sort(states.begin(), states.end(), [](auto* a, auto* b) { return a->t < b->t; });
    // Many changes (a restart loop over ten minutes): the last state of each column stands.
    std::vector<const UnitStateChange*> kept;
    const double column = span / static_cast<double>(kLaneSegmentsMax);
    for (const auto* s : states) {
      if (!kept.empty()) {
        if (s->ActiveState == kept.back()->ActiveState && s->SubState == kept.back()->SubState) continue;
        if (states.size() > kLaneSegmentsMax &&
            std::floor((s->t - f.t0) / column) == std::floor((kept.back()->t - f.t0) / column)) {
          kept.back() = s;
          continue;
        }
      }
      kept.push_back(s);
    }
    for (std::size_t i = 0; i < kept.size(); ++i) {
      const double x0 = f.x(kept[i]->t), x1 = i + 1 < kept.size() ? f.x(kept[i + 1]->t) : f.x(index.endT());
      svg += "<rect class=\"state-segment\" x=\"" + num(x0) + "\" y=\"" + num(y + 2) + "\" width=\"" +
             num(std::max(0.8, x1 - x0)) + "\" height=\"" + num(kLaneH - 4) + "\" fill=\"" +
             stateColour(kept[i]->ActiveState) + "\"><title>" + htmlText(units[u]) + " " +
             htmlText(kept[i]->ActiveState) + "/" + htmlText(kept[i]->SubState) +
             (kept[i]->Result.empty() || kept[i]->Result == "success" ? "" : " Result=" + htmlText(kept[i]->Result)) +
             " from " + formatSince(kept[i]->t, f.p0) + "</title></rect>\n";
    }
    std::uint32_t restarts = 0;
    for (const auto* s : states)
      if (s->NRestarts > restarts) {
        restarts = s->NRestarts;
        svg += "<circle class=\"restart-marker\" data-unit=\"" + htmlText(units[u]) + "\" cx=\"" + num(f.x(s->t)) +
               "\" cy=\"" + num(y + kLaneH / 2) + "\" r=\"4\"><title>" + htmlText(units[u]) + " restarted (NRestarts " +
               std::to_string(restarts) + ") at " + formatSince(s->t, f.p0) + "</title></circle>\n";
      }
    svg += "</g>\n";
  }

  return svg;
}

// One lane per probe: what its clients saw, green while its attempts succeed and red
// while they fail, each stretch from one attempt to the next that differs.
std::string probeLanes(const RunReport& r, const TimelineIndex& index, const Layout& l) {
  const Frame& f = l.f;
  std::string svg;
  for (std::size_t p = 0; p < l.probes.size(); ++p) {
    const std::string& name = l.probes[p];
    const double y = l.probe_top + static_cast<double>(p) * kLaneH;
    svg += "<g class=\"lane probe-lane\" data-probe=\"" + htmlText(name) + "\"><text x=\"" + num(kLeft - 6) +
           "\" y=\"" + num(y + 10.5) + "\" text-anchor=\"end\">probe " +
           htmlText(name.size() > 16 ? name.substr(0, 15) + "…" : name) + "</text>\n";
    std::vector<const ProbeAttempt*> attempts;
    for (const auto& a : r.timeline.probes)
      if (a.probe == name) attempts.push_back(&a);
    std::stable_sort(attempts.begin(), attempts.end(), [](auto* a, auto* b) { return a->t < b->t; });
    for (std::size_t i = 0; i < attempts.size();) {
      std::size_t j = i + 1;
      while (j < attempts.size() && attempts[j]->ok == attempts[i]->ok) ++j;
      const double t0 = attempts[i]->t, t1 = j < attempts.size() ? attempts[j]->t : index.endT();
      const double x0 = f.x(t0), x1 = f.x(std::max(t1, t0));
      svg += "<rect class=\"probe-segment\" x=\"" + num(x0) + "\" y=\"" + num(y + 2) + "\" width=\"" +
             num(std::max(0.8, x1 - x0)) + "\" height=\"" + num(kLaneH - 4) + "\" fill=\"" +
             (attempts[i]->ok ? "#2e8b57" : "#c0392b") + "\"><title>probe " + htmlText(name) + ": " +
             std::to_string(j - i) + (attempts[i]->ok ? " succeeded" : " failed (" + htmlText(attempts[i]->result) + ")") +
             " from " + formatSince(t0, f.p0) + " for " + formatTenths(t1 - t0) + "</title></rect>\n";
      i = j;
    }
    svg += "</g>\n";
  }
  return svg;
}

std::string markers(const RunReport& r, const TimelineIndex& index, const Layout& l) {
  const Timeline& tl = r.timeline;
  const Frame& f = l.f;
  const std::optional<double>& limit_t = l.limit_t;
  const bool limit_reached = l.limit_reached, limit_in_view = l.limit_in_view;
  std::string svg;
  // Phases, losses, the time limit, and every kernel OOM kill. Labels above the
  // plot that would overlap the previous one go one row higher.
  double row_end[2] = {-1e9, -1e9};
  auto labelY = [&](double from, double chars) {
    const double to = from + chars * 5.6;
    const int row = from > row_end[0] + 4 ? 0 : 1;
    row_end[row] = std::max(row_end[row], to);
    return kTop - 10 - row * 11;
  };
  for (const auto& p : tl.phases) {
    if (p.name != kPhasePressure && p.name != kPhaseSettled && p.name != kPhaseSetupFailed) continue;
    const double x = f.x(p.t);
    const double y = labelY(x + 3, static_cast<double>(p.name.size()));
    svg += "<g class=\"phase-marker\"><line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(y + 2) +
           "\" y2=\"" + num(f.markerBottom()) + "\"/><text x=\"" + num(x + 3) + "\" y=\"" + num(y) + "\">" +
           htmlText(p.name) + "</text><title>phase " + htmlText(p.name) + " at " + formatSince(p.t, f.p0) +
           (p.detail.empty() ? "" : ": " + htmlText(p.detail)) + "</title></g>\n";
  }
  for (const auto& l : tl.losses) {
    if (l.t < 0) continue;
    svg += "<rect class=\"loss-marker\" x=\"" + num(f.x(l.t) - 2) + "\" y=\"" + num(kTop) +
           "\" width=\"4\" height=\"8\"><title>loss at " + formatSince(l.t, f.p0) + ": " + htmlText(l.source) + " " +
           htmlText(l.what) + (l.count > 1 ? " x" + std::to_string(l.count) : "") +
           (l.detail.empty() ? "" : " (" + htmlText(l.detail) + ")") + "</title></rect>\n";
  }
  if (limit_t) {
    const std::string title = std::string("time limit ") + formatDuration(Seconds(r.scenario.time_limit_sec)) +
                              (limit_reached ? ", reached at " : ", at about ") + formatSince(*limit_t, f.p0);
    if (limit_in_view) {
      const double x = f.x(*limit_t);
      const double y = labelY(x - 3 - 10 * 5.6, 10);
      svg += "<g class=\"time-limit-marker\"><line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(y + 2) +
             "\" y2=\"" + num(f.markerBottom()) + "\"/><text x=\"" + num(x - 3) + "\" y=\"" + num(y) +
             "\" text-anchor=\"end\">time limit</text><title>" + title + "</title></g>\n";
    } else {
      svg += "<g class=\"time-limit-marker\"><text x=\"" + num(kWidth - kRight + 6) + "\" y=\"" + num(kTop - 10) +
             "\">time limit " + formatSince(*limit_t, f.p0) + " →</text><title>" + title + " (not reached)</title></g>\n";
    }
  }
  std::map<const KernelOomKill*, std::size_t> event_of;
  for (std::size_t e = 0; e < index.events().size(); ++e)
    for (const auto* m : index.events()[e].members) event_of[m] = e;
  for (const auto& k : tl.kills) {
    const double x = f.x(k.t);
    const auto ev = event_of.find(&k);
    const std::string what = std::string(k.group_kill ? "group-killed" : "KILLED") + " " +
                             (k.unit.empty() ? (k.task_memcg.empty() ? "(unit unknown)" : k.task_memcg) : k.unit) +
                             " pid " + std::to_string(k.pid) + " (" + processLabel(k.comm, k.cmdline) + ")";
    svg += "<a href=\"#kill-event-" + std::to_string(ev == event_of.end() ? 0 : ev->second + 1) +
           "\"><g class=\"kill-marker" + (k.group_kill ? " group-member" : "") + "\" data-pid=\"" +
           std::to_string(k.pid) + "\" data-unit=\"" + htmlText(k.unit) + "\"><line x1=\"" + num(x) + "\" x2=\"" +
           num(x) + "\" y1=\"" + num(kTop) + "\" y2=\"" + num(f.markerBottom()) + "\"/>" +
           (k.group_kill ? "<circle cx=\"" + num(x) + "\" cy=\"" + num(kTop - 3) + "\" r=\"3\"/>"
                         : "<path d=\"M" + num(x - 5) + "," + num(kTop - 9) + " h10 l-5,8z\"/>") +
           "<title>" + formatSince(k.t, f.p0) + " " + htmlText(what) + ", " + htmlText(k.constraint) + ", anon-rss " +
           formatSize(k.anon_rss_kb * KiB) + ", oom_score_adj " + std::to_string(k.oom_score_adj) +
           "</title></g></a>\n";
  }
  return svg;
}

}  // namespace

std::string timelineChartSvg(const RunReport& r) {
  const TimelineIndex index(r.timeline);
  const Layout l = layoutOf(r, index);
  const Frame& f = l.f;
  std::string svg = "<svg id=\"timeline-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(kWidth) +
                    " " + num(f.bottom) + "\" role=\"img\" aria-labelledby=\"timeline-chart-title\">\n";
  svg += "<title id=\"timeline-chart-title\">Memory, pressure, systemd states and OOM kills over time (seconds "
         "since pressure began)</title>\n";

  svg += axes(f);
  svg += gapMarkers(r.timeline, f);
  svg += memoryLines(r, index, l);
  svg += psiBand(r, f);
  svg += stateLanes(r, index, l);
  svg += probeLanes(r, index, l);
  svg += markers(r, index, l);
  svg += "</svg>\n";
  return svg;
}

}  // namespace oom
