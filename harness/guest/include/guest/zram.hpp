#pragma once
// guest.swap_kind "zram": a compressed swap device in the guest's own memory
// (docs/kernel-and-systemd.md#zram). The cloud kernels of both releases ship the
// zram module; the agent loads it, sizes /dev/zram0, makes it swap and enables it,
// before anything else runs.
#include <cstdint>
#include <string>

#include "live/sysfs.hpp"
#include "oom/expected.hpp"

namespace oom {

inline constexpr const char* kZramDevice = "/dev/zram0";

Expected<void> setUpZram(const SysFs& fs, std::uint64_t bytes);

// The swap areas /proc/swaps lists, as "/dev/zram0 (partition, 512MiB)".
std::string swapAreas(const std::string& proc_swaps);

}  // namespace oom
