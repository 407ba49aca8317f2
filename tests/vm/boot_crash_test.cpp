// Which guest deaths are worth a second boot: a kernel crash before the job ran
// (recorded: trixie's 6.12 under TCG), not a panic the kernel chose.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "vm/boot.hpp"

namespace oom {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(OOMHARNESS_SOURCE_DIR) / "tests/vm/fixtures";

TEST(KernelCrashLine, FindsTheOopsOfARecordedBootCrash) {
  const std::string line = kernelCrashLine(kFixtures / "console-trixie-boot-oops.log");
  EXPECT_EQ(line.rfind("Oops: int3: 0000 [#1] PREEMPT SMP NOPTI", 0), 0u) << line;
}

TEST(KernelCrashLine, AConsoleWithoutACrashHasNone) {
  EXPECT_EQ(kernelCrashLine(kFixtures / "console-trixie-normal.log"), "");
  EXPECT_EQ(kernelCrashLine(kFixtures / "no-such-console.log"), "");
}

TEST(KernelCrashLine, APanicTheKernelChoseIsNotACrash) {
  // Synthetic, in the kernel's words: the damaged-image fault's ending (tests/fault), which fails every boot.
  char path[] = "/tmp/oomharness-console-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "[    1.900000] VFS: Cannot open root device \"nvme0n1\" or unknown-block(259,0): error -5\n"
                         "[    1.900100] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(259,0)\n";
  EXPECT_EQ(kernelCrashLine(path), "");
  ::unlink(path);
}

}  // namespace
}  // namespace oom
