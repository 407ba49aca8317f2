// Two sides' cells matched by (scenario, release) and compared, repeats as a
// group. The regression rules are listed in SUITE-DIFF.md; each rule is one
// function here, in the order the changes are reported.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "suite/diff.hpp"

namespace oom {
namespace {

int rank(VerdictKind v) {
  switch (v) {
    case VerdictKind::pass: return 0;
    case VerdictKind::inconclusive: return 1;
    case VerdictKind::fail: return 2;
  }
  return 1;
}

std::string lower(const char* s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string seconds(double s) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2fs", s);
  return buf;
}

std::string at(double t) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "t=%.3f", t);
  return buf;
}

std::string killText(const DiffKill& k) {
  return "kill " + at(k.t) + " pid " + std::to_string(k.pid) + " " + k.unit + " (" + k.comm + ")";
}

std::string victim(const RunFacts& r) {
  return r.first_kill ? r.first_kill->unit + " (" + r.first_kill->comm + ")" : "none";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One value when every run agrees ("pass"), else each value with its count,
// the most frequent first: "flaky: pass x2, fail x1".
std::string groupValue(const std::vector<std::string>& values, const char* mixed) {
  std::map<std::string, int> counts;
  for (const auto& v : values) ++counts[v];
  if (counts.size() == 1) return counts.begin()->first;
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = std::string(mixed) + ": ";
  for (std::size_t i = 0; i < sorted.size(); ++i)
    out += (i ? ", " : "") + sorted[i].first + " x" + std::to_string(sorted[i].second);
  return out;
}

DiffCite cite(const RunFacts& r, std::string text, std::string line = "") {
  return DiffCite{r.repeat, r.folder, std::move(text), std::move(line)};
}

const CheckFact* findCheck(const RunFacts& r, const std::string& name, const std::string& unit) {
  for (const auto& c : r.checks)
    if (c.name == name && c.unit == unit) return &c;
  return nullptr;
}

// A time figure of one run, with what it was measured from.
struct Measured {
  double value = 0;
  DiffCite cite;
};

class CellDiffer {
 public:
  CellDiffer(const DiffCell& o, const DiffCell& n, const DiffTolerance& tol, std::vector<DiffChange>& out)
      : old_(o), new_(n), tol_(tol), out_(out) {}

  // Every finished run.
  void compareRuns() {
    repeatsNotRun();
    verdicts();
  }

  // Only runs with a result.json: what their timelines and checks show.
  void compareResults() {
    checks();
    firstVictim();
    firstKillTime();
    stalls();
    killedUnits();
  }

 private:
  DiffChange& add(const char* what, bool regression) {
    DiffChange c;
    c.what = what;
    c.regression = regression;
    c.scenario = new_.scenario;
    c.release = new_.release;
    out_.push_back(std::move(c));
    return out_.back();
  }

  // Repeats OLD finished that NEW listed but did not finish: reported; the
  // finished ones are still compared as the group.
  void repeatsNotRun() {
    std::vector<DiffCite> missing;
    for (const auto& u : new_.unfinished)
      for (const auto& r : old_.runs)
        if (r.repeat == u.repeat) missing.push_back(u);
    if (missing.empty()) return;
    auto& c = add("repeats_not_run", false);
    c.old_value = std::to_string(old_.runs.size()) + " finished";
    c.new_value = std::to_string(new_.runs.size()) + " finished";
    c.why = "the finished repeats are compared";
    for (const auto& r : old_.runs) c.old_cites.push_back(cite(r, "finished"));
    c.new_cites = missing;
  }

  void verdicts() {
    std::vector<std::string> o, n;
    int old_worst = 0, new_worst = 0;
    for (const auto& r : old_.runs) {
      o.push_back(toString(r.verdict));
      old_worst = std::max(old_worst, rank(r.verdict));
    }
    for (const auto& r : new_.runs) {
      n.push_back(toString(r.verdict));
      new_worst = std::max(new_worst, rank(r.verdict));
    }
    const std::string ov = groupValue(o, "flaky"), nv = groupValue(n, "flaky");
    if (ov == nv) return;
    auto& c = add("verdict", new_worst > old_worst);
    c.old_value = ov;
    c.new_value = nv;
    c.why = new_worst > old_worst ? "worse: a run's verdict is worse than any in OLD (pass < inconclusive < fail)"
            : new_worst < old_worst ? "better" : "the worst verdict is the same as in OLD";
    for (const auto& r : old_.runs) c.old_cites.push_back(cite(r, std::string(toString(r.verdict)) + ": " + r.reason));
    for (const auto& r : new_.runs) c.new_cites.push_back(cite(r, std::string(toString(r.verdict)) + ": " + r.reason));
  }

  void checks() {
    std::vector<std::pair<std::string, std::string>> keys;  // (name, unit), OLD's order then NEW's
    auto collect = [&keys](const DiffCell& cell) {
      for (const auto& r : cell.runs)
        for (const auto& c : r.checks)
          if (std::find(keys.begin(), keys.end(), std::make_pair(c.name, c.unit)) == keys.end())
            keys.emplace_back(c.name, c.unit);
    };
    collect(old_);
    collect(new_);
    for (const auto& key : keys) check(key.first, key.second);
  }

  void check(const std::string& name, const std::string& unit) {
    std::vector<std::string> o, n;
    std::vector<DiffCite> oc, nc;
    bool old_failed = false, new_failed = false;
    for (const auto& r : old_.runs)
      if (const CheckFact* c = findCheck(r, name, unit)) {
        o.push_back(lower(toString(c->outcome)));
        old_failed = old_failed || c->outcome == CheckOutcome::fail;
        oc.push_back(cite(r, o.back() + ": " + c->observed));
      }
    for (const auto& r : new_.runs)
      if (const CheckFact* c = findCheck(r, name, unit)) {
        n.push_back(lower(toString(c->outcome)));
        new_failed = new_failed || c->outcome == CheckOutcome::fail;
        nc.push_back(cite(r, n.back() + ": " + c->observed));
      }
    const std::string ov = o.empty() ? "absent" : groupValue(o, "flaky");
    const std::string nv = n.empty() ? "absent" : groupValue(n, "flaky");
    if (ov == nv) return;
    const char* what = o.empty() ? "check_added" : n.empty() ? "check_removed" : "check";
    const bool regression = !o.empty() && new_failed && !old_failed;
    auto& c = add(what, regression);
    c.check = name;
    c.unit = unit;
    c.old_value = ov;
    c.new_value = nv;
    c.why = regression ? "fails in NEW, failed in no OLD run"
            : o.empty() ? "the scenario in NEW has this check, OLD's did not"
            : n.empty() ? "the scenario in NEW no longer has this check"
                        : "not a regression: only a check failing in NEW and in no OLD run is";
    c.old_cites = std::move(oc);
    c.new_cites = std::move(nc);
  }

  void firstVictim() {
    std::vector<std::string> o, n;
    std::set<std::string> old_victims;
    for (const auto& r : old_.runs) {
      o.push_back(victim(r));
      old_victims.insert(o.back());
    }
    std::string unseen;
    for (const auto& r : new_.runs) {
      n.push_back(victim(r));
      if (r.first_kill && !old_victims.count(n.back()) && unseen.empty()) unseen = n.back();
    }
    const std::string ov = groupValue(o, "varies"), nv = groupValue(n, "varies");
    if (ov == nv) return;
    auto& c = add("first_victim", !unseen.empty());
    c.old_value = ov;
    c.new_value = nv;
    c.why = !unseen.empty() ? "no OLD run's first victim was " + unseen
                            : "every NEW first victim was one in OLD too";
    auto citeVictim = [](const RunFacts& r) {
      return r.first_kill ? cite(r, killText(*r.first_kill), r.first_kill->line)
                          : cite(r, "no kill at or after pressure (" + at(r.pressure_t) + ")");
    };
    for (const auto& r : old_.runs) c.old_cites.push_back(citeVictim(r));
    for (const auto& r : new_.runs) c.new_cites.push_back(citeVictim(r));
  }

  // A figure (median over the runs that have it) that moved by more than the
  // tolerance: later or longer is a regression, earlier or shorter is not.
  void figure(const char* what, const char* later, const char* earlier, const std::vector<Measured>& o,
              const std::vector<Measured>& n) {
    if (o.empty() || n.empty()) return;
    std::vector<double> ov, nv;
    for (const auto& m : o) ov.push_back(m.value);
    for (const auto& m : n) nv.push_back(m.value);
    const double old_median = median(ov), new_median = median(nv);
    const double allowed = tol_.allowedFor(old_median);
    const double delta = new_median - old_median;
    if (std::abs(delta) <= allowed) return;
    auto& c = add(what, delta > 0);
    const auto label = [](double v, std::size_t runs) {
      return seconds(v) + (runs > 1 ? " (median of " + std::to_string(runs) + ")" : "");
    };
    c.old_value = label(old_median, o.size());
    c.new_value = label(new_median, n.size());
    c.old_sec = old_median;
    c.new_sec = new_median;
    c.allowed_sec = allowed;
    c.why = std::string(delta > 0 ? later : earlier) + " by " + seconds(std::abs(delta)) +
            ", more than the tolerance " + tol_.text + (tol_.relative ? " (" + seconds(allowed) + ")" : "");
    for (const auto& m : o) c.old_cites.push_back(m.cite);
    for (const auto& m : n) c.new_cites.push_back(m.cite);
  }

  static std::vector<Measured> firstKillTimes(const DiffCell& cell) {
    std::vector<Measured> out;
    for (const auto& r : cell.runs) {
      if (!r.first_kill) continue;
      const double since = r.first_kill->t - r.pressure_t;
      out.push_back(Measured{since, cite(r, killText(*r.first_kill) + ", pressure from " + at(r.pressure_t) +
                                                ": " + seconds(since) + " after",
                                         r.first_kill->line)});
    }
    return out;
  }

  void firstKillTime() {
    figure("first_kill_time", "later", "earlier", firstKillTimes(old_), firstKillTimes(new_));
  }

  // Stall figures exist only where the observer took guest samples (two at least).
  static std::vector<Measured> nearZero(const DiffCell& cell) {
    std::vector<Measured> out;
    for (const auto& r : cell.runs) {
      if (r.stats.guest_samples < 2) continue;
      out.push_back(Measured{r.stats.near_zero_sec,
                             cite(r, "MemAvailable <= " + formatSize(r.stats.near_zero_bytes) + " for " +
                                         seconds(r.stats.near_zero_sec) + " over " +
                                         std::to_string(r.stats.guest_samples) + " guest samples")});
    }
    return out;
  }

  static std::vector<Measured> sampleInterval(const DiffCell& cell) {
    std::vector<Measured> out;
    for (const auto& r : cell.runs) {
      if (r.stats.guest_samples < 2) continue;
      out.push_back(Measured{r.stats.longest_sample_interval_sec,
                             cite(r, "longest interval between guest samples " +
                                         seconds(r.stats.longest_sample_interval_sec) + " from " +
                                         at(r.stats.longest_sample_interval_at))});
    }
    return out;
  }

  void stalls() {
    figure("stall_near_zero", "longer", "shorter", nearZero(old_), nearZero(new_));
    figure("stall_sample_interval", "longer", "shorter", sampleInterval(old_), sampleInterval(new_));
  }

  static std::string killedList(const RunFacts& r) {
    if (r.killed.empty()) return "no kill at all";
    std::string s = "killed:";
    for (const auto& entry : r.killed) s += " " + entry.first;
    return s;
  }

  void killedUnits() {
    std::set<std::string> o, n;
    for (const auto& r : old_.runs)
      for (const auto& entry : r.killed) o.insert(entry.first);
    for (const auto& r : new_.runs)
      for (const auto& entry : r.killed) n.insert(entry.first);
    for (const auto& unit : n) {
      if (o.count(unit)) continue;
      auto& c = add("new_killed_unit", true);
      c.unit = unit;
      c.old_value = "not killed";
      c.new_value = "killed";
      c.why = "killed in NEW, in no OLD run";
      for (const auto& r : old_.runs) c.old_cites.push_back(cite(r, killedList(r)));
      for (const auto& r : new_.runs)
        if (auto k = r.killed.find(unit); k != r.killed.end())
          c.new_cites.push_back(cite(r, killText(k->second), k->second.line));
    }
    for (const auto& unit : o) {
      if (n.count(unit)) continue;
      auto& c = add("no_longer_killed", false);
      c.unit = unit;
      c.old_value = "killed";
      c.new_value = "not killed";
      c.why = "killed in OLD, in no NEW run";
      for (const auto& r : old_.runs)
        if (auto k = r.killed.find(unit); k != r.killed.end())
          c.old_cites.push_back(cite(r, killText(k->second), k->second.line));
      for (const auto& r : new_.runs) c.new_cites.push_back(cite(r, killedList(r)));
    }
  }

  const DiffCell& old_;
  const DiffCell& new_;
  const DiffTolerance& tol_;
  std::vector<DiffChange>& out_;
};

DiffCell withResults(const DiffCell& cell) {
  DiffCell out{cell.scenario, cell.release, {}, {}};
  for (const auto& r : cell.runs)
    if (r.has_result) out.runs.push_back(r);
  return out;
}

void compareCells(const DiffCell& o, const DiffCell& n, const DiffTolerance& tolerance,
                  std::vector<DiffChange>& out) {
  CellDiffer(o, n, tolerance, out).compareRuns();
  const DiffCell od = withResults(o), nd = withResults(n);
  if (!od.runs.empty() && !nd.runs.empty()) return CellDiffer(od, nd, tolerance, out).compareResults();
  if (od.runs.empty() && nd.runs.empty()) return;
  DiffChange c;
  c.what = "results_missing";
  c.scenario = n.scenario;
  c.release = n.release;
  c.old_value = std::to_string(od.runs.size()) + " with result.json";
  c.new_value = std::to_string(nd.runs.size()) + " with result.json";
  c.why = std::string("no run in ") + (nd.runs.empty() ? "NEW" : "OLD") +
          " left a result.json: only the verdicts are compared";
  for (const auto& r : o.runs) c.old_cites.push_back(cite(r, r.has_result ? "result.json" : "no result.json: " + r.reason));
  for (const auto& r : n.runs) c.new_cites.push_back(cite(r, r.has_result ? "result.json" : "no result.json: " + r.reason));
  out.push_back(std::move(c));
}

std::string verdictsOf(const DiffCell& cell) {
  std::vector<std::string> v;
  for (const auto& r : cell.runs) v.push_back(toString(r.verdict));
  return v.empty() ? "not run" : groupValue(v, "flaky");
}

void citeRuns(const DiffCell& cell, std::vector<DiffCite>& cites) {
  for (const auto& r : cell.runs) cites.push_back(cite(r, std::string(toString(r.verdict)) + ": " + r.reason));
  for (const auto& u : cell.unfinished) cites.push_back(u);
}

// One side only, or finished on one side only.
void presence(const DiffCell* o, const DiffCell* n, std::vector<DiffChange>& out) {
  DiffChange c;
  const DiffCell& any = n ? *n : *o;
  c.scenario = any.scenario;
  c.release = any.release;
  c.old_value = o ? verdictsOf(*o) : "absent";
  c.new_value = n ? verdictsOf(*n) : "absent";
  if (!n) {
    c.what = "cell_removed";
    c.why = "NEW's index does not list it";
  } else if (!o) {
    c.what = "cell_added";
    c.why = "OLD's index did not list it";
  } else if (n->runs.empty()) {
    c.what = "cell_not_run";
    c.regression = true;
    c.why = "finished in OLD, no repeat finished in NEW";
  } else {
    c.what = "cell_now_run";
    c.why = "no repeat finished in OLD";
  }
  if (o) citeRuns(*o, c.old_cites);
  if (n) citeRuns(*n, c.new_cites);
  out.push_back(std::move(c));
}

const DiffCell* findCell(const DiffSide& side, const DiffCell& like) {
  for (const auto& c : side.cells)
    if (c.scenario == like.scenario && c.release == like.release) return &c;
  return nullptr;
}

}  // namespace

