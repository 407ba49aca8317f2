#include "vm/host_check.hpp"

#include <gtest/gtest.h>

using namespace oom;

namespace {

// The first lines of a real /proc/meminfo, with MemAvailable set to `kib`.
std::string meminfo(std::uint64_t kib) {
  return "MemTotal:       24563660 kB\n"
         "MemFree:        21873900 kB\n"
         "MemAvailable:   " + std::to_string(kib) + " kB\n"
         "Buffers:          141104 kB\n"
         "Cached:          1903492 kB\n";
}

constexpr std::uint64_t kOwn = kQemuOverheadBytes + kHarnessOwnBytes + kHostMemoryMarginBytes;

}  // namespace

TEST(HostMemory, ReadsMemAvailable) {
  EXPECT_EQ(*memAvailableBytes(meminfo(22773196)), 22773196 * KiB);
  EXPECT_EQ(*memAvailableBytes("MemAvailable: 1 kB"), KiB);  // no newline at the end
  for (const char* bad : {"", "MemTotal: 100 kB\n", "MemAvailable: lots kB\n", "MemAvailable: 12 MB\n",
                          "MemAvailable:\n", "XMemAvailable: 5 kB\n", "MemAvailable: 99999999999999999999 kB\n"}) {
    const auto r = memAvailableBytes(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::setup);
  }
}

TEST(HostMemory, GuestPlusQemuPlusHarnessPlusMarginMustFit) {
  HostNeeds needs;
  needs.guest_memory_bytes = GiB;
  const std::uint64_t needed = GiB + kOwn;
  EXPECT_EQ(needed, 2 * GiB);  // the figures docs/guest-vm.md and the README quote
  const auto exact = hostMemoryFits(meminfo(needed / KiB), needs);
  EXPECT_TRUE(exact.fits);
  EXPECT_EQ(exact.needed_bytes, needed);
  const auto short_by_one_page = hostMemoryFits(meminfo(needed / KiB - 4), needs);
  EXPECT_FALSE(short_by_one_page.fits);
  EXPECT_EQ(short_by_one_page.available_bytes, needed - 4 * KiB);
  EXPECT_EQ(short_by_one_page.explanation,
            "guest 1GiB + qemu 512MiB + harness 256MiB + margin 256MiB = 2GiB; MemAvailable 2.0GiB");
}

TEST(HostMemory, SwapOnATmpfsCountsAsMemory) {
  HostNeeds needs;
  needs.guest_memory_bytes = 512 * MiB;
  needs.swap_bytes = 256 * MiB;
  EXPECT_EQ(hostMemoryFits(meminfo(8 * GiB / KiB), needs).needed_bytes, 512 * MiB + kOwn);
  needs.swap_in_memory = true;
  const auto fit = hostMemoryFits(meminfo(8 * GiB / KiB), needs);
  EXPECT_EQ(fit.needed_bytes, 768 * MiB + kOwn);
  EXPECT_NE(fit.explanation.find("swap file on tmpfs 256MiB"), std::string::npos) << fit.explanation;
}

TEST(HostMemory, NoMemAvailableNeverFits) {
  HostNeeds needs;
  needs.guest_memory_bytes = GiB;
  const auto fit = hostMemoryFits("MemTotal: 99999999 kB\n", needs);
  EXPECT_FALSE(fit.fits);
  EXPECT_NE(fit.explanation.find("MemAvailable"), std::string::npos);
}

TEST(SwapDisk, SwapPlusMarginMustFitTheFreeDisk) {
  EXPECT_TRUE(swapDiskFits(0, 0).fits);  // no swap, no disk needed
  EXPECT_TRUE(swapDiskFits(GiB + kSwapDiskMarginBytes, GiB).fits);
  const auto fit = swapDiskFits(GiB + kSwapDiskMarginBytes - 1, GiB);
  EXPECT_FALSE(fit.fits);
  EXPECT_EQ(fit.needed_bytes, GiB + kSwapDiskMarginBytes);
  EXPECT_EQ(fit.explanation.substr(0, 35), "swap 1GiB + margin 256MiB = 1.2GiB;");
}
