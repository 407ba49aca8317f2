// What the runner sends to systemd (StartTransientUnit) and how it checks what
// systemd and the kernel applied, without a system bus.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <limits>

#include "guest/transient_unit.hpp"
#include "live/bus.hpp"
#include "guest/setup_check.hpp"
#include "guest/unit_state.hpp"

namespace oom {
namespace {

PlannedUnit workerUnit() {
  PlannedUnit u;
  u.service = "image-worker";
  u.unit = "image-worker.service";
  u.why = "batch work may be lost";
  u.exec_start = {"/opt/oomharness/bin/oomstress", "--target", "100M", "--processes", "2", "--leak", "--rate", "8M/s"};
  u.processes = 2;
  u.properties = {{"Type", "notify"},        {"OOMScoreAdjust", "500"}, {"OOMPolicy", "kill"},
                  {"Restart", "on-failure"}, {"RestartSec", "2s"},      {"MemoryMax", "256M"},
                  {"MemorySwapMax", "infinity"}, {"StartLimitBurst", "3"}};
  return u;
}

const DbusProperty* find(const TransientUnitSpec& spec, const std::string& name) {
  for (const auto& p : spec.properties)
    if (p.name == name) return &p;
  return nullptr;
}

TEST(TransientUnitSpec, ConvertsDirectivesToDbusProperties) {
  auto spec = transientUnitSpec(workerUnit());
  ASSERT_TRUE(spec) << spec.error().str();
  EXPECT_EQ(spec->name, "image-worker.service");
  ASSERT_TRUE(find(*spec, "RestartUSec"));
  EXPECT_EQ(find(*spec, "RestartUSec")->signature, 't');
  EXPECT_EQ(find(*spec, "RestartUSec")->value, DbusValue{std::uint64_t{2000000}});
  EXPECT_EQ(find(*spec, "OOMScoreAdjust")->signature, 'i');
  EXPECT_EQ(find(*spec, "OOMScoreAdjust")->value, DbusValue{std::int32_t{500}});
  EXPECT_EQ(find(*spec, "OOMPolicy")->value, DbusValue{std::string("kill")});
  EXPECT_EQ(find(*spec, "MemoryMax")->value, DbusValue{std::uint64_t{256} * 1024 * 1024});
  EXPECT_EQ(find(*spec, "MemorySwapMax")->value, DbusValue{std::numeric_limits<std::uint64_t>::max()});
  EXPECT_EQ(find(*spec, "StartLimitBurst")->signature, 'u');
  EXPECT_FALSE(find(*spec, "RestartSec"));  // the D-Bus name, never the directive's
  // Description says why the unit is configured so.
  ASSERT_TRUE(find(*spec, "Description"));
  EXPECT_NE(std::get<std::string>(find(*spec, "Description")->value).find("batch work may be lost"),
            std::string::npos);
  EXPECT_EQ(spec->exec.path, "/opt/oomharness/bin/oomstress");
  EXPECT_EQ(spec->exec.argv, workerUnit().exec_start);
  EXPECT_FALSE(spec->exec.ignore_failure);
}

TEST(TransientUnitSpec, RejectsWhatSystemdWouldReject) {
  PlannedUnit u = workerUnit();
  u.properties.push_back({"OOMPolicy", "explode"});
  auto spec = transientUnitSpec(u);
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().str().find("OOMPolicy"), std::string::npos);
  u = workerUnit();
  u.exec_start.clear();
  EXPECT_FALSE(transientUnitSpec(u));
}

// A bus that never reaches a daemon: enough to build and seal messages.
class OfflineBus {
 public:
  OfflineBus() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds_), 0);
    EXPECT_GE(sd_bus_new(&bus_), 0);
    EXPECT_GE(sd_bus_set_fd(bus_, fds_[0], fds_[0]), 0);
    EXPECT_GE(sd_bus_start(bus_), 0);
  }
  ~OfflineBus() {
    sd_bus_close(bus_);
    sd_bus_unref(bus_);
    ::close(fds_[1]);
  }
  sd_bus* get() { return bus_; }

 private:
  sd_bus* bus_ = nullptr;
  int fds_[2] = {-1, -1};
};

