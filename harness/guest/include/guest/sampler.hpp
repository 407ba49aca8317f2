#pragma once
// The observer's second thread: the kernel log and the periodic samples, on a
// path that never waits for D-Bus, the journal or the disk. On a thrashing guest
// the event loop can block for tens of seconds (a D-Bus call, journal pages that
// were evicted); this thread keeps measuring meanwhile, records how long the loop
// was blocked, and ends the run at its hard time limit if the loop cannot.
//
// What keeps it running under pressure: real-time priority (SCHED_FIFO) where
// allowed; the guest-wide files (/proc/meminfo, /proc/vmstat,
// /proc/pressure/memory) opened once and read with pread into fixed buffers; no
// file but those it samples and the results channel. The process's memory is
// locked (main.cpp), so the heap it allocates from never pages. A unit's cgroup
// files are opened per sample: systemd removes and re-creates the cgroup at each
// restart, so a file opened once would go stale.
//
// Records it writes: guest_sample, sample, oom_kill, kmsg, observer_gap, loss
// (kmsg), and, at the hard limit, the time_limit phase and the end.
#include <array>
#include <iterator>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "live/kmsg_parser.hpp"
#include "guest/record_sink.hpp"
#include "live/sysfs.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// The guest's CPU time, all CPUs together, in seconds since boot (/proc/stat).
struct GuestCpuTimes {
  double user = 0;    // user + nice
  double kernel = 0;  // system + irq + softirq
  double idle = 0;    // idle + iowait
};

// /proc/vmstat counters that say what kernel work went on (reclaim, faults, compaction).
inline constexpr const char* kKernelWorkCounters[] = {"pgscan_kswapd", "pgscan_direct", "pgmajfault",
                                                      "compact_migrate_scanned", "thp_collapse_alloc"};
inline constexpr std::size_t kKernelWorkCounterCount = std::size(kKernelWorkCounters);
using KernelWork = std::array<std::uint64_t, kKernelWorkCounterCount>;

// Reads /proc/meminfo, /proc/vmstat and /proc/pressure/memory into a GuestSample
// from descriptors opened once. Each read is a pread at 0 into a fixed buffer.
class GuestFiles {
 public:
  explicit GuestFiles(const SysFs& fs);  // opens the three files under fs's root
  ~GuestFiles();
  GuestFiles(const GuestFiles&) = delete;
  GuestFiles& operator=(const GuestFiles&) = delete;
  GuestSample read(double t);
  // The guest's total memory stall (PSI "some" total=, microseconds) at the last read().
  std::optional<std::uint64_t> memoryStallUsec() const { return memory_stall_usec_; }
  // All CPUs' time by kind (/proc/stat "cpu" line) at the last read().
  std::optional<GuestCpuTimes> cpuTimes() const { return cpu_times_; }
  // kKernelWorkCounters at the last read() (a counter the kernel lacks reads 0).
  std::optional<KernelWork> kernelWork() const { return kernel_work_; }
  // The file the last read() waited longest for, and how long ("" and 0 when none was read).
  const char* slowestFile() const { return slowest_file_; }
  double slowestReadSec() const { return slowest_read_sec_; }

 private:
  struct File {
    const char* name;  // relative to the root: "proc/meminfo"
    int fd = -1;
  };
  // Reads one file into buffer_; the text, or nullopt (the file then goes into `unavailable`).
  std::optional<std::string_view> load(File& f);
  File meminfo_{kGuestMeminfo}, vmstat_{kGuestVmstat}, pressure_{kGuestPressure}, stat_{"proc/stat"};
  std::optional<std::uint64_t> memory_stall_usec_;
  std::optional<GuestCpuTimes> cpu_times_;
  std::optional<KernelWork> kernel_work_;
  const char* slowest_file_ = "";
  double slowest_read_sec_ = 0;
  char buffer_[16 * 1024];
};

// Where a thread's time went, from /proc/thread-self/schedstat: on a CPU, and
// runnable but waiting for one (both in seconds since it started).
struct ThreadCpuTimes {
  double running = 0;
  double waiting = 0;
};

// Pure parsers over a file's text, for tests: no allocation.
std::optional<std::uint64_t> meminfoKb(std::string_view text, std::string_view key);  // "MemAvailable"
std::optional<std::uint64_t> vmstatValue(std::string_view text, std::string_view key);  // "oom_kill"
// "some avg10=0.00 avg60=0.00 avg300=0.00 total=91": the total (microseconds) of `kind`.
std::optional<std::uint64_t> pressureTotalUsec(std::string_view text, std::string_view kind);
// "615394 2783952 2" (ns running, ns waiting on a run queue, time slices).
std::optional<ThreadCpuTimes> parseSchedstat(std::string_view text);
// /proc/stat's first line, "cpu  user nice system idle iowait irq softirq ...", in USER_HZ ticks.
std::optional<GuestCpuTimes> parseProcStatCpu(std::string_view text, double ticks_per_sec);

