// Fill throughput and rate accuracy of oomstress, as ratios against references
// measured in the same run on the same machine:
//   - the machine's first-touch limit: a plain loop writing one word per fresh
//     4 KiB page of a new 1 GiB mapping (4 KiB pages, and separately THP); with
//     THP also a loop that memsets every page, since there the writes, not the
//     faults, cost most
//   - stress-ng --vm 1 --vm-keep --vm-bytes 1G --vm-method write64 (when installed)
// Every fill is timed from outside (spawn until /proc/PID/status VmRSS reaches
// the size) and, for oomstress, also from its own report (time_to_target).
// A and B alternate, medians of the rounds are printed (bench/stressor/README.md: this VM
// backs memory lazily; warm up first and compare alternately). At most 1 GiB is
// held at any time.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t kGiB = 1ull << 30;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr int kRounds = 7;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A field of /proc/PID/<file> in kB, as bytes (0 when absent).
double procField(const std::string& pid, const char* file, const std::string& field) {
  std::ifstream in("/proc/" + pid + "/" + file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + field.size()) * 1024;
  return 0;
}

struct Fill {
  double mib_per_s = 0;    // outside view
  double own_mib_per_s = 0;  // the process's own report (oomstress only)
  double huge_fraction = 0;  // AnonHugePages / size: which page size was really used
};

// The reference: one 8-byte write per 4 KiB page of a fresh 2 MiB-aligned mapping.
// `every_byte`: memset each page instead (what filling the pages must cost at least).
Fill firstTouch(bool huge, bool every_byte = false, std::size_t bytes = kGiB) {
  constexpr std::size_t kHuge = 2u << 20;
  auto* raw = static_cast<char*>(::mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (raw == MAP_FAILED) std::exit(1);
  char* p = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(raw) + kHuge - 1) & ~(kHuge - 1));
  ::madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  const auto t0 = Clock::now();
  if (every_byte)
    for (std::size_t off = 0; off < bytes; off += 4096) std::memset(p + off, 0xA5, 4096);
  else
    for (std::size_t off = 0; off < bytes; off += 4096) *reinterpret_cast<volatile long*>(p + off) = 1;
  const double s = secondsSince(t0);
  if (every_byte && p[bytes / 2] != static_cast<char>(0xA5)) std::exit(1);  // keep the memset
  Fill f;
  f.mib_per_s = static_cast<double>(bytes) / kMiB / s;
  f.huge_fraction = procField("self", "smaps_rollup", "AnonHugePages:") / static_cast<double>(bytes);
  ::munmap(raw, bytes + kHuge);
  return f;
}

// A child process; stdout captured, read after it exits.
struct Child {
  pid_t pid = -1;
  int out = -1;
  Clock::time_point started;

  explicit Child(std::vector<std::string> argv, bool quiet_stderr = false) {
    int fds[2];
    if (::pipe(fds) != 0) std::exit(1);
    started = Clock::now();
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], 1);
      if (quiet_stderr) {
        const int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, 2);
      }
      ::close(fds[0]);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out = fds[0];
  }
  std::string waitAndRead() {
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(out, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(out);
    ::waitpid(pid, nullptr, 0);
    return text;
  }
};

// Descendants of `root` (stress-ng's vm worker is a grandchild). This kernel has
// no /proc/PID/task/TID/children, so it walks /proc.
std::vector<pid_t> descendantsOf(pid_t root) {
  std::vector<pid_t> found;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t p = std::stoi(name);
    const pid_t self = p;
    for (int depth = 0; depth < 4 && p > 1 && p != root; ++depth)
      p = static_cast<pid_t>(procField(std::to_string(p), "status", "PPid:") / 1024);
    if (p == root && self != root) found.push_back(self);
  }
  return found;
}