TEST(StartTransientUnitMessage, IsWhatSystemdRunSends) {
  auto spec = transientUnitSpec(workerUnit());
  ASSERT_TRUE(spec);
  OfflineBus bus;
  sd_bus_message* m = nullptr;
  ASSERT_GE(sd_bus_message_new_method_call(bus.get(), &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit"),
            0);
  ASSERT_GE(appendStartTransientUnit(m, *spec), 0);
  ASSERT_GE(sd_bus_message_seal(m, 1, 0), 0);
  ASSERT_GE(sd_bus_message_rewind(m, 1), 0);
  EXPECT_STREQ(sd_bus_message_get_signature(m, 1), "ssa(sv)a(sa(sv))");

  const char *name = nullptr, *mode = nullptr;
  ASSERT_GE(sd_bus_message_read(m, "ss", &name, &mode), 0);
  EXPECT_STREQ(name, "image-worker.service");
  EXPECT_STREQ(mode, "fail");
  std::map<std::string, DbusValue> props;
  std::vector<std::string> exec_argv;
  const char* exec_path = nullptr;
  int ignore = -1;
  ASSERT_GE(sd_bus_message_enter_container(m, 'a', "(sv)"), 0);
  while (sd_bus_message_enter_container(m, 'r', "sv") > 0) {
    const char* key = nullptr;
    ASSERT_GE(sd_bus_message_read_basic(m, 's', &key), 0);
    if (std::string(key) == "ExecStart") {
      ASSERT_GE(sd_bus_message_enter_container(m, 'v', "a(sasb)"), 0);
      ASSERT_GE(sd_bus_message_enter_container(m, 'a', "(sasb)"), 0);
      ASSERT_GE(sd_bus_message_enter_container(m, 'r', "sasb"), 0);
      ASSERT_GE(sd_bus_message_read_basic(m, 's', &exec_path), 0);
      ASSERT_GE(sd_bus_message_enter_container(m, 'a', "s"), 0);
      const char* arg = nullptr;
      while (sd_bus_message_read_basic(m, 's', &arg) > 0) exec_argv.emplace_back(arg);
      sd_bus_message_exit_container(m);
      ASSERT_GE(sd_bus_message_read_basic(m, 'b', &ignore), 0);
      for (int i = 0; i < 3; ++i) sd_bus_message_exit_container(m);
    } else {
      auto v = readVariant(m);
      ASSERT_TRUE(v) << key;
      props[key] = *v;
    }
    sd_bus_message_exit_container(m);
  }
  sd_bus_message_exit_container(m);
  EXPECT_STREQ(exec_path, "/opt/oomharness/bin/oomstress");
  EXPECT_EQ(exec_argv, workerUnit().exec_start);
  EXPECT_EQ(ignore, 0);
  EXPECT_EQ(props.at("RestartUSec"), DbusValue{std::uint64_t{2000000}});
  EXPECT_EQ(props.at("OOMScoreAdjust"), DbusValue{std::int32_t{500}});
  EXPECT_EQ(props.at("Type"), DbusValue{std::string("notify")});
  EXPECT_EQ(props.at("StartLimitBurst"), DbusValue{std::uint32_t{3}});
  EXPECT_EQ(props.count("Description"), 1u);
  EXPECT_EQ(props.size(), spec->properties.size());
  sd_bus_message_unref(m);
}

TEST(UnitObjectPath, EscapesLikeSystemd) {
  EXPECT_EQ(unitObjectPath("image-worker.service"), "/org/freedesktop/systemd1/unit/image_2dworker_2eservice");
  EXPECT_EQ(unitObjectPath("api.service"), "/org/freedesktop/systemd1/unit/api_2eservice");
}

TEST(SettingCheck, EqualValuesAreNoMismatch) {
  const UnitProperty asked{"RestartSec", "2s"};
  const DbusProperty wanted{"RestartUSec", 't', std::uint64_t{2000000}};
  EXPECT_FALSE(settingMismatch(asked, wanted, DbusValue{std::uint64_t{2000000}}));
}

TEST(SettingCheck, MismatchSentenceNamesBothVocabularies) {
  const UnitProperty asked{"OOMPolicy", "kill"};
  const DbusProperty wanted{"OOMPolicy", 's', std::string("kill")};
  auto m = settingMismatch(asked, wanted, DbusValue{std::string("stop")});
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "OOMPolicy=kill asked (OOMPolicy=kill), systemd reports OOMPolicy=stop");
  auto missing = settingMismatch({"MemoryMax", "256M"}, {"MemoryMax", 't', std::uint64_t{268435456}}, std::nullopt);
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, "MemoryMax=256M asked (MemoryMax=268435456), systemd reports MemoryMax=(not reported)");
  // Same number, wrong D-Bus type, is still a mismatch.
  EXPECT_TRUE(settingMismatch({"OOMScoreAdjust", "5"}, {"OOMScoreAdjust", 'i', std::int32_t{5}},
                              DbusValue{std::uint32_t{5}}));
}

