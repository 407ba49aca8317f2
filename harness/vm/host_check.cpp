#include "vm/host_check.hpp"

#include <charconv>

#include "oom/text.hpp"

namespace oom {

Expected<std::uint64_t> memAvailableBytes(std::string_view meminfo) {
  // "MemAvailable:   23001234 kB"
  constexpr std::string_view key = "MemAvailable:";
  for (std::size_t pos = 0; pos < meminfo.size();) {
    const std::size_t end = std::min(meminfo.find('\n', pos), meminfo.size());
    std::string_view line = meminfo.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, key.size()) != key) continue;
    line.remove_prefix(key.size());
    line.remove_prefix(std::min(line.find_first_not_of(' '), line.size()));
    std::uint64_t kib = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), kib);
    const std::string_view unit(ptr, static_cast<std::size_t>(line.data() + line.size() - ptr));
    if (ec != std::errc() || unit != " kB" || kib > (UINT64_MAX >> 10)) break;
    return kib * KiB;
  }
  return failSetup("/proc/meminfo", "no readable MemAvailable line; cannot tell whether the guest fits");
}

HostFit hostMemoryFits(std::string_view meminfo, const HostNeeds& needs,
                       const std::vector<OtherReservation>& others) {
  HostFit fit;
  fit.needed_bytes = needs.guest_memory_bytes + kQemuOverheadBytes + kHarnessOwnBytes +
                     kHostMemoryMarginBytes + (needs.swap_in_memory ? needs.swap_bytes : 0);
  fit.explanation = "guest " + formatSize(needs.guest_memory_bytes) + " + qemu " +
                    formatSize(kQemuOverheadBytes) + " + harness " + formatSize(kHarnessOwnBytes) +
                    (needs.swap_in_memory && needs.swap_bytes > 0
                         ? " + swap file on tmpfs " + formatSize(needs.swap_bytes)
                         : std::string()) +
                    " + margin " + formatSize(kHostMemoryMarginBytes) + " = " +
                    formatSize(fit.needed_bytes);
  const auto available = memAvailableBytes(meminfo);
  if (!available) {
    fit.explanation += "; " + available.error().message;
    return fit;
  }
  fit.available_bytes = *available;
  fit.explanation += "; MemAvailable " + formatSize(fit.available_bytes);
  std::string named;
  for (const auto& o : others) {
    const std::uint64_t to_come = o.toCome();
    fit.reserved_by_others_bytes = to_come > UINT64_MAX - fit.reserved_by_others_bytes
                                       ? UINT64_MAX
                                       : fit.reserved_by_others_bytes + to_come;
    named += (named.empty() ? "" : ", ") + std::string("pid ") + std::to_string(o.pid) + " " + printable(o.run) +
             " reserved " + formatSize(o.reserved_bytes) + ", holds " + formatSize(o.held_bytes);
  }
  const std::uint64_t left = fit.available_bytes > fit.reserved_by_others_bytes
                                 ? fit.available_bytes - fit.reserved_by_others_bytes
                                 : 0;
  if (!others.empty())
    fit.explanation += " less " + formatSize(fit.reserved_by_others_bytes) + " still to come for " +
                       std::to_string(others.size()) + " other run" + (others.size() == 1 ? "" : "s") +
                       " (" + named + ") = " + formatSize(left);
  fit.fits = left >= fit.needed_bytes;
  return fit;
}

HostFit swapDiskFits(std::uint64_t free_disk_bytes, std::uint64_t swap_bytes) {
  HostFit fit;
  fit.available_bytes = free_disk_bytes;
  if (swap_bytes == 0) {
    fit.fits = true;
    fit.explanation = "no swap";
    return fit;
  }
  fit.needed_bytes = swap_bytes + kSwapDiskMarginBytes;
  fit.fits = free_disk_bytes >= fit.needed_bytes;
  fit.explanation = "swap " + formatSize(swap_bytes) + " + margin " + formatSize(kSwapDiskMarginBytes) +
                    " = " + formatSize(fit.needed_bytes) + "; free " + formatSize(free_disk_bytes);
  return fit;
}

}  // namespace oom
