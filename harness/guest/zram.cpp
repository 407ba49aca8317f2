#include "guest/zram.hpp"

#include "guest/command.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {

Expected<void> setUpZram(const SysFs& fs, std::uint64_t bytes) {
  if (auto loaded = runGuestCommand("modprobe zram num_devices=1", "modprobe zram"); !loaded)
    return tl::unexpected(loaded.error());
  if (!fs.writeFile("sys/block/zram0/disksize", std::to_string(bytes)))
    return fail("/sys/block/zram0/disksize", "cannot set the size " + std::to_string(bytes));
  if (auto made = runGuestCommand(std::string("mkswap ") + kZramDevice, "mkswap"); !made)
    return tl::unexpected(made.error());
  if (auto on = runGuestCommand(std::string("swapon -p 100 ") + kZramDevice, "swapon"); !on)
    return tl::unexpected(on.error());
  const auto swaps = fs.readFile("proc/swaps");
  if (!swaps || swaps->find(kZramDevice) == std::string::npos)
    return fail("/proc/swaps", std::string(kZramDevice) + " is not listed after swapon");
  return {};
}

std::string swapAreas(const std::string& proc_swaps) {
  // Filename Type Size(KiB) Used Priority, after one header line.
  std::string out;
  bool header = true;
  for (const std::string_view line : splitLines(proc_swaps)) {
    if (header) {
      header = false;
      continue;
    }
    std::string spaced(line);
    for (char& c : spaced)
      if (c == '\t') c = ' ';
    const auto w = words(spaced);
    if (w.size() < 3) continue;
    const auto kib = parseNumber<std::uint64_t>(w[2]);
    out += (out.empty() ? "" : ", ") + std::string(w[0]) + " (" + std::string(w[1]) +
           (kib ? ", " + formatSize(*kib * 1024) : std::string()) + ")";
  }
  return out;
}

}  // namespace oom