class Sampler {
 public:
  struct Options {
    double interval_sec = 0.5;
    // A kill waits this long (kernel time) for its oom_reaper line before it goes out.
    double kill_holdback_sec = 0.05;
    // The event loop counts as blocked once its heartbeat is this old.
    double loop_stall_sec = 1.0;
  };
  Sampler(RecordSink& sink, const SysFs& fs, Options options);
  ~Sampler();  // stops the thread
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Opens /dev/kmsg (under the SysFs root) at its end: older records are the boot.
  Expected<void> openKernelLog();
  void start();
  // Stops the thread, then reads the kernel log once more and emits every kill
  // still held back. Idempotent.
  void stop();

  // A unit to sample, once its control group is known.
  void setControlGroup(const std::string& unit, const std::string& control_group);
  // The event loop calls this each time round: how the sampler knows it is alive.
  void heartbeat(double now) { heartbeat_.store(now); }
  // When the run must end even if the event loop is blocked (monotonic seconds;
  // 0: never). At that time the sampler writes the time_limit phase and the end
  // record and exits the process with `status`, unless the stream already ended.
  void setHardEnd(double t, int status) {
    hard_end_status_.store(status);
    hard_end_.store(t);
  }

  // One round now, on the caller's thread: only when the thread is not running.
  void sampleNow();

  // Distinct victims the kernel chose (group-kill members not counted).
  unsigned chosenKills() const { return chosen_kills_.load(); }
  double lastKill() const { return last_kill_.load(); }
  // The oom_score_adj of each process the kernel has OOM-killed in `unit` so far
  // (group-kill members too), as its kill lines said: the setup check's witness for
  // processes that died before it could look (a unit that leaks from READY on).
  std::vector<int> killedAdjustments(const std::string& unit);

 private:
  void run();
  void tick(double now);
  void readKernelLog();
  void emitKills(std::vector<KernelOomKill> kills);
  void attribute(KernelOomKill& kill);
  void noteLoopStall(double now, bool final);
  std::optional<ThreadCpuTimes> readThreadCpuTimes();
  void endHard(double now);
  void loss(double t, const char* what, std::uint64_t count, const std::string& detail);

  RecordSink& sink_;
  const SysFs& fs_;
  Options options_;
  GuestFiles guest_files_;
  std::thread thread_;
  std::atomic<bool> running_{false};  // cleared by stop()
  int wake_fd_ = -1;  // eventfd: stop() wakes the thread's poll

  std::mutex units_mutex_;
  std::map<std::string, std::string> control_groups_;  // unit -> cgroup, guarded
  std::map<std::string, std::vector<int>> killed_adjustments_;  // unit -> adj per kill, guarded

  std::atomic<double> heartbeat_{0};
  std::atomic<double> hard_end_{0};
  std::atomic<int> hard_end_status_{0};
  std::atomic<unsigned> chosen_kills_{0};
  std::atomic<double> last_kill_{0};

  // Owned by the sampling thread (or the caller of sampleNow/stop once it ended).
  int kmsg_fd_ = -1;
  std::vector<char> kmsg_buffer_;
  OomKillParser kmsg_parser_;
  std::uint64_t kmsg_next_seq_ = 0;  // 0: no record read yet
  bool kmsg_epipe_ = false;          // a read said records were overwritten
  std::map<int, std::string> pid_unit_;  // every pid last sampled in a unit
  // Each sampled process's title (SysFs::processTitle), read when the pid is first
  // seen, again when its comm changes (an exec) and at most every kTitleRefreshSec.
  struct Title {
    std::string comm, title;
    double read_at = 0;
  };
  std::map<int, Title> titles_;  // the pids of the last round only
  void nameProcesses(MemorySample& sample, double now, std::map<int, Title>& seen);
  std::vector<int> chosen_pids_;
  double last_tick_ = 0;
  // Where the last round's time went, for the cause of a gap.
  struct Round {
    double total = 0, reads = 0, writes = 0, slowest = 0;
    std::string slowest_file;
  };
  Round round_;
  // Why the sampler itself was late, from what it can see after the fact.
  std::string samplerGapCause(double now, const Round& before, std::optional<ThreadCpuTimes> cpu,
                              std::optional<std::uint64_t> stall_usec, std::optional<GuestCpuTimes> guest_cpu,
                              std::optional<KernelWork> work) const;
  double poll_late_ = 0;  // how late a timed-out poll returned, since the last round
  int schedstat_fd_ = -1;  // this thread's /proc/thread-self/schedstat, opened by the thread
  std::optional<ThreadCpuTimes> last_cpu_;        // at the last round
  std::optional<std::uint64_t> last_stall_usec_;  // the guest's PSI memory "some" total then
  std::optional<GuestCpuTimes> last_guest_cpu_;   // the guest's CPU time then
  std::optional<KernelWork> last_kernel_work_;    // its vmstat counters then
  bool loop_stalled_ = false;
  double loop_stalled_from_ = 0;
};

}  // namespace oom
