// `capture` on a real guest (label vm): two transient units started with known
// OOM settings and baselines, a runtime drop-in on one, a third unit OOM-killed at
// its MemoryMax, then `oomharness-guest capture` in the guest; the host compares
// what was captured with what was set. Then the captured scenario is run as written
// in a second guest. (Pressure only inside the guests.)
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "command.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string output;
};

Run sh(const std::string& command) {
  const auto r = oomtest::runCommand(command);
  return Run{r.status, r.output};
}

std::string between(const std::string& text, const std::string& begin, const std::string& end) {
  const auto b = text.find(begin);
  if (b == std::string::npos) return "";
  const auto e = text.find(end, b + begin.size());
  return e == std::string::npos ? "" : text.substr(b + begin.size(), e - b - begin.size());
}

std::string readAll(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What the guest script sets: the runner's way (systemd-run -p, oomstress as the load).
constexpr const char* kGuestScript = R"sh(B=/opt/oomharness/bin
systemd-run --unit=capt-victim -p OOMScoreAdjust=700 -p OOMPolicy=kill -p Restart=on-failure -p RestartSec=3s \
  -p MemoryMax=300M $B/oomstress --target 64M --report-interval 5s
systemd-run --unit=capt-guarded -p OOMScoreAdjust=-500 -p OOMPolicy=continue -p MemoryHigh=200M -p MemoryMax=250M \
  $B/oomstress --target 32M --processes 2 --report-interval 5s
# Both hold their baseline before the capture (TCG fills at 10-20 MiB/s).
for i in $(seq 1 120); do
  a=$(systemctl show -P MemoryCurrent capt-victim.service); b=$(systemctl show -P MemoryCurrent capt-guarded.service)
  [ "$a" -ge 67108864 ] 2>/dev/null && [ "$b" -ge 33554432 ] 2>/dev/null && break
  sleep 0.5
done
echo "held: $a $b"
# A drop-in made the way an operator would, live: it must show in the settings and in DropInPaths.
systemctl set-property --runtime capt-victim.service MemoryHigh=280M
# A MemoryMax kill inside the guest, for the kernel log and the journal to report.
systemd-run --unit=capt-oom -p MemoryMax=24M $B/oomstress --target 64M --report-interval 5s
for i in $(seq 1 120); do
  journalctl -q -o cat MESSAGE_ID=fe6faa94e7774663a0da52717891d8ef | grep -q capt-oom && break
  sleep 0.5
done
echo "capt-oom: $(systemctl show -P Result capt-oom.service)"
$B/oomharness-guest capture --json > "$OOMHARNESS_RESULTS" || echo "capture --json failed: $?"
$B/oomharness-guest capture --scenario /tmp/captured.json --units /tmp/units || echo "capture --scenario failed: $?"
$B/oomharness-guest capture --top 8 || echo "capture table failed: $?"
echo ---scenario---; cat /tmp/captured.json; echo ---end---
echo ---unit---; cat /tmp/units/capt-victim.service; echo ---end---
echo ---dropin---; cat /tmp/units/capt-victim.service.d/50-MemoryHigh.conf; echo ---end---
)sh";

}  // namespace

