// report.html: guest text escaped, every kill marked and explained, the sections a
// reviewer reads, nothing loaded from outside, and a bounded size for a long run.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <regex>

#include "checks/timeline_index.hpp"
#include "recorded_run.hpp"
#include "report/html_report.hpp"
#include "checks/victim_choice.hpp"

using namespace oom;
using namespace oomtest;

namespace {

// The first offset where `s` is not UTF-8 or holds a C0/C1 control other than
// tab and newline; npos if none.
std::size_t firstBadByte(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char lead = b(i);
    std::size_t n = 1;
    char32_t c = lead;
    if (lead >= 0x80) {
      if (lead >= 0xc2 && lead <= 0xdf) n = 2, c = lead & 0x1f;
      else if (lead >= 0xe0 && lead <= 0xef) n = 3, c = lead & 0x0f;
      else if (lead >= 0xf0 && lead <= 0xf4) n = 4, c = lead & 0x07;
      else return i;
      if (i + n > s.size()) return i;
      for (std::size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xc0) != 0x80) return i;
        c = (c << 6) | (b(i + k) & 0x3f);
      }
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c <= 0x9f)) return i;
    i += n;
  }
  return std::string::npos;
}

}  // namespace

TEST(HtmlText, EscapesMarkupQuotesControlsAndBytesThatAreNotUtf8) {
  EXPECT_EQ(htmlText("<script>alert('x')</script>"), "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;");
  EXPECT_EQ(htmlText("a\" onmouseover=\"x"), "a&quot; onmouseover=&quot;x");
  EXPECT_EQ(htmlText("R&D"), "R&amp;D");
  EXPECT_EQ(htmlText(std::string("nul\0esc\x1b[2J", 11)), "nul\\x00esc\\x1b[2J");
  EXPECT_EQ(htmlText("line\nfake"), "line\\nfake");
  EXPECT_EQ(htmlText("bad\xff\xfe"), "bad\\xff\\xfe");
  EXPECT_EQ(htmlText("csi \xc2\x9b" "31m"), "csi \\u{009b}31m");
  EXPECT_EQ(htmlText("non \xef\xbf\xbe"), "non \\u{fffe}");
  EXPECT_EQ(htmlText("ünïcode ✓"), "ünïcode ✓");
}

