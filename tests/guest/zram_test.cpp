// The guest record's swap areas, from /proc/swaps as a bookworm guest printed it
// after the agent set up zram (2026-11-29, `oomharness vm run`).
#include "guest/zram.hpp"

#include <gtest/gtest.h>

using namespace oom;

TEST(SwapAreas, ZramAndADiskAreNamedWithTheirSizes) {
  const std::string zram =
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/dev/zram0                              partition\t393212\t\t0\t\t100\n";
  EXPECT_EQ(swapAreas(zram), "/dev/zram0 (partition, 384.0MiB)");
  const std::string two = zram + "/dev/vdb                                partition\t524284\t\t0\t\t-2\n";
  EXPECT_EQ(swapAreas(two), "/dev/zram0 (partition, 384.0MiB), /dev/vdb (partition, 512.0MiB)");
  EXPECT_EQ(swapAreas("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"), "");  // no swap
  EXPECT_EQ(swapAreas(""), "");
}
