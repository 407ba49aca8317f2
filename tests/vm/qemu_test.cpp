#include "vm/qemu.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "vm/payload.hpp"
#include "vm/saved_guest.hpp"

using namespace oom;

namespace {
bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
std::string after(const std::vector<std::string>& v, const std::string& flag) {
  auto it = std::find(v.begin(), v.end(), flag);
  return it != v.end() && it + 1 != v.end() ? *(it + 1) : "";
}
QemuConfig config() {
  QemuConfig c;
  c.kernel = "/cache/vmlinuz";
  c.rootfs = "/cache/rootfs.img";
  c.payload_disk = "/tmp/x/payload.img";
  c.console_log = "/run/console.log";
  c.ports = {{"oomharness.results", "/run/results.jsonl"}};
  return c;
}
}  // namespace

TEST(QemuCommand, BaseImageIsOpenedAsASnapshotAndPayloadReadOnly) {
  const auto cmd = qemuCommand(config());
  EXPECT_TRUE(has(cmd, "if=none,id=root,format=raw,snapshot=on,file=/cache/rootfs.img"));
  EXPECT_TRUE(has(cmd, "if=none,id=payload,format=raw,readonly=on,file=/tmp/x/payload.img"));
  EXPECT_TRUE(has(cmd, "-no-reboot"));
  EXPECT_TRUE(has(cmd, "-nodefaults"));  // no network device
  for (const auto& word : cmd) EXPECT_EQ(word.find("netdev"), std::string::npos) << word;
}

TEST(QemuCommand, RootIsTheOnlyNvmeDiskAndTheOthersAreFoundBySerial) {
  auto c = config();
  c.swap_disk = "/tmp/x/swap.img";
  const auto cmd = qemuCommand(c);
  EXPECT_TRUE(has(cmd, "nvme,drive=root,serial=root"));  // always /dev/nvme0n1
  EXPECT_TRUE(has(cmd, "virtio-blk-pci,drive=payload,serial=payload"));
  EXPECT_TRUE(has(cmd, "virtio-blk-pci,drive=swap,serial=swap"));
  EXPECT_TRUE(has(cmd, "if=none,id=swap,format=raw,file=/tmp/x/swap.img"));
  EXPECT_EQ(std::count_if(cmd.begin(), cmd.end(), [](const std::string& w) { return w.rfind("nvme", 0) == 0; }), 1);
  EXPECT_FALSE(has(qemuCommand(config()), "virtio-blk-pci,drive=swap,serial=swap"));
}

TEST(QemuCommand, TcgKeepsCpuMaxAndKvmUsesTheProbedModel) {
  auto c = config();
  EXPECT_EQ(after(qemuCommand(c), "-cpu"), "max");
  EXPECT_EQ(after(qemuCommand(c), "-accel"), "tcg,thread=multi,tb-size=384");
  c.accelerator = {"kvm", "host,-arch-capabilities", ""};
  EXPECT_EQ(after(qemuCommand(c), "-accel"), "kvm");
  EXPECT_EQ(after(qemuCommand(c), "-cpu"), "host,-arch-capabilities");
  EXPECT_EQ(after(qemuCommand(c), "-m"), "1024");
  EXPECT_EQ(after(qemuCommand(c), "-smp"), "2");
}

TEST(AcceleratorProbe, CacheLineRoundTripsAndAnythingElseMeansTcg) {
  const auto kvm = parseProbeCache(formatProbeCache({"kvm", "host,-arch-capabilities", ""}));
  EXPECT_EQ(kvm.name, "kvm");
  EXPECT_EQ(kvm.cpu, "host,-arch-capabilities");
  EXPECT_EQ(parseProbeCache(formatProbeCache(tcgAccelerator())).name, "tcg");
  EXPECT_EQ(parseProbeCache("tcg").cpu, "max");
  EXPECT_EQ(parseProbeCache("").name, "tcg");
  EXPECT_EQ(parseProbeCache("kvm").name, "tcg");  // a model is required
}

TEST(AcceleratorProbe, TriesPlainHostThenWithoutArchCapabilities) {
  const auto candidates = kvmCpuCandidates();
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[1], "host,-arch-capabilities");
}

TEST(AcceleratorChoice, ForcedTcgNeedsNoProbe) {
  auto a = chooseAccelerator("tcg", "/nonexistent/vmlinuz", "/nonexistent/cache");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "tcg");
  EXPECT_EQ(a->cpu, "max");
  EXPECT_FALSE(chooseAccelerator("hvf", "/nonexistent/vmlinuz", "/nonexistent/cache"));
}

TEST(QemuCommand, EachPortIsAVirtioSerialPortWrittenToAHostFile) {
  const auto cmd = qemuCommand(config());
  EXPECT_TRUE(has(cmd, "file,id=port0,path=/run/results.jsonl"));
  EXPECT_TRUE(has(cmd, "virtserialport,chardev=port0,name=oomharness.results"));
}

TEST(QemuCommand, KernelBootsTheJobTargetAndPanicsFast) {
  auto c = config();
  const auto line = kernelCommandLine(c);
  EXPECT_NE(line.find("systemd.unit=oomharness-job.target"), std::string::npos);
  EXPECT_NE(line.find("panic=-1"), std::string::npos);
  EXPECT_NE(line.find("root=/dev/nvme0n1"), std::string::npos);
  EXPECT_EQ(line.find("systemd.run="), std::string::npos);  // broken on 252 (docs/kernel-and-systemd.md#boot-traps)
  EXPECT_EQ(line.find("oomharness.restorable=1"), std::string::npos);
  EXPECT_EQ(line.find("swap"), std::string::npos);  // a swap disk is named in the payload, not here
}