TEST(HtmlReport, HostileGuestAndScenarioTextIsEscapedEverywhere) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  ASSERT_FALSE(r.timeline.kills.empty());
  const std::string evil = "<script>alert(1)</script><img src=x onerror=alert(2)>\x1b[2J\xff\"'&";
  auto& k = r.timeline.kills[0];
  k.comm = evil;
  k.lines.push_back(evil);
  for (auto& l : k.lines)
    if (l.find("oomstress") != std::string::npos && l.rfind("[", 0) == 0) l += " " + evil;  // a task row's name
  r.timeline.guest.kernel = evil;
  r.timeline.guest.os_release = evil;
  r.timeline.gaps.push_back(ObserverGap{r.verdict.pressure_t + 3, 2.0, evil});
  r.timeline.losses.push_back(Loss{r.verdict.pressure_t + 4, evil, evil, 2, evil});
  r.timeline.phases.push_back(Phase{r.verdict.pressure_t + 5, "settled", evil});
  for (auto& s : r.timeline.states) s.SubState = evil;
  for (auto& s : r.timeline.setup) s.applied["OOMPolicy"] = evil;
  r.verdict.reason = evil;
  ASSERT_FALSE(r.verdict.checks.empty());
  r.verdict.checks[0].observed = evil;
  r.verdict.checks[0].why = evil;
  r.verdict.checks[0].evidence.push_back(Evidence{12.5, evil, evil, "", 0, evil});
  r.plan.units[0].systemd_run = evil;
  r.vm.earlier_boot_failure = evil;
  const std::string html = htmlReport(r);

  EXPECT_FALSE(has(html, "<script")) << "no script, injected or ours";
  EXPECT_FALSE(has(html, "<img")) << "no element the guest named";
  EXPECT_FALSE(has(html, "alert(2)>")) << "no tag the guest closed";
  const std::size_t bad = firstBadByte(html);
  EXPECT_EQ(bad, std::string::npos) << html.substr(bad == std::string::npos ? 0 : bad, 60);
  EXPECT_TRUE(has(html, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;\\x1b[2J\\xff&quot;&apos;&amp;"));
  // Every place it went in shows it escaped.
  EXPECT_GE(occurrences(html, "&lt;script&gt;alert(1)"), 10u);
}

TEST(HtmlReport, EveryKillHasAMarkerAndAnExplanationOnEveryRecording) {
  for (const auto& rec : killRecordings()) {
    SCOPED_TRACE(rec.fixture);
    const RunReport r = recordedRun(rec.scenario, rec.fixture);
    const TimelineIndex index(r.timeline);
    const std::string html = htmlReport(r);
    ASSERT_FALSE(r.timeline.kills.empty());
    EXPECT_EQ(occurrences(html, "class=\"kill-marker"), r.timeline.kills.size());
    for (const auto& k : r.timeline.kills)
      EXPECT_TRUE(has(html, "data-pid=\"" + std::to_string(k.pid) + "\"")) << k.pid;
    for (std::size_t e = 1; e <= index.events().size(); ++e)
      EXPECT_TRUE(has(html, "id=\"kill-event-" + std::to_string(e) + "\"")) << e;
    EXPECT_EQ(occurrences(html, "<strong>Why this victim:</strong>"), index.events().size());
    EXPECT_TRUE(has(html, "<svg id=\"timeline-chart\""));
    EXPECT_TRUE(has(html, "class=\"unit-line\""));
    EXPECT_TRUE(has(html, "class=\"time-limit-marker\""));
    EXPECT_EQ(occurrences(html, "<tr class=\"check "), r.verdict.checks.size());
  }
}

TEST(HtmlReport, ShowsTheVictimsRankingTheScenarioAndTheGuest) {
  const RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  const std::string html = htmlReport(r);
  EXPECT_TRUE(has(html, "<tr class=\"victim\"><td class=\"num\">1</td><td class=\"num\">207</td>")) << html;
  EXPECT_TRUE(has(html, "report-worker had the highest score"));
  EXPECT_TRUE(has(html, "retryable queue worker"));                        // the service's why
  EXPECT_TRUE(has(html, "systemd-run --unit=report-worker.service"));     // the reproducing line
  EXPECT_TRUE(has(html, "<td>OOMScoreAdjust</td><td>600</td><td>600</td>"));  // requested and applied
  EXPECT_TRUE(has(html, "6.1.0-"));                                        // the guest's kernel
  EXPECT_TRUE(has(html, "class=\"restart-marker\""));
  EXPECT_TRUE(has(html, "systemd: invocation 01ee15f6 Result=oom-kill, restarted"));
}

TEST(HtmlReport, MemoryMaxIsDrawnForTheUnitThatSetsIt) {
  const std::string html = htmlReport(recordedRun("memorymax-contained.json", "recorded-memorymax-contained-trixie.jsonl"));
  EXPECT_EQ(occurrences(html, "class=\"limit-line\""), 1u);
  EXPECT_TRUE(has(html, "data-unit=\"cache-loader.service\" data-directive=\"MemoryMax\""));
  EXPECT_TRUE(has(html, ">cache-loader MemoryMax=256MiB</text>"));
}

TEST(HtmlReport, LoadsNothingFromOutsideTheFile) {
  const std::string html = htmlReport(recordedRun("image-worker.json", "recorded-image-worker-trixie.jsonl"));
  EXPECT_TRUE(has(html, "Content-Security-Policy\" content=\"default-src 'none'"));
  for (const char* outside : {"src=\"http", "href=\"http", "@import", "url(http", "<link ", "<script"})
    EXPECT_FALSE(has(html, outside)) << outside;
  // Every href is a fragment of this page.
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator(); ++it)
    EXPECT_EQ((*it)[1].str().front(), '#') << (*it)[1].str();
}

// A 10-minute run of 20 units, 12 processes each, sampled every 0.5 s (what
// evaluate's 32 MiB cap allows), with 60 kills of 250-row task dumps, a restart
// loop and gaps: the page stays small enough to open and read.
TEST(HtmlReport, SizeStaysBoundedForATenMinuteRunOfTwentyUnits) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  Timeline& tl = r.timeline;
  const double start = tl.samples.front().t;
  std::vector<std::string> units;
  for (int u = 0; u < 20; ++u) units.push_back("unit-" + std::to_string(u) + ".service");
  for (double t = start; t < start + 600; t += 0.5) {
    for (int u = 0; u < 20; ++u) {
      MemorySample s;
      s.t = t;
      s.unit = units[u];
      s.memory_current = static_cast<std::uint64_t>((20 + u * 2 + std::fmod(t, 60)) * 1024 * 1024);
      for (int p = 0; p < 12; ++p)
        s.processes.push_back(ProcessSample{1000 + u * 12 + p, "oomstress", 300 + p, u * 10, 4u << 20, ""});
      tl.samples.push_back(std::move(s));
    }
    tl.guest_samples.push_back(GuestSample{t, 200u << 20, 0, 0, std::fmod(t, 30), std::fmod(t, 7), {}});
  }
  std::vector<std::string> dump = {"x invoked oom-killer: gfp_mask=0x0, order=0, oom_score_adj=0",
                                   "oom-kill:constraint=CONSTRAINT_NONE,global_oom,task_memcg=/system.slice/unit-3.service,pid=1036",
                                   "Tasks state (memory values in pages):"};
  for (int p = 0; p < 250; ++p)
    dump.push_back("[ " + std::to_string(1000 + p) + "]     0 " + std::to_string(1000 + p) +
                   "   132785   " + std::to_string(1000 + p * 7) + "  1101824        0  " + std::to_string(p % 40) +
                   " oomstress");
  for (int k = 0; k < 60; ++k) {
    KernelOomKill kill;
    kill.t = start + 10 + k * 9.5;
    kill.pid = 1000 + (k * 13) % 240;
    kill.comm = "oomstress";
    kill.unit = units[static_cast<std::size_t>((kill.pid - 1000) / 12)];
    kill.task_memcg = "/system.slice/" + kill.unit;
    kill.constraint = "CONSTRAINT_NONE";
    kill.lines = dump;
    kill.lines.push_back("Out of memory: Killed process " + std::to_string(kill.pid) + " (oomstress)");
    tl.kills.push_back(kill);
    for (int s = 0; s < 4; ++s)
      tl.states.push_back(UnitStateChange{kill.t + s, kill.unit, "inv" + std::to_string(k), s % 2 ? "active" : "activating",
                                          "running", "", static_cast<std::uint32_t>(k), kill.pid, 0, 0, {}});
  }
  for (int g = 0; g < 50; ++g) tl.gaps.push_back(ObserverGap{start + g * 12, 1.5, "sampler late"});
  r.verdict = evaluate(r.scenario, tl);

  const auto began = std::chrono::steady_clock::now();
  const std::string html = htmlReport(r);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const std::string svg = timelineChartSvg(r);
  std::printf("[size] 10 min x 20 units: report.html %zu bytes (chart %zu), built in %.2f s\n", html.size(), svg.size(),
              took);
  // To look at it: OOM_REPORT_SAMPLE_DIR=/tmp build/tests/report/report_tests --gtest_filter='*Bounded*'
  if (const char* dir = std::getenv("OOM_REPORT_SAMPLE_DIR")) {
    std::ofstream(std::string(dir) + "/ten-minutes-twenty-units.html") << html;
    EXPECT_TRUE(writeRunReports(std::string(dir) + "/ten-minutes-twenty-units", r).empty());  // a run folder
  }
  EXPECT_LT(svg.size(), 600u * 1024) << "the chart";
  EXPECT_LT(html.size(), 2u * 1024 * 1024) << "the page";
  EXPECT_EQ(occurrences(html, "class=\"kill-marker"), tl.kills.size());
  // A series keeps at most two points per column.
  const auto line_start = svg.find("data-unit=\"unit-7.service\" stroke=");
  ASSERT_NE(line_start, std::string::npos);
  const std::string d = svg.substr(line_start, svg.find("\"><title>", line_start) - line_start);
  EXPECT_LE(occurrences(d, ","), 2 * kChartColumns + 2);
}