// Polls VmRSS (of `c`, or with `descendants` of whichever descendant first
// passes 32 MiB) until it reaches `bytes`. Returns seconds since spawn, or -1
// after `timeout`; `from` gets the time it passed `window_start` bytes.
double timeToRss(const Child& c, double bytes, bool descendants, double* from = nullptr,
                 double window_start = 64 * kMiB, double timeout = 30) {
  std::string pid = std::to_string(c.pid);
  while (secondsSince(c.started) < timeout) {
    if (descendants) {
      for (pid_t d : descendantsOf(c.pid))
        if (procField(std::to_string(d), "status", "VmRSS:") > 32 * kMiB) {
          pid = std::to_string(d);  // the worker: poll it alone from now on
          descendants = false;
          break;
        }
    }
    if (!descendants) {
      const double rss = procField(pid, "status", "VmRSS:");
      if (from && *from < 0 && rss >= window_start) *from = secondsSince(c.started);
      if (rss >= bytes) return secondsSince(c.started);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return -1;
}

std::string oomstressBin() {
  if (const char* env = std::getenv("OOMSTRESS")) return env;
  return OOMSTRESS_BIN;
}

// oomstress to `target` MiB (at `rate` MiB/s, 0: as fast as possible), held 0.3 s.
// Outside: spawn until VmRSS >= target. Own: its time_to_target.
Fill oomstress(int target_mib, int rate_mib, bool thp) {
  std::vector<std::string> argv{oomstressBin(), "--target", std::to_string(target_mib) + "M",
                                "--hold", "300ms", "--report-interval", "60s"};
  if (rate_mib > 0) argv.insert(argv.end(), {"--rate", std::to_string(rate_mib) + "M/s"});
  if (thp) argv.push_back("--thp");
  Child c(argv);
  const double bytes = target_mib * kMiB;
  const double outside = timeToRss(c, bytes, false);
  Fill f;
  f.huge_fraction = procField(std::to_string(c.pid), "smaps_rollup", "AnonHugePages:") / bytes;
  double own = -1, base = 0;
  const std::string text = c.waitAndRead();
  for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    auto j = nlohmann::json::parse(text.substr(pos, nl - pos), nullptr, false);
    if (!j.is_object() || !j.contains("time_to_target")) continue;
    own = j["time_to_target"].get<double>();
    // VmRSS also counts the binary's own pages: that much less was allocated when it crossed.
    base = j["rss_bytes"].get<double>() - j["bytes_allocated"].get<double>();
  }
  f.mib_per_s = outside > 0 ? (bytes - base) / kMiB / outside : 0;
  f.own_mib_per_s = own > 0 ? target_mib / own : 0;
  return f;
}

bool haveStressNg() { return std::system("command -v stress-ng >/dev/null 2>&1") == 0; }

// stress-ng's vm worker filling 1 GiB once (it keeps it with --vm-keep), timed
// from outside between its RSS passing 64 MiB and 1 GiB (so its own start-up,
// a few processes and libraries, is left out), then stopped.
Fill stressNg() {
  Child c({"stress-ng", "--vm", "1", "--vm-keep", "--vm-bytes", "1G", "--vm-method", "write64",
           "--timeout", "30s", "--quiet"},
          true);
  double from = -1;
  const double to = timeToRss(c, static_cast<double>(kGiB), true, &from);
  ::kill(c.pid, SIGINT);
  c.waitAndRead();
  Fill f;
  f.mib_per_s = to > 0 && from >= 0 && to > from ? (1024.0 - 64.0) / (to - from) : 0;
  return f;
}

// One measured configuration over the rounds; ratios are taken per round
// against the reference measured next to it, then the median is reported.
struct Series {
  std::vector<double> outside, own, huge, ratio, own_ratio;
  void add(const Fill& f, const Fill& ref) {
    outside.push_back(f.mib_per_s);
    own.push_back(f.own_mib_per_s);
    huge.push_back(f.huge_fraction);
    ratio.push_back(f.mib_per_s / ref.mib_per_s);
    own_ratio.push_back(f.own_mib_per_s / ref.mib_per_s);
  }
};

std::string fixed(double v, int decimals) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

void row(const char* what, const Series& s, bool own) {
  std::printf("| %-46s | %7.0f | %7s | %5.2f | %5s | %3.0f%% |\n", what, median(s.outside),
              own ? fixed(median(s.own), 0).c_str() : "-", median(s.ratio),
              own ? fixed(median(s.own_ratio), 2).c_str() : "-", 100 * median(s.huge));
}

// Touches and frees 1 GiB (in the page size about to be measured) just before a
// measurement, so A and B both start from memory the host backs: this VM's
// balloon has free page reporting, so the host takes back what the guest has
// left free for a few seconds, and touching it again is far slower.
void rewarm(bool huge) { firstTouch(huge); }

// Measures `a` then `b`, or `b` then `a` on odd rounds, each right after a rewarm.
template <typename A, typename B>
std::pair<Fill, Fill> alternate(int round, bool huge, A a, B b) {
  Fill fa, fb;
  if (round % 2 == 0) {
    rewarm(huge), fa = a();
    rewarm(huge), fb = b();
  } else {
    rewarm(huge), fb = b();
    rewarm(huge), fa = a();
  }
  return {fa, fb};
}

}  // namespace

