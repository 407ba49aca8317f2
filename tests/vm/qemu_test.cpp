#include "vm/qemu.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "vm/payload.hpp"

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
  EXPECT_EQ(line.find("oomharness.swap=1"), std::string::npos);
  c.swap_disk = "/tmp/swap.img";
  EXPECT_NE(kernelCommandLine(c).find("oomharness.swap=1"), std::string::npos);
}

TEST(JobScript, QuotesWordsThatNeedItAndDropsTheInheritedProtection) {
  const auto script = jobScript({"sh", "-c", "echo 'hi' $HOME"});
  EXPECT_NE(script.find("echo 0 > /proc/self/oom_score_adj"), std::string::npos);
  EXPECT_NE(script.find("exec sh -c 'echo '\\''hi'\\'' $HOME'\n"), std::string::npos) << script;
}