// Numbers no real guest sends: times near 1e18 or infinite, task rows of 2^64
// pages, an oom_score_adj of 99999. The page is still written, small, and the
// kernel's arithmetic does not overflow (UBSan runs this in scripts/ci-sanitize).
TEST(HtmlReport, HostileNumbersNeitherHangNorOverflow) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  Timeline& tl = r.timeline;
  ASSERT_FALSE(tl.kills.empty());
  tl.samples[0].t = 1e18;
  tl.samples[1].t = std::numeric_limits<double>::infinity();
  tl.samples[2].memory_current = std::numeric_limits<std::uint64_t>::max();
  tl.guest.mem_total_bytes = std::numeric_limits<std::uint64_t>::max();
  tl.guest_samples.push_back(GuestSample{1e300, 0, 0, 0, 1e308, -5, {}});
  tl.gaps.push_back(ObserverGap{5, 1e308, "sampler late"});
  KernelOomKill& k = tl.kills[0];
  k.lines.push_back("[    999]     0   999 18446744073709551615 18446744073709551615 18446744073709551615 "
                    "18446744073709551615 99999 huge");
  k.lines.push_back("memory: usage 1kB, limit 18446744073709551615kB, failcnt 0");
  k.constraint = "CONSTRAINT_MEMCG";
  r.verdict.pressure_t = -1e300;
  const std::string html = htmlReport(r);
  EXPECT_LT(html.size(), 1024u * 1024);
  EXPECT_TRUE(has(html, "data-pid=\"207\""));
  const TimelineIndex index(tl);
  const VictimChoice c = explainVictim(index, index.events()[0]);
  for (const auto& cand : c.candidates) {
    EXPECT_LE(cand.oom_score_adj, 1000);
    EXPECT_LE(cand.oom_score, 2000);
  }
}

// A run whose guest never started (the host could not set it up): no record at all.
TEST(HtmlReport, ARunWithoutAnyRecordStillReads) {
  RunReport r = recordedRun("three-services.json", "recorded-three-services-bookworm.jsonl");
  r.timeline = Timeline{};
  r.verdict = evaluate(r.scenario, r.timeline);
  r.verdict.reason = "the guest could not be set up: no KVM and no TCG";
  const std::string html = htmlReport(r);
  EXPECT_TRUE(has(html, "<svg id=\"timeline-chart\""));
  EXPECT_TRUE(has(html, "No kernel OOM kill."));
  EXPECT_TRUE(has(html, "the guest could not be set up"));
  EXPECT_TRUE(has(html, "not reported"));  // settings requested, none applied
}

TEST(HtmlReport, SettingsThatWereNotAppliedAreShown) {
  const std::string html = htmlReport(recordedRun("three-services.json", "synthetic-setup-mismatch.jsonl"));
  EXPECT_TRUE(has(html, "<p class=\"warn\">not applied: ")) << html.substr(0, 200);
}
