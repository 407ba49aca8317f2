// Agreement across repeats, the suite's verdict and exit status, its junit.xml
// and summary, on verdicts reached from real recorded guests.
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "suite/admission.hpp"
#include "suite/suite_report.hpp"

using namespace oom;
using namespace oomtest;

namespace {

FinishedRun finished(const Verdict& v, int repeat) {
  return {repeat, nlohmann::json(v.verdict).get<std::string>(), v.checks};
}

// three-services as recorded on bookworm and on trixie (two passing repeats), and
// the bookworm recording without its kernel kill record (the kernel "did not kill").
struct Repeats {
  Verdict bookworm, trixie, no_kill;
  Repeats() {
    const auto s = scenario("three-services.json");
    bookworm = evaluate(s, timeline("recorded-three-services-bookworm.jsonl"));
    trixie = evaluate(s, timeline("recorded-three-services-trixie.jsonl"));
    Records recs = records("recorded-three-services-bookworm.jsonl");
    std::erase_if(recs, [](const nlohmann::json& r) { return r["type"] == "oom_kill"; });
    no_kill = evaluate(s, fold(recs));
  }
};

SuiteCell cell(const std::string& scenario, const std::string& release, int repeat, const std::string& verdict) {
  SuiteCell c;
  c.scenario = scenario;
  c.release = release;
  c.repeat = repeat;
  c.folder = scenario + "-" + release + "-r" + std::to_string(repeat);
  c.status = verdict.empty() ? CellStatus::pending : CellStatus::done;
  c.verdict = verdict;
  c.duration_sec = 80;
  return c;
}

}  // namespace

TEST(SuiteAgreement, RepeatsThatAgreeKeepTheirOutcome) {
  const Repeats r;
  ASSERT_EQ(r.bookworm.verdict, VerdictKind::pass) << dump(r.bookworm);
  ASSERT_EQ(r.trixie.verdict, VerdictKind::pass) << dump(r.trixie);
  const auto group = agreeAcrossRepeats("three-services", "bookworm", {finished(r.bookworm, 1), finished(r.trixie, 2)});
  EXPECT_EQ(group.verdict, "pass");
  EXPECT_EQ(group.runs, 2);
  ASSERT_FALSE(group.checks.empty());
  for (const auto& a : group.checks) {
    EXPECT_NE(a.status, "flaky") << a.name << " " << a.unit;
    EXPECT_EQ(a.outcomes.size(), 2u);
  }
}

TEST(SuiteAgreement, ACheckThatDisagreesIsFlakyWithTheRunsThatDiffered) {
  const Repeats r;
  ASSERT_NE(r.no_kill.verdict, VerdictKind::pass) << dump(r.no_kill);
  const auto group = agreeAcrossRepeats("three-services", "bookworm",
                                        {finished(r.bookworm, 1), finished(r.no_kill, 2), finished(r.trixie, 3)});
  EXPECT_EQ(group.verdict, "flaky");
  const auto first = std::find_if(group.checks.begin(), group.checks.end(),
                                  [](const CheckAgreement& a) { return a.name == "first_killed"; });
  ASSERT_NE(first, group.checks.end());
  EXPECT_EQ(first->status, "flaky");
  EXPECT_EQ(first->outcomes[0], "pass");
  EXPECT_NE(first->outcomes[1], "pass");
  EXPECT_EQ(first->outcomes[2], "pass");

  SuiteIndex index;
  index.cells = {cell("three-services", "bookworm", 1, "pass"), cell("three-services", "bookworm", 2, "fail"),
                 cell("three-services", "bookworm", 3, "pass")};
  index.groups = {group};
  const auto outcome = suiteOutcome(index, false);
  EXPECT_EQ(outcome.exit_status, 1) << "a flaky check pages like a failure";
  EXPECT_NE(outcome.reason.find("flaky"), std::string::npos) << outcome.reason;

  std::map<std::string, FinishedRun> runs{{index.cells[0].folder, finished(r.bookworm, 1)},
                                          {index.cells[1].folder, finished(r.no_kill, 2)},
                                          {index.cells[2].folder, finished(r.trixie, 3)}};
  const std::string xml = suiteJunitXml(index, runs);
  EXPECT_NE(xml.find("<testsuite name=\"three-services@bookworm\""), std::string::npos) << xml;
  const auto flaky = xml.find("type=\"flaky\"");
  ASSERT_NE(flaky, std::string::npos) << xml;
  // The first_killed testcase says which runs passed and which did not.
  EXPECT_NE(xml.find("flaky: pass in runs 1, 3; " + first->outcomes[1] + " in run 2"), std::string::npos) << xml;
  const std::string summary = suiteSummary(index);
  EXPECT_NE(summary.find("first_killed: pass in runs 1, 3"), std::string::npos) << summary;
  EXPECT_NE(summary.find("runs: pass,fail,pass"), std::string::npos) << summary;
}