TEST(SettingCheck, EveryProcessMustCarryTheAdjustment) {
  const std::vector<ProcessSetting> procs = {{330, "oomstress", 500}, {331, "oomstress", 0}};
  auto m = processMismatches(procs, 500, 2, "/system.slice/image-worker.service");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], "pid 331 (oomstress) has oom_score_adj 0, expected 500");
  EXPECT_TRUE(processMismatches({{330, "oomstress", 500}, {331, "oomstress", 500}}, 500, 2, "cg").empty());
}

TEST(SettingCheck, MissingChildrenAreAMismatch) {
  auto m = processMismatches({{330, "oomstress", 500}}, 500, 4, "/system.slice/image-worker.service");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], "4 process(es) expected in /system.slice/image-worker.service, found 1");
}

TEST(SettingCheck, ExpectationsFromThePlan) {
  EXPECT_EQ(expectedOomScoreAdjust(workerUnit()), 500);
  PlannedUnit plain;
  plain.exec_start = {"/bin/oomstress", "--target", "10M"};
  EXPECT_EQ(expectedOomScoreAdjust(plain), 0);
}

TEST(SettingCheck, TheProcessCountTravelsInThePlan) {
  // The guest reads the count from the plan, not from the stressor's argv.
  const auto round_trip = nlohmann::json(workerUnit()).get<PlannedUnit>();
  EXPECT_EQ(round_trip.processes, 2u);
  // A plan.json written before the field existed still reads: one process.
  auto old = nlohmann::json(workerUnit());
  old.erase("processes");
  EXPECT_EQ(old.get<PlannedUnit>().processes, 1u);
}

TEST(UnitState, AppliesSignalValuesAndDetectsChange) {
  UnitStateChange s;
  EXPECT_TRUE(applyUnitProperty(s, "ActiveState", std::string("failed")));
  EXPECT_TRUE(applyUnitProperty(s, "Result", std::string("oom-kill")));
  EXPECT_TRUE(applyUnitProperty(s, "NRestarts", std::uint32_t{2}));
  EXPECT_TRUE(applyUnitProperty(s, "MainPID", std::uint32_t{0}));
  EXPECT_TRUE(applyUnitProperty(s, "ExecMainCode", std::int32_t{2}));
  EXPECT_TRUE(applyUnitProperty(s, "ExecMainStatus", std::int32_t{9}));
  EXPECT_TRUE(applyUnitProperty(s, "InvocationID", std::string("9cb5885e0ca338e544fb949cf9083569")));
  EXPECT_FALSE(applyUnitProperty(s, "MemoryCurrent", std::uint64_t{1}));
  EXPECT_EQ(s.ActiveState, "failed");
  EXPECT_EQ(s.Result, "oom-kill");
  EXPECT_EQ(s.NRestarts, 2u);
  EXPECT_EQ(s.ExecMainCode, 2);
  EXPECT_EQ(s.ExecMainStatus, 9);
  UnitStateChange t = s;
  t.t = 99;
  t.pids = {1, 2};
  EXPECT_TRUE(sameUnitState(s, t));  // time and pids are not state
  t.SubState = "auto-restart";
  EXPECT_FALSE(sameUnitState(s, t));
}

TEST(UnitState, InvocationIdBytesAsHex) {
  const unsigned char id[16] = {0x9c, 0xb5, 0x88, 0x5e, 0x0c, 0xa3, 0x38, 0xe5,
                                0x44, 0xfb, 0x94, 0x9c, 0xf9, 0x08, 0x35, 0x69};
  EXPECT_EQ(hexBytes(id, sizeof id), "9cb5885e0ca338e544fb949cf9083569");
  EXPECT_EQ(hexBytes(id, 0), "");
}