TEST(CaptureVm, CapturedValuesAreWhatWasSetAndTheSkeletonRunsAsPredicted) {
  const fs::path dir = fs::temp_directory_path() / ("oomharness-capture-vm-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "payload");
  std::ofstream(dir / "payload" / "capture.sh") << kGuestScript;
  const auto started = std::chrono::steady_clock::now();
  const auto run = sh(std::string(OOMHARNESS_BIN) + " vm run --memory 768M --timeout 300s --keep-dir " +
                      (dir / "run").string() + " --payload " + (dir / "payload").string() + " -- sh capture.sh");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("capture VM test: vm run took %.1f s\n", took);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output.find("failed:"), std::string::npos) << run.output;

  // The capture, as JSON through the results channel.
  std::string line = readAll(dir / "run" / "results.jsonl");
  line = line.substr(0, line.find('\n'));
  const auto capture = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(capture.is_discarded()) << line << "\n" << run.output;
  EXPECT_EQ(capture["format"], "oomharness-capture/1");
  auto service = [&](const std::string& unit) {
    for (const auto& s : capture["services"])
      if (s["unit"] == unit) return s;
    return nlohmann::json();
  };
  auto settings = [](const nlohmann::json& s) {
    std::map<std::string, std::string> out;
    for (const auto& p : s["settings"]) out[p["name"]] = p["value"];
    return out;
  };
  const auto victim = service("capt-victim.service"), guarded = service("capt-guarded.service");
  ASSERT_FALSE(victim.is_null()) << capture.dump(1);
  ASSERT_FALSE(guarded.is_null()) << capture.dump(1);
  EXPECT_EQ(settings(victim), (std::map<std::string, std::string>{{"OOMScoreAdjust", "700"},
                                                                  {"OOMPolicy", "kill"},
                                                                  {"Restart", "on-failure"},
                                                                  {"RestartSec", "3s"},
                                                                  {"StartLimitBurst", "5"},
                                                                  {"StartLimitIntervalSec", "10s"},
                                                                  {"MemoryHigh", "280M"},
                                                                  {"MemoryMax", "300M"}}));
  EXPECT_EQ(settings(guarded), (std::map<std::string, std::string>{{"OOMScoreAdjust", "-500"},
                                                                   {"OOMPolicy", "continue"},
                                                                   {"Restart", "no"},
                                                                   {"MemoryHigh", "200M"},
                                                                   {"MemoryMax", "250M"}}));
  EXPECT_GE(victim["memory_current"].get<std::uint64_t>(), 64u << 20);
  EXPECT_GE(guarded["memory_current"].get<std::uint64_t>(), 32u << 20);
  EXPECT_EQ(victim["processes"], 1);
  EXPECT_EQ(guarded["processes"], 2);
  EXPECT_EQ(victim["fragment_path"], "/run/systemd/transient/capt-victim.service");
  EXPECT_EQ(victim["drop_in_paths"],
            nlohmann::json::array({"/run/systemd/transient/capt-victim.service.d/50-MemoryHigh.conf"}));  // transient: not system.control
  EXPECT_TRUE(service("capt-oom.service").is_null()) << "a failed unit is not running: listed only with --all";

  // The victim order: the +700 unit's process first; every capt-guarded process after it.
  ASSERT_FALSE(capture["victims"].empty());
  EXPECT_EQ(capture["victims"][0]["unit"], "capt-victim.service") << capture["victims"].dump(1);
  EXPECT_EQ(capture["victims"][0]["oom_score_adj"], 700);
  int guarded_seen = 0;
  for (const auto& p : capture["victims"])
    if (p["unit"] == "capt-guarded.service") {
      ++guarded_seen;
      EXPECT_EQ(p["oom_score_adj"], -500);
      EXPECT_LT(p["oom_score"].get<int>(), capture["victims"][0]["oom_score"].get<int>());
    }
  EXPECT_EQ(guarded_seen, 2);
  // The MemoryMax kill, from both sides: the kernel's report and systemd's journal entry.
  bool kernel_kill = false, journal_kill = false;
  for (const auto& k : capture["kills"]) {
    if (k["unit"] != "capt-oom.service") continue;
    if (k["source"] == "kernel") {
      kernel_kill = true;
      EXPECT_EQ(k["constraint"], "CONSTRAINT_MEMCG") << k.dump();
      EXPECT_EQ(k["comm"], "oomstress") << k.dump();
    }
    if (k["source"] == "journal") journal_kill = true;
  }
  EXPECT_TRUE(kernel_kill) << capture["kills"].dump(1);
  EXPECT_TRUE(journal_kill) << capture["kills"].dump(1);

  // The table shows the same, with the +700 unit ranked 1.
  EXPECT_TRUE(std::regex_search(run.output, std::regex(R"(\n +1 +\d+ oomstress +capt-victim\.service +\d+ +700 )")))
      << run.output;

  // The skeleton passes `oomharness check` as written and carries the settings.
  const std::string scenario = between(run.output, "---scenario---\n", "---end---");
  ASSERT_FALSE(scenario.empty()) << run.output;
  std::ofstream(dir / "captured.json") << scenario;
  const auto check = sh(std::string(OOMHARNESS_BIN) + " check " + (dir / "captured.json").string());
  EXPECT_EQ(check.status, 0) << check.output << scenario;
  const auto doc = nlohmann::json::parse(scenario, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << scenario;
  EXPECT_EQ(doc["expect"]["first_killed"], "capt-victim") << scenario;
  bool found = false;
  for (const auto& s : doc["services"])
    if (s["name"] == "capt-victim") {
      found = true;
      EXPECT_EQ(s["unit"]["OOMScoreAdjust"], 700);
      EXPECT_EQ(s["unit"]["MemoryMax"], "300M");
      EXPECT_EQ(s["load"]["baseline"].get<std::string>().back(), 'M');
    }
  EXPECT_TRUE(found) << scenario;
  EXPECT_EQ(doc["services"].size(), 3u) << scenario;  // the two running units (capt-oom failed), the pressure
  for (const auto& s : doc["services"]) EXPECT_NE(s["name"].get<std::string>().rfind("systemd-", 0), 0u) << scenario;

  // --units copied the file systemd named for the transient unit.
  EXPECT_NE(between(run.output, "---unit---\n", "---end---").find("OOMScoreAdjust=700"), std::string::npos)
      << run.output;
  EXPECT_NE(between(run.output, "---dropin---\n", "---end---").find("MemoryHigh=293601280"), std::string::npos)
      << run.output;

  // The skeleton runs as written, in a second guest: its added pressure service grows
  // until the kernel chooses, and the kernel chooses what capture predicted.
  const auto replay = sh(std::string(OOMHARNESS_BIN) + " run --quiet --results " + (dir / "results").string() + " " +
                         (dir / "captured.json").string());
  EXPECT_EQ(replay.status, 0) << replay.output;
  EXPECT_NE(replay.output.find("PASS first_killed: first victim: capt-victim.service"), std::string::npos)
      << replay.output;
  fs::remove_all(dir);
}
