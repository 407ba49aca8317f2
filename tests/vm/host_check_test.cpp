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

// Two runs started together both read the same MemAvailable: each must take off
// what the other reserved and does not hold yet.
TEST(HostMemory, OtherRunsReservationsNotYetHeldAreTakenOffMemAvailable) {
  HostNeeds needs;
  needs.guest_memory_bytes = GiB;  // needs 2 GiB
  const std::string four_gib = meminfo(4 * GiB / KiB);
  const OtherReservation booting{"/results/a", 4242, 2 * GiB, 0};
  // Alone, 4 GiB is plenty; beside one booting run it is exactly enough.
  const auto beside_one = hostMemoryFits(four_gib, needs, {booting});
  EXPECT_TRUE(beside_one.fits) << beside_one.explanation;
  EXPECT_EQ(beside_one.reserved_by_others_bytes, 2 * GiB);
  EXPECT_EQ(beside_one.available_bytes, 4 * GiB);  // MemAvailable as read, for result.json
  // Beside two, it does not: and the refusal names them.
  const OtherReservation second{"/results/b", 4343, 2 * GiB, 0};
  const auto beside_two = hostMemoryFits(four_gib, needs, {booting, second});
  EXPECT_FALSE(beside_two.fits);
  EXPECT_EQ(beside_two.explanation,
            "guest 1GiB + qemu 512MiB + harness 256MiB + margin 256MiB = 2GiB; MemAvailable 4GiB less 4GiB "
            "still to come for 2 other runs (pid 4242 /results/a reserved 2GiB, holds 0B, "
            "pid 4343 /results/b reserved 2GiB, holds 0B) = 0B");
}

TEST(HostMemory, WhatAnotherRunAlreadyHoldsIsNotCountedTwice) {
  HostNeeds needs;
  needs.guest_memory_bytes = GiB;
  // MemAvailable already lacks the 1.5 GiB the other run's qemu faulted in: only
  // the 512 MiB still to come is taken off.
  const OtherReservation running{"/results/a", 4242, 2 * GiB, 1536 * MiB};
  EXPECT_EQ(running.toCome(), 512 * MiB);
  const auto fit = hostMemoryFits(meminfo((2 * GiB + 512 * MiB) / KiB), needs, {running});
  EXPECT_TRUE(fit.fits) << fit.explanation;
  EXPECT_FALSE(hostMemoryFits(meminfo((2 * GiB + 508 * MiB) / KiB), needs, {running}).fits);
  // Holding more than it reserved (the harness grew) takes nothing off, never wraps.
  const OtherReservation grown{"/results/a", 4242, GiB, 3 * GiB};
  EXPECT_EQ(grown.toCome(), 0u);
  EXPECT_EQ(hostMemoryFits(meminfo(2 * GiB / KiB), needs, {grown}).reserved_by_others_bytes, 0u);
}

TEST(HostMemory, HugeReservationsAddUpWithoutWrapping) {
  HostNeeds needs;
  needs.guest_memory_bytes = GiB;
  const OtherReservation huge{"/results/x", 1, UINT64_MAX - GiB, 0};
  const auto fit = hostMemoryFits(meminfo(64 * GiB / KiB), needs, {huge, huge});
  EXPECT_EQ(fit.reserved_by_others_bytes, UINT64_MAX);
  EXPECT_FALSE(fit.fits);
}

TEST(SwapDisk, SwapPlusMarginMustFitTheFreeDisk) {
  EXPECT_TRUE(swapDiskFits(0, 0).fits);  // no swap, no disk needed
  EXPECT_TRUE(swapDiskFits(GiB + kSwapDiskMarginBytes, GiB).fits);
  const auto fit = swapDiskFits(GiB + kSwapDiskMarginBytes - 1, GiB);
  EXPECT_FALSE(fit.fits);
  EXPECT_EQ(fit.needed_bytes, GiB + kSwapDiskMarginBytes);
  EXPECT_EQ(fit.explanation.substr(0, 35), "swap 1GiB + margin 256MiB = 1.2GiB;");
}