// burst-many-small on bookworm, 2026-11-29: the shards leak from READY=1 on and
// the kernel had killed some before the check looked (once all of them, and the
// unit was gone). Processes the kernel killed count, with their kill lines' adj.
TEST(UnitSetup, ProcessesTheKernelKilledBeforeTheCheckCountWithTheirKillLinesAdjustment) {
  const std::string cg = "/system.slice/shards.service";
  EXPECT_TRUE(processMismatches({{330, "oomstress", 200}}, 200, 4, cg, {200, 200, 200}).empty());
  EXPECT_TRUE(processMismatches({}, 200, 4, cg, {200, 200, 200, 200}).empty());
  const auto short_by_one = processMismatches({}, 200, 4, cg, {200, 200, 200});
  ASSERT_EQ(short_by_one.size(), 1u);
  EXPECT_NE(short_by_one[0].find("found 0 and 3 already OOM-killed"), std::string::npos) << short_by_one[0];
  // burst-many-small on bookworm, 2026-12-06: seven killed, the main process among them,
  // the unit failed and systemd stopped the other 17: nothing left to count, nothing wrong.
  EXPECT_EQ(processesToCount(24, 7, "failed"), 0u);
  EXPECT_EQ(processesToCount(24, 7, "deactivating"), 0u);
  EXPECT_EQ(processesToCount(24, 7, "activating"), 0u) << "a restart under way: another invocation's processes";
  EXPECT_TRUE(processMismatches({}, 200, processesToCount(24, 7, "failed"), cg, {200, 200, 200, 200, 200, 200, 200})
                  .empty());
  // Still running, or nothing killed yet: every process must be there.
  EXPECT_EQ(processesToCount(24, 7, "active"), 24u);
  EXPECT_EQ(processesToCount(24, 0, "failed"), 24u) << "a unit that died without an OOM kill is counted short";
  EXPECT_EQ(processesToCount(24, 3, ""), 24u) << "no ActiveState read back: unknown, so all are asked for";
  // A killed process with the wrong adjustment is still one, counted or not.
  EXPECT_FALSE(processMismatches({}, 200, processesToCount(24, 1, "failed"), cg, {0}).empty());
  const auto wrong_adj = processMismatches({{330, "oomstress", 200}}, 200, 2, cg, {0});
  ASSERT_EQ(wrong_adj.size(), 1u);
  EXPECT_NE(wrong_adj[0].find("oom_score_adj 0 (its kill line), expected 200"), std::string::npos) << wrong_adj[0];
}

}  // namespace
}  // namespace oom

// What the kernel enforces against what systemd reports: byte limits in whole pages,
// infinity as "max", memory.oom.group 1 exactly for OOMPolicy=kill.
TEST(CgroupMismatches, TheKernelsFilesAgainstSystemdsValues) {
  const std::map<std::string, std::string> applied = {
      {"MemoryHigh", "234881024"}, {"MemoryMax", "18446744073709551615"}, {"OOMPolicy", "kill"}, {"MemoryLow", "1000"}};
  EXPECT_TRUE(oom::cgroupMismatches(applied, {{"memory.high", "234881024"}, {"memory.max", "max"}, {"memory.oom.group", "1"},
                                         {"memory.low", "0"}})
                  .empty());  // 1000 bytes is no whole page: the kernel keeps 0
  const auto m = oom::cgroupMismatches(applied, {{"memory.high", "max"}, {"memory.max", "max"}, {"memory.oom.group", "0"}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].text, "MemoryHigh=234881024 as systemd reports it, but the kernel's memory.high reads max (expected "
                       "234881024)");
  EXPECT_EQ(m[1].file, "memory.oom.group");
  EXPECT_EQ(m[1].expected, "1");
  // Nothing to compare: a file not read, or a property systemd did not report.
  EXPECT_TRUE(oom::cgroupMismatches({}, {{"memory.high", "max"}}).empty());
  EXPECT_TRUE(oom::cgroupMismatches(applied, {}).empty());
}