int main() {
  std::printf("warming up: touching 1 GiB three times, then one oomstress 1 GiB fill...\n");
  std::printf("(the host has %ld GiB; this holds at most 1 GiB at a time)\n",
              static_cast<long>(::sysconf(_SC_PHYS_PAGES) * ::sysconf(_SC_PAGESIZE) >> 30));
  std::fflush(stdout);
  for (int i = 0; i < 3; ++i) firstTouch(false);
  oomstress(1024, 0, false);

  Series limit4k, stress4k, limitThp, stressThp, fullThp, stressThpVsFull, ng;
  const bool ng_present = haveStressNg();
  for (int round = 0; round < kRounds; ++round) {
    auto [l4, s4] = alternate(round, false, [] { return firstTouch(false); }, [] { return oomstress(1024, 0, false); });
    limit4k.add(l4, l4);
    stress4k.add(s4, l4);
    auto [lh, sh] = alternate(round, true, [] { return firstTouch(true); }, [] { return oomstress(1024, 0, true); });
    limitThp.add(lh, lh);
    stressThp.add(sh, lh);
    auto [fh, sh2] = alternate(round, true, [] { return firstTouch(true, true); }, [] { return oomstress(1024, 0, true); });
    fullThp.add(fh, lh);
    stressThpVsFull.add(sh2, fh);
    if (ng_present) {
      auto [l, n] = alternate(round, false, [] { return firstTouch(false); }, [] { return stressNg(); });
      ng.add(n, l);
    }
  }
  std::printf("\nfill a fresh 1 GiB, %d rounds, A and B alternating, each right after touching and "
              "freeing 1 GiB;\nmedians. MiB/s: from outside (spawn until VmRSS reaches 1 GiB); own: "
              "its time_to_target; ratio: per round against the limit measured next to it;\nhuge: "
              "share of AnonHugePages (which page size was really used)\n\n",
              kRounds);
  std::printf("| %-46s | %7s | %7s | %5s | %5s | %4s |\n", "fill a fresh 1 GiB", "MiB/s", "own", "ratio",
              "own r", "huge");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(48, '-').c_str(), std::string(9, '-').c_str(),
              std::string(9, '-').c_str(), std::string(7, '-').c_str(), std::string(7, '-').c_str(),
              std::string(6, '-').c_str());
  row("first-touch limit, 4 KiB pages (1 word/page)", limit4k, false);
  row("oomstress --target 1G (every page filled)", stress4k, true);
  row("first-touch limit, THP (madvise)", limitThp, false);
  row("oomstress --target 1G --thp", stressThp, true);
  row("THP, memset every page (vs THP limit)", fullThp, false);
  row("oomstress --thp (vs THP memset every page)", stressThpVsFull, true);
  if (ng_present) row("stress-ng write64, 64M..1G (vs 4 KiB limit)", ng, false);
  else std::printf("(stress-ng not installed: no reference row)\n");
  const double ref4k = median(limit4k.outside);

  std::printf("\nrate accuracy, achieved/requested, median of 3 (own: target/time_to_target; "
              "outside: bytes allocated/(spawn until VmRSS reaches the target))\n\n");
  std::printf("| requested | target | own   | outside |\n|-----------|--------|-------|---------|\n");
  struct Case { int rate, target; };
  for (const Case c : {Case{50, 100}, Case{200, 400}, Case{800, 1000}}) {
    std::vector<double> own, outside;
    for (int round = 0; round < 3; ++round) {
      rewarm(false);
      const Fill f = oomstress(c.target, c.rate, false);
      own.push_back(f.own_mib_per_s / c.rate);
      outside.push_back(f.mib_per_s / c.rate);
    }
    std::printf("| %4d MiB/s | %4d M | %.3f | %.3f   |%s\n", c.rate, c.target, median(own), median(outside),
                c.rate > ref4k ? "  above the 4 KiB first-touch limit: not achievable" : "");
  }
  return 0;
}