TEST(SuiteAgreement, NotesAreNeverFlaky) {
  Verdict a, b;
  a.verdict = b.verdict = VerdictKind::pass;
  a.checks = {CheckResult{"note.unexpected_kill", "", CheckOutcome::note, "", "", {}, ""}};
  const auto group = agreeAcrossRepeats("s", "bookworm", {finished(a, 1), finished(b, 2)});
  ASSERT_EQ(group.checks.size(), 1u);
  EXPECT_EQ(group.checks[0].status, "note");
  EXPECT_EQ(group.verdict, "pass");

  // An observer gap made `observation` a note in one of four passing runs (half-alive-continue
  // on trixie, 2026-12-06): nothing gated differently, so the repeats agree.
  Verdict gap, clean;
  gap.verdict = clean.verdict = VerdictKind::pass;
  gap.checks = {CheckResult{"observation", "", CheckOutcome::note, "", "", {}, ""}};
  clean.checks = {CheckResult{"observation", "", CheckOutcome::pass, "", "", {}, ""}};
  const auto runs = agreeAcrossRepeats("s", "trixie", {finished(gap, 1), finished(clean, 2), finished(clean, 3)});
  ASSERT_EQ(runs.checks.size(), 1u);
  EXPECT_EQ(runs.checks[0].status, "pass");
  EXPECT_EQ(runs.verdict, "pass");
  // A note beside a pass and a fail is still flaky: the pass and the fail disagree.
  Verdict failed = clean;
  failed.checks[0].outcome = CheckOutcome::fail;
  const auto mixed = agreeAcrossRepeats("s", "trixie", {finished(gap, 1), finished(clean, 2), finished(failed, 3)});
  EXPECT_EQ(mixed.checks[0].status, "flaky");
  // And a check missing from a run disagrees with a pass, a note beside them or not.
  Verdict missing;
  missing.verdict = VerdictKind::pass;
  const auto gone = agreeAcrossRepeats("s", "trixie", {finished(gap, 1), finished(clean, 2), finished(missing, 3)});
  EXPECT_EQ(gone.checks[0].status, "flaky");
}

TEST(SuiteOutcome, ExitStatusesFollowTheWorstCell) {
  SuiteIndex index;
  auto group = [](const std::string& verdict) {
    SuiteGroup g;
    g.verdict = verdict;
    return g;
  };
  index.cells = {cell("a", "bookworm", 1, "pass"), cell("b", "bookworm", 1, "pass")};
  index.groups = {group("pass"), group("pass")};
  EXPECT_EQ(suiteOutcome(index, false).exit_status, 0);
  index.groups[1] = group("inconclusive");
  EXPECT_EQ(suiteOutcome(index, false).exit_status, 3);
  index.groups[0] = group("fail");
  EXPECT_EQ(suiteOutcome(index, false).exit_status, 1) << "fail outranks inconclusive";
  EXPECT_EQ(suiteOutcome(index, true).exit_status, 130);
  index.groups = {group("pass"), group("")};
  index.cells[1].status = CellStatus::not_run;
  const auto unfinished = suiteOutcome(index, false);
  EXPECT_EQ(unfinished.exit_status, 3) << "a cell that never ran did not pass";
  EXPECT_NE(unfinished.reason.find("1 cell(s) did not finish"), std::string::npos) << unfinished.reason;
  EXPECT_EQ(suiteOutcome(SuiteIndex{}, false).exit_status, 0) << "an empty shard has nothing to fail";
}

