// Fill throughput and rate accuracy of oomstress, as ratios against references
// measured in the same run on the same machine:
//   - the machine's first-touch limit: a plain loop writing one word per fresh page
//   - stress-ng --vm 1 --vm-keep --vm-bytes 1G --vm-method write64 (when installed)
// A and B alternate, three rounds, medians reported (FIELD-NOTES: this VM backs
// memory lazily; warm up first and compare alternately).
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kGiB = 1ull << 30;
constexpr double kMiB = 1024.0 * 1024.0;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// MiB/s to touch `bytes` of fresh memory, one 8-byte write per 4 KiB page.
// The mapping is 2 MiB aligned so THP can back it when asked.
double firstTouch(bool huge, std::size_t bytes = kGiB) {
  constexpr std::size_t kHuge = 2u << 20;
  auto* raw = static_cast<char*>(::mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  char* p = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(raw) + kHuge - 1) & ~(kHuge - 1));
  ::madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  const auto t0 = Clock::now();
  for (std::size_t off = 0; off < bytes; off += 4096) *reinterpret_cast<volatile long*>(p + off) = 1;
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  ::munmap(raw, bytes + kHuge);
  return static_cast<double>(bytes) / kMiB / s;
}

// Runs oomstress to its target and returns its own time_to_target (seconds).
double oomstressTimeToTarget(const std::string& args) {
  const std::string cmd = std::string(OOMSTRESS_BIN) + " --hold 0 --report-interval 10s " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  char line[1024];
  double t = -1;
  while (std::fgets(line, sizeof line, p)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("time_to_target")) t = j["time_to_target"].get<double>();
  }
  ::pclose(p);
  return t;
}

double stressNgFillSec() {
  if (std::system("command -v stress-ng >/dev/null 2>&1") != 0) return -1;
  const auto t0 = Clock::now();
  const int rc = std::system(
      "stress-ng --vm 1 --vm-keep --vm-bytes 1G --vm-method write64 --vm-ops 1 --quiet >/dev/null 2>&1");
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return rc == 0 ? s : -1;
}

}  // namespace

int main() {
  // This VM's host backs guest memory lazily: memory never touched since boot is
  // far slower. Touch 4 GiB at once, twice, so every measurement below reuses it.
  std::printf("warming up (touching 4 GiB, twice)...\n");
  for (int i = 0; i < 2; ++i) firstTouch(false, 4 * kGiB);
  std::vector<double> limit4k, stress4k, limitThp, stressThp, ng;
  for (int round = 0; round < 3; ++round) {
    limit4k.push_back(firstTouch(false));
    stress4k.push_back(1024.0 / oomstressTimeToTarget("--target 1G"));
    limitThp.push_back(firstTouch(true));
    stressThp.push_back(1024.0 / oomstressTimeToTarget("--target 1G --thp"));
    if (double s = stressNgFillSec(); s > 0) ng.push_back(1024.0 / s);
  }
  std::printf("\nfill a fresh 1 GiB (median of 3, MiB/s)\n");
  std::printf("  %-42s %10s %8s\n", "what", "MiB/s", "ratio");
  std::printf("  %-42s %10.0f %8s\n", "first-touch limit, 4 KiB pages", median(limit4k), "1.00");
  std::printf("  %-42s %10.0f %8.2f\n", "oomstress --target 1G (every page filled)", median(stress4k),
              median(stress4k) / median(limit4k));
  std::printf("  %-42s %10.0f %8s\n", "first-touch limit, THP (madvise)", median(limitThp), "1.00");
  std::printf("  %-42s %10.0f %8.2f\n", "oomstress --target 1G --thp", median(stressThp),
              median(stressThp) / median(limitThp));
  if (!ng.empty())
    std::printf("  %-42s %10.0f %8.2f  (oomstress 4K / stress-ng: %.2f; stress-ng time includes its start)\n",
                "stress-ng --vm-method write64 (1 pass)", median(ng), median(ng) / median(limit4k),
                median(stress4k) / median(ng));

  std::printf("\nrate accuracy (achieved / requested, 1.5 s ramps, median of 3)\n");
  for (int mib : {50, 200, 800}) {
    std::vector<double> ratios;
    for (int round = 0; round < 3; ++round) {
      const int target = mib * 3 / 2;
      const double t = oomstressTimeToTarget("--target " + std::to_string(target) + "M --rate " +
                                             std::to_string(mib) + "M/s");
      ratios.push_back((target / t) / mib);
    }
    std::printf("  %4d MiB/s: %.3f%s\n", mib, median(ratios),
                mib > median(limit4k) ? "  (above the first-touch limit: not achievable)" : "");
  }
  return 0;
}