std::size_t SuiteDiff::regressions() const {
  return static_cast<std::size_t>(
      std::count_if(changes.begin(), changes.end(), [](const DiffChange& c) { return c.regression; }));
}

SuiteDiff diffSides(const DiffSide& old_side, const DiffSide& new_side, const DiffTolerance& tolerance) {
  SuiteDiff d;
  d.old_dir = old_side.dir.string();
  d.new_dir = new_side.dir.string();
  d.suite = old_side.suite;
  d.tolerance = tolerance;
  auto pair = [&d, &tolerance](const DiffCell* o, const DiffCell* n) {
    if (!o || !n || o->runs.empty() != n->runs.empty()) return presence(o, n, d.changes);
    if (o->runs.empty()) return;  // finished on neither side
    ++d.cells_compared;
    compareCells(*o, *n, tolerance, d.changes);
  };
  if (!old_side.suite && !new_side.suite && old_side.cells.size() == 1 && new_side.cells.size() == 1) {
    // Two run folders: the user chose them, so they are compared whatever they ran.
    const DiffCell& o = old_side.cells[0];
    const DiffCell& n = new_side.cells[0];
    if (o.scenario != n.scenario || o.release != n.release)
      d.notes.push_back("comparing " + o.scenario + " on " + o.release + " (OLD) with " + n.scenario + " on " +
                        n.release + " (NEW)");
    pair(&o, &n);
    return d;
  }
  for (const auto& o : old_side.cells) pair(&o, findCell(new_side, o));
  for (const auto& n : new_side.cells)
    if (!findCell(old_side, n)) pair(nullptr, &n);
  return d;
}

Expected<SuiteDiff> diffFolders(const std::filesystem::path& old_dir, const std::filesystem::path& new_dir,
                                const DiffTolerance& tolerance) {
  auto old_side = readDiffSide(old_dir);
  if (!old_side) return tl::unexpected(old_side.error());
  auto new_side = readDiffSide(new_dir);
  if (!new_side) return tl::unexpected(new_side.error());
  if (old_side->suite != new_side->suite) {
    const auto kind = [](const DiffSide& s) {
      return s.suite ? "a suite folder (index.json)" : "a run folder (result.json)";
    };
    return fail(new_dir.string(), std::string("expected ") + kind(*old_side) + " like OLD (" + old_dir.string() +
                                      "); got " + kind(*new_side) + ": diff compares two suites or two runs");
  }
  return diffSides(*old_side, *new_side, tolerance);
}

int diffExitStatus(const SuiteDiff& diff) { return diff.regressions() > 0 ? 1 : 0; }

}  // namespace oom