TEST(SuiteJunit, ACellThatNeverFinishedIsAnErrorNamingIt) {
  SuiteIndex index;
  index.cells = {cell("a", "trixie", 1, "")};
  index.cells[0].status = CellStatus::not_run;
  SuiteGroup g;
  g.scenario = "a";
  g.release = "trixie";
  index.groups = {g};
  const std::string xml = suiteJunitXml(index, {});
  EXPECT_NE(xml.find("type=\"not_finished\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("a-trixie-r1: never ran (not_run)"), std::string::npos) << xml;
  EXPECT_NE(xml.find("errors=\"1\""), std::string::npos) << xml;
}

TEST(SuiteJunit, GuestTextIsEscaped) {
  const Repeats r;
  Verdict v = r.bookworm;
  v.checks[0].outcome = CheckOutcome::fail;
  v.checks[0].observed = "<script>\x01 & \"x\"";
  SuiteIndex index;
  index.cells = {cell("a<b", "bookworm", 1, "fail")};
  index.groups = {agreeAcrossRepeats("a<b", "bookworm", {finished(v, 1)})};
  const std::string xml = suiteJunitXml(index, {{index.cells[0].folder, finished(v, 1)}});
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  EXPECT_EQ(xml.find("a<b"), std::string::npos);
  EXPECT_NE(xml.find("&lt;script&gt;\\x01 &amp; &quot;x&quot;"), std::string::npos) << xml;
}

TEST(SuiteAdmission, MemoryAndCpusOfTheRunningGuestsDecide) {
  const std::string meminfo = "MemTotal: 25165824 kB\nMemAvailable: 7340032 kB\n";  // 7 GiB available
  const GuestDemand guest{GiB, 0, 2};
  const std::uint64_t reserved = reservedBytes(guest);
  EXPECT_EQ(reserved, GiB + kQemuOverheadBytes + kHarnessOwnBytes + kHostMemoryMarginBytes);
  // Nothing running: always (the run's own host check decides, as for one run).
  EXPECT_TRUE(admitGuest({64 * GiB, 0, 64}, {}, meminfo, 2, false, {}).admit);
  const std::vector<RunningGuest> one{{"a", 1, guest, 0}};
  const auto cpus = admitGuest(guest, one, meminfo, 2, false, {});
  EXPECT_FALSE(cpus.admit);
  EXPECT_NE(cpus.waiting_for.find("--oversubscribe"), std::string::npos) << cpus.waiting_for;
  EXPECT_TRUE(admitGuest(guest, one, meminfo, 2, true, {}).admit);
  EXPECT_TRUE(admitGuest(guest, one, meminfo, 4, false, {}).admit);
  // 7 GiB: three running guests (2 GiB reserved each) that hold nothing yet leave too little for a fourth.
  const std::vector<RunningGuest> three{{"a", 1, guest, 0}, {"b", 2, guest, 0}, {"c", 3, guest, 0}};
  const auto memory = admitGuest(guest, three, meminfo, 64, false, {});
  EXPECT_FALSE(memory.admit);
  EXPECT_NE(memory.waiting_for.find("memory"), std::string::npos) << memory.waiting_for;
  // Once they hold what they reserved, MemAvailable already shows it.
  const std::vector<RunningGuest> held{{"a", 1, guest, reserved}, {"b", 2, guest, reserved}, {"c", 3, guest, reserved}};
  EXPECT_TRUE(admitGuest(guest, held, meminfo, 64, false, {}).admit);
  // Another run on the host counts too.
  EXPECT_FALSE(admitGuest(guest, held, meminfo, 64, false, {{"other", 9, 7 * GiB, 0}}).admit);
  EXPECT_EQ(defaultJobs(2, 2), 1);
  EXPECT_EQ(defaultJobs(16, 2), 8);
  EXPECT_EQ(defaultJobs(1, 4), 1);
}
