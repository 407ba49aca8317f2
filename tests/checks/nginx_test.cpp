// nginx on real recordings (scenarios/nginx): a slow upload makes one worker hold
// 150 MiB, a neighbour's spike makes the kernel kill that worker. Under
// OOMPolicy=continue nginx's master starts a new worker and its other worker goes on
// answering; under OOMPolicy=kill systemd stops the whole unit and restarts it, and
// the clients see the outage. The evidence names the worker by its own title.
#include <set>

#include "checks/victim_choice.hpp"
#include "fixtures.hpp"

using namespace oom;
using namespace oomtest;

namespace {

const char* const kContinue[] = {"recorded-nginx-continue-bookworm.jsonl", "recorded-nginx-continue-trixie.jsonl"};
const char* const kKill[] = {"recorded-nginx-kill-bookworm.jsonl", "recorded-nginx-kill-trixie.jsonl"};
constexpr const char* kWorkerTitle = "nginx: worker process";

std::string healthExpect(const std::string& health) {
  return R"({"first_killed": "nginx", "probes": {"health": )" + health + "}}";
}

// The longest run of failed health attempts after the kill, first failure to the
// next success (0: none failed after it).
double outageAfterKill(const Records& recs) {
  const double kill = firstKillT(recs);
  double longest = 0, from = -1;
  for (const auto& x : recs) {
    if (x["type"] != "probe" || x.value("probe", "") != "health" || x["t"].get<double>() < kill) continue;
    if (!x.value("ok", false) && from < 0) from = x["t"];
    if (x.value("ok", false) && from >= 0) {
      longest = std::max(longest, x["t"].get<double>() - from);
      from = -1;
    }
  }
  return longest;
}

}  // namespace

TEST(Nginx, TheKernelKillsTheWorkerAndTheEvidenceNamesItByItsTitle) {
  for (const auto* set : {kContinue, kKill})
    for (std::size_t i = 0; i < 2; ++i) {
      const char* file = set[i];
      SCOPED_TRACE(file);
      const Timeline t = timeline(file);
      ASSERT_FALSE(t.kills.empty());
      const KernelOomKill& k = t.kills.front();
      EXPECT_EQ(k.comm, "nginx");  // the kernel's name: the same for master and workers
      EXPECT_EQ(k.cmdline, kWorkerTitle);
      EXPECT_EQ(k.unit, "nginx.service");
      EXPECT_EQ(k.oom_score_adj, 500);

      const Verdict v = evaluate(scenario(std::string("nginx/") + (set == kContinue ? "continue" : "kill") + ".json"), t);
      EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
      const CheckResult* first = find(v, "first_killed");
      ASSERT_NE(first, nullptr);
      EXPECT_TRUE(has(first->observed, "nginx \"nginx: worker process\"")) << first->observed;

      // The candidate table tells the master from its workers, which comm cannot.
      const TimelineIndex index(t);
      const VictimChoice choice = explainVictim(index, index.events().front());
      ASSERT_EQ(choice.source, VictimChoice::Source::task_dump);
      std::size_t masters = 0, workers = 0;
      for (const auto& c : choice.candidates) {
        if (c.unit != "nginx.service") continue;
        EXPECT_EQ(c.name, "nginx");
        masters += c.title.starts_with("nginx: master process");
        workers += c.title == kWorkerTitle;
        if (c.victim) {
          EXPECT_EQ(c.title, kWorkerTitle);
        }
      }
      EXPECT_EQ(masters, 1u);
      EXPECT_EQ(workers, 2u);
    }
}

TEST(Nginx, UnderContinueTheMasterReplacesTheWorkerAndTheClientsBarelyNotice) {
  for (const char* file : kContinue) {
    SCOPED_TRACE(file);
    const Records recs = records(file);
    const Timeline t = fold(recs);
    const Verdict v = evaluate(scenario("nginx/continue.json"), t);
    EXPECT_EQ(outcome(v, "nginx.half_alive"), CheckOutcome::pass) << dump(v);
    const CheckResult* rw = find(v, "health.recovers_within");
    ASSERT_NE(rw, nullptr);
    EXPECT_EQ(rw->outcome, CheckOutcome::pass);
    EXPECT_TRUE(has(rw->observed, "never failed")) << rw->observed;
    // The master started a new worker: a pid titled as one, sampled after the kill only.
    const double kill = firstKillT(recs);
    std::set<int> before, new_workers;
    for (const auto& s : t.samples) {
      if (s.unit != "nginx.service") continue;
      for (const auto& p : s.processes) {
        if (s.t < kill) before.insert(p.pid);
        else if (p.cmdline == kWorkerTitle && !before.count(p.pid)) new_workers.insert(p.pid);
      }
    }
    EXPECT_EQ(new_workers.size(), 1u);
    EXPECT_EQ(outageAfterKill(recs), 0.0);
    // Strict enough to fail: no request may fail at all, and one did while the guest thrashed.
    const Verdict strict = evaluate(scenario("nginx/continue.json", healthExpect(R"({"success_ratio": 1.0})")), t);
    EXPECT_EQ(outcome(strict, "health.success_ratio"), CheckOutcome::fail) << dump(strict);
  }
}

TEST(Nginx, UnderKillTheWholeUnitRestartsAndTheOutageIsMeasured) {
  for (const char* file : kKill) {
    SCOPED_TRACE(file);
    const Records recs = records(file);
    const Timeline t = fold(recs);
    const double outage = outageAfterKill(recs);
    ASSERT_GT(outage, 2.0);  // RestartSec=5s: longer than anything under continue
    const Verdict v = evaluate(scenario("nginx/kill.json"), t);
    EXPECT_EQ(outcome(v, "nginx.Result"), CheckOutcome::pass) << dump(v);
    EXPECT_EQ(outcome(v, "nginx.restarts"), CheckOutcome::pass);
    // Every process of the unit went with the worker (memory.oom.group).
    EXPECT_GE(t.kills.size(), 3u);
    const auto judged = [&](double limit) {
      const Verdict j = evaluate(scenario("nginx/kill.json", healthExpect(R"({"recovers_within": ")" +
                                                                          std::to_string(limit) + R"(s"})")),
                                 t);
      return outcome(j, "health.recovers_within");
    };
    EXPECT_EQ(judged(30), CheckOutcome::pass);
    EXPECT_EQ(judged(2), CheckOutcome::fail);
  }
}

TEST(Nginx, WithoutRecordedTitlesTheEvidenceFallsBackToTheKernelsName) {
  Records recs = records(kContinue[0]);
  for (auto& x : recs) {
    if (x.contains("cmdline")) x.erase("cmdline");
    if (x.contains("processes"))
      for (auto& p : x["processes"]) p.erase("cmdline");
  }
  const Verdict v = evaluate(scenario("nginx/continue.json"), fold(recs));
  const CheckResult* first = find(v, "first_killed");
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(has(first->observed, "(nginx, oom_score_adj 500)")) << first->observed;
}