// A saved guest's machine: root on virtio-blk through the initrd, empty hotplug
// slots, a QMP socket; the restore is the same machine, paused, waiting for the
// state, with payload and swap as drives only (plugged in over QMP).
TEST(QemuCommand, TheSavedAndTheRestoredMachineAreTheSameBarTheirDrives) {
  auto save = config();
  save.start = GuestStart::save;
  save.initrd = "/cache/initrd.img";
  save.rootfs = "/cache/saved/k/root.qcow2";
  save.qmp_socket = "/tmp/x/qmp";
  save.payload_disk.clear();
  const auto saving = qemuCommand(save);
  EXPECT_EQ(after(saving, "-initrd"), "/cache/initrd.img");
  EXPECT_TRUE(has(saving, "if=none,id=root,format=qcow2,file=/cache/saved/k/root.qcow2"));  // written by that boot
  EXPECT_TRUE(has(saving, "virtio-blk-pci,drive=root,serial=root"));
  for (const auto& word : saving) EXPECT_EQ(word.rfind("nvme", 0), std::string::npos) << word;  // cannot migrate
  EXPECT_TRUE(has(saving, "pcie-root-port,id=slot-payload,chassis=1"));
  EXPECT_TRUE(has(saving, "pcie-root-port,id=slot-swap,chassis=2"));
  EXPECT_EQ(after(saving, "-qmp"), "unix:/tmp/x/qmp,server=on,wait=off");
  EXPECT_FALSE(has(saving, "-incoming"));
  EXPECT_NE(after(saving, "-append").find("root=LABEL=root "), std::string::npos);
  EXPECT_NE(after(saving, "-append").find(" oomharness.restorable=1"), std::string::npos);

  auto restore = save;
  restore.start = GuestStart::restore;
  restore.payload_disk = "/tmp/y/payload.img";
  restore.swap_disk = "/tmp/y/swap.img";
  const auto restoring = qemuCommand(restore);
  EXPECT_TRUE(has(restoring, "if=none,id=root,format=qcow2,snapshot=on,file=/cache/saved/k/root.qcow2"));
  EXPECT_TRUE(has(restoring, "if=none,id=payload,format=raw,readonly=on,file=/tmp/y/payload.img"));
  EXPECT_TRUE(has(restoring, "if=none,id=swap,format=raw,file=/tmp/y/swap.img"));
  EXPECT_FALSE(has(restoring, "virtio-blk-pci,drive=payload,serial=payload"));  // plugged in after the restore
  EXPECT_EQ(after(restoring, "-incoming"), "defer");
  EXPECT_TRUE(has(restoring, "-S"));
  // Every device of the saved machine, in the same order: migration matches them one by one.
  auto devices = [](const std::vector<std::string>& cmd) {
    std::vector<std::string> out;
    for (auto it = cmd.begin(); it != cmd.end(); ++it)
      if (*it == "-device" && it + 1 != cmd.end()) out.push_back(*(it + 1));
    return out;
  };
  EXPECT_EQ(devices(saving), devices(restoring));
  EXPECT_EQ(after(saving, "-append"), after(restoring, "-append"));
}

TEST(JobScript, QuotesWordsThatNeedItAndDropsTheInheritedProtection) {
  const auto script = jobScript({"sh", "-c", "echo 'hi' $HOME"});
  EXPECT_NE(script.find("echo 0 > /proc/self/oom_score_adj"), std::string::npos);
  EXPECT_NE(script.find("exec sh -c 'echo '\\''hi'\\'' $HOME'\n"), std::string::npos) << script;
}

// The key names the machine: what shapes the saved memory changes it, the run's
// own paths do not.
TEST(SavedGuestKey, ChangesWithTheMachineNotWithTheRunsPaths) {
  auto machine = config();
  machine.start = GuestStart::save;
  machine.initrd = "/cache/initrd.img";
  const std::string key = savedGuestKey(machine, "QEMU emulator version 7.2.22");
  EXPECT_EQ(key.size(), 12u);
  auto other_run = machine;
  other_run.console_log = "/elsewhere/console";
  other_run.ports = {{"oomharness.results", "/elsewhere/results"}};
  other_run.payload_disk = "/elsewhere/payload.img";
  other_run.swap_disk = "/elsewhere/swap.img";
  other_run.qmp_socket = "/elsewhere/qmp";
  other_run.rootfs = "/elsewhere/root.qcow2";
  other_run.name = "oomharness:/elsewhere";
  other_run.start = GuestStart::restore;
  EXPECT_EQ(savedGuestKey(other_run, "QEMU emulator version 7.2.22"), key);
  auto changed = [&](auto change) {
    auto m = machine;
    change(m);
    return savedGuestKey(m, "QEMU emulator version 7.2.22");
  };
  EXPECT_NE(changed([](QemuConfig& m) { m.memory_mib = 768; }), key);
  EXPECT_NE(changed([](QemuConfig& m) { m.cpus = 1; }), key);
  EXPECT_NE(changed([](QemuConfig& m) { m.accelerator = {"kvm", "host", ""}; }), key);
  EXPECT_NE(changed([](QemuConfig& m) { m.kernel = "/cache/v2/vmlinuz"; }), key);  // another image version
  EXPECT_NE(changed([](QemuConfig& m) { m.ports["oomharness.control"] = "/run/control"; }), key);
  EXPECT_NE(savedGuestKey(machine, "QEMU emulator version 8.0.0"), key);
}
