#include "guest/sampler.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "oom/clock.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

// A /dev/kmsg record is at most about 8 KiB with its dictionary.
constexpr std::size_t kKmsgRecordMax = 16 * 1024;
// How old a process title may grow before it is read again: a title changes
// seldom (nginx sets its worker's once, after the fork), and the kernel reads it
// from the process's own memory, which under pressure may be slow to reach.
constexpr double kTitleRefreshSec = 5.0;

// Text of the key's line in "Key: value" / "key value" files, allocation-free.
std::optional<std::string_view> lineValue(std::string_view text, std::string_view key, char separator) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == separator)
      return line.substr(key.size() + 1);
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> meminfoKb(std::string_view text, std::string_view key) {
  const auto value = lineValue(text, key, ':');
  if (!value) return std::nullopt;
  return leadingNumber<std::uint64_t>(*value);
}

std::optional<std::uint64_t> vmstatValue(std::string_view text, std::string_view key) {
  const auto value = lineValue(text, key, ' ');
  if (!value) return std::nullopt;
  return leadingNumber<std::uint64_t>(*value);
}

std::optional<std::uint64_t> pressureTotalUsec(std::string_view text, std::string_view kind) {
  const auto value = lineValue(text, kind, ' ');
  if (!value) return std::nullopt;
  const auto at = value->find("total=");
  if (at == std::string_view::npos) return std::nullopt;
  return leadingNumber<std::uint64_t>(value->substr(at + 6));
}

std::optional<ThreadCpuTimes> parseSchedstat(std::string_view text) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto run_ns = leadingNumber<std::uint64_t>(text.substr(0, space));
  const auto wait_ns = leadingNumber<std::uint64_t>(text.substr(space + 1));
  if (!run_ns || !wait_ns) return std::nullopt;
  return ThreadCpuTimes{static_cast<double>(*run_ns) / 1e9, static_cast<double>(*wait_ns) / 1e9};
}

std::optional<GuestCpuTimes> parseProcStatCpu(std::string_view text, double ticks_per_sec) {
  const auto value = lineValue(text, "cpu", ' ');
  if (!value || ticks_per_sec <= 0) return std::nullopt;
  std::uint64_t field[7] = {};  // user nice system idle iowait irq softirq
  std::string_view rest = *value;
  for (auto& f : field) {
    rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
    const auto n = leadingNumber<std::uint64_t>(rest.substr(0, rest.find(' ')));
    if (!n) return std::nullopt;
    f = *n;
    rest.remove_prefix(std::min(rest.find(' '), rest.size()));
  }
  const auto s = [&](std::uint64_t ticks) { return static_cast<double>(ticks) / ticks_per_sec; };
  return GuestCpuTimes{s(field[0] + field[1]), s(field[2] + field[5] + field[6]), s(field[3] + field[4])};
}

GuestFiles::GuestFiles(const SysFs& fs) {
  for (File* f : {&meminfo_, &vmstat_, &pressure_, &stat_}) {
    const std::string path = fs.path(f->name);
    f->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
}

GuestFiles::~GuestFiles() {
  for (File* f : {&meminfo_, &vmstat_, &pressure_, &stat_})
    if (f->fd >= 0) ::close(f->fd);
}

std::optional<std::string_view> GuestFiles::load(File& f) {
  if (f.fd < 0) return std::nullopt;
  const double t0 = monotonicSeconds();
  ssize_t n;
  do n = ::pread(f.fd, buffer_, sizeof buffer_, 0);
  while (n < 0 && errno == EINTR);
  if (const double took = monotonicSeconds() - t0; took > slowest_read_sec_) {
    slowest_read_sec_ = took;
    slowest_file_ = f.name;
  }
  if (n <= 0) return std::nullopt;
  return std::string_view(buffer_, static_cast<std::size_t>(n));
}

GuestSample GuestFiles::read(double t) {
  slowest_read_sec_ = 0;
  slowest_file_ = "";
  GuestSample g;
  g.t = t;
  bool ok = false;
  if (auto text = load(meminfo_)) {
    const auto available = meminfoKb(*text, "MemAvailable");
    const auto swap_free = meminfoKb(*text, "SwapFree");
    if (available && swap_free) {
      g.mem_available_bytes = *available * 1024;
      g.swap_free_bytes = *swap_free * 1024;
      ok = true;
    }
  }
  if (!ok) g.unavailable.emplace_back(meminfo_.name);
  ok = false;
  kernel_work_.reset();
  if (auto text = load(vmstat_)) {
    if (auto kills = vmstatValue(*text, "oom_kill")) {
      g.oom_kill_total = *kills;
      ok = true;
    }
    KernelWork work{};  // not part of the sample: what a sampler gap's cause says the kernel did
    for (std::size_t i = 0; i < kKernelWorkCounterCount; ++i)
      work[i] = vmstatValue(*text, kKernelWorkCounters[i]).value_or(0);
    kernel_work_ = work;
  }
  if (!ok) g.unavailable.emplace_back(vmstat_.name);
  ok = false;
  memory_stall_usec_.reset();
  if (auto text = load(pressure_)) {
    memory_stall_usec_ = pressureTotalUsec(*text, "some");
    const auto some = parsePressureAvg10(*text, "some");
    const auto full = parsePressureAvg10(*text, "full");
    if (some && full) {
      g.pressure_some_avg10 = *some;
      g.pressure_full_avg10 = *full;
      ok = true;
    }
  }
  if (!ok) g.unavailable.emplace_back(pressure_.name);
  // Not part of the sample: what a sampler gap's cause says the CPUs were doing.
  cpu_times_.reset();
  if (auto text = load(stat_)) cpu_times_ = parseProcStatCpu(*text, static_cast<double>(::sysconf(_SC_CLK_TCK)));
  return g;
}

Sampler::Sampler(RecordSink& sink, const SysFs& fs, Options options)
    : sink_(sink),
      fs_(fs),
      options_(options),
      guest_files_(fs),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      kmsg_buffer_(kKmsgRecordMax) {}

Sampler::~Sampler() {
  stop();
  if (kmsg_fd_ >= 0) ::close(kmsg_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Expected<void> Sampler::openKernelLog() {
  const std::string path = fs_.path("dev/kmsg");
  kmsg_fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (kmsg_fd_ < 0) return fail(path, std::strerror(errno));
  ::lseek(kmsg_fd_, 0, SEEK_END);
  return {};
}

void Sampler::start() {
  if (thread_.joinable()) return;
  running_.store(true);
  thread_ = std::thread([this] { run(); });
  // Ahead of every ordinary task when the guest thrashes; the kernel's RT
  // throttling still leaves 5% of each second to the rest.
  sched_param param{};
  param.sched_priority = 1;
  if (const int r = pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &param); r != 0)
    std::fprintf(stderr, "oomharness-guest: sampler keeps normal priority: %s\n", std::strerror(r));
}

void Sampler::stop() {
  if (!thread_.joinable()) return;
  running_.store(false);
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  thread_.join();
  readKernelLog();
  emitKills(kmsg_parser_.flushAll());
}

void Sampler::setControlGroup(const std::string& unit, const std::string& control_group) {
  std::lock_guard<std::mutex> lock(units_mutex_);
  control_groups_[unit] = control_group;
}

void Sampler::run() {
  // This thread's own: /proc/thread-self names the thread that opens it.
  schedstat_fd_ = ::open(fs_.path("proc/thread-self/schedstat").c_str(), O_RDONLY | O_CLOEXEC);
  double next_tick = monotonicSeconds();
  while (running_.load() && !sink_.ended()) {
    double now = monotonicSeconds();
    const double hard_end = hard_end_.load();
    if (hard_end > 0 && now >= hard_end) {
      endHard(now);  // returns only if the event loop ended the stream first
      return;
    }
    if (now >= next_tick) {
      tick(now);
      next_tick += options_.interval_sec;
      if (next_tick <= now) next_tick = now + options_.interval_sec;  // late: no burst to catch up
    }
    now = monotonicSeconds();
    double wait = next_tick - now;
    if (hard_end > 0) wait = std::min(wait, hard_end - now);
    if (kmsg_parser_.hasPending()) wait = std::min(wait, options_.kill_holdback_sec / 2);
    pollfd fds[2] = {{kmsg_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int timeout_ms = static_cast<int>(std::ceil(std::max(wait, 0.0) * 1000));
    const double woke_due = monotonicSeconds() + timeout_ms / 1000.0;
    const int ready = ::poll(fds, 2, timeout_ms);
    if (ready == 0) poll_late_ = std::max(poll_late_, monotonicSeconds() - woke_due);
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLERR))) readKernelLog();
    emitKills(kmsg_parser_.flush(monotonicSeconds(), options_.kill_holdback_sec));
  }
  if (schedstat_fd_ >= 0) ::close(schedstat_fd_);
  schedstat_fd_ = -1;
}

std::optional<ThreadCpuTimes> Sampler::readThreadCpuTimes() {
  if (schedstat_fd_ < 0) return std::nullopt;
  char text[128];
  const ssize_t n = ::pread(schedstat_fd_, text, sizeof text - 1, 0);
  if (n <= 0) return std::nullopt;
  return parseSchedstat(std::string_view(text, static_cast<std::size_t>(n)));
}

void Sampler::sampleNow() {
  if (!thread_.joinable()) tick(monotonicSeconds());
}

void Sampler::tick(double now) {
  const Round before = round_;  // the last round, for the cause of a gap
  round_ = Round{};
  auto timed = [&](double& into, auto&& f) {
    const double t0 = monotonicSeconds();
    f();
    const double dt = monotonicSeconds() - t0;
    into += dt;
    return dt;
  };
  GuestSample g;
  const double guest_read = timed(round_.reads, [&] { g = guest_files_.read(now); });
  if (guest_read > round_.slowest)
    round_.slowest = guest_read, round_.slowest_file = std::string("proc (meminfo, vmstat, pressure, stat; slowest ") +
                                                       guest_files_.slowestFile() + " " +
                                                       formatTenths(guest_files_.slowestReadSec()) + ")";
  const auto cpu = readThreadCpuTimes();
  const auto stall = guest_files_.memoryStallUsec();
  const auto guest_cpu = guest_files_.cpuTimes();
  const auto work = guest_files_.kernelWork();
  if (last_tick_ > 0 && now - last_tick_ > sampleGapAfterSec(options_.interval_sec))
    sink_.emit(kRecordObserverGap,
               ObserverGap{last_tick_, now - last_tick_, samplerGapCause(now, before, cpu, stall, guest_cpu, work)});
  last_tick_ = now;
  poll_late_ = 0;
  last_cpu_ = cpu;
  last_stall_usec_ = stall;
  last_guest_cpu_ = guest_cpu;
  last_kernel_work_ = work;
  noteLoopStall(now, false);
  timed(round_.writes, [&] { sink_.emit(kRecordGuestSample, g); });
  std::map<std::string, std::string> units;
  {
    std::lock_guard<std::mutex> lock(units_mutex_);
    units = control_groups_;
  }
  std::map<int, Title> seen;
  for (const auto& entry : units) {  // not a structured binding: clang 14 cannot capture one
    const std::string& unit = entry.first;
    const std::string& cg = entry.second;
    if (cg.empty()) continue;
    std::optional<MemorySample> sample;
    const double read = timed(round_.reads, [&] {
      sample = fs_.sample(unit, cg, now);
      if (sample) nameProcesses(*sample, now, seen);
    });
    if (read > round_.slowest) round_.slowest = read, round_.slowest_file = unit + "'s cgroup and processes";
    if (!sample) continue;
    for (const auto& p : sample->processes) pid_unit_[p.pid] = unit;
    timed(round_.writes, [&] { sink_.emit(kRecordSample, *sample); });
  }
  titles_ = std::move(seen);
  round_.total = monotonicSeconds() - now;
}

void Sampler::nameProcesses(MemorySample& sample, double now, std::map<int, Title>& seen) {
  for (auto& p : sample.processes) {
    auto known = titles_.find(p.pid);
    Title title = known != titles_.end() ? known->second : Title{};
    if (known == titles_.end() || title.comm != p.comm || now - title.read_at >= kTitleRefreshSec) {
      // Unreadable (a zombie, a kernel thread): no title, and comm stands alone.
      title = {p.comm, fs_.processTitle(p.pid).value_or(""), now};
    }
    p.cmdline = title.title;
    seen[p.pid] = std::move(title);
  }
}

std::string Sampler::samplerGapCause(double now, const Round& before, std::optional<ThreadCpuTimes> cpu,
                                     std::optional<std::uint64_t> stall_usec,
                                     std::optional<GuestCpuTimes> guest_cpu,
                                     std::optional<KernelWork> work) const {
  // What the sampler knows of where the time went: its own last round (reads,
  // writes), how late its poll woke, and since the last round its time on and
  // waiting for a CPU (schedstat), the guest's memory stall (PSI) and what its CPUs did (/proc/stat).
  const double gap = now - last_tick_;
  std::string cause = std::string(kGapSampler) + ": no sample for " + formatTenths(gap) + " (planned every " +
                      formatTenths(options_.interval_sec) + "); the round before took " + formatTenths(before.total) +
                      " (reads " + formatTenths(before.reads) +
                      (before.slowest_file.empty() ? "" : ", slowest " + before.slowest_file + " " + formatTenths(before.slowest)) +
                      "; writing records " + formatTenths(before.writes) + "), its wait woke " + formatTenths(poll_late_) +
                      " late";
  if (cpu && last_cpu_) {
    const double waiting = cpu->waiting - last_cpu_->waiting;
    cause += "; meanwhile it waited " + formatTenths(waiting) + " for a CPU and ran " +
             formatTenths(cpu->running - last_cpu_->running);
    // Late to wake and not waiting for a CPU: the wake-up itself came late (the
    // guest kernel held its timer off, or the host did not run the guest's vCPU).
    if (poll_late_ > gap / 2 && waiting < poll_late_ / 4) cause += " (its wake-up itself came late)";
  }
  if (stall_usec && last_stall_usec_ && *stall_usec >= *last_stall_usec_)
    cause += "; the guest's memory stall (PSI some) grew " +
             formatTenths(static_cast<double>(*stall_usec - *last_stall_usec_) / 1e6);
  if (guest_cpu && last_guest_cpu_)  // all CPUs together: up to the gap times their number
    cause += "; the guest's CPUs meanwhile: kernel " + formatTenths(guest_cpu->kernel - last_guest_cpu_->kernel) +
             ", user " + formatTenths(guest_cpu->user - last_guest_cpu_->user) + ", idle " +
             formatTenths(guest_cpu->idle - last_guest_cpu_->idle);
  if (work && last_kernel_work_) {
    std::string grew;
    for (std::size_t i = 0; i < kKernelWorkCounterCount; ++i)
      if ((*work)[i] > (*last_kernel_work_)[i])
        grew += std::string(grew.empty() ? "" : ", ") + kKernelWorkCounters[i] + " +" +
                std::to_string((*work)[i] - (*last_kernel_work_)[i]);
    cause += "; vmstat meanwhile: " + (grew.empty() ? std::string("no reclaim, major fault or compaction") : grew);
  }
  return cause;
}

void Sampler::noteLoopStall(double now, bool final) {
  const double beat = heartbeat_.load();
  if (beat <= 0) return;  // the loop has not started beating
  if (!loop_stalled_ && now - beat > options_.loop_stall_sec) {
    loop_stalled_ = true;
    loop_stalled_from_ = beat;
  }
  if (!loop_stalled_) return;
  const bool resumed = beat > loop_stalled_from_;
  if (!resumed && !final) return;
  const double until = resumed ? beat : now;
  sink_.emit(kRecordObserverGap,
             ObserverGap{loop_stalled_from_, until - loop_stalled_from_,
                         std::string(kGapEventLoop) + " for " + formatTenths(until - loop_stalled_from_) +
                             (resumed ? "" : " (still blocked at the end)") +
                             ": systemd's signals and the journal were read late, with the time they were read"});
  loop_stalled_ = false;
}

void Sampler::loss(double t, const char* what, std::uint64_t count, const std::string& detail) {
  sink_.emit(kRecordLoss, Loss{t, "kmsg", what, count, detail});
}

void Sampler::readKernelLog() {
  if (kmsg_fd_ < 0) return;
  while (true) {
    const ssize_t n = ::read(kmsg_fd_, kmsg_buffer_.data(), kmsg_buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {  // records overwritten before we read them; the next read goes on
        kmsg_epipe_ = true;
        continue;
      }
      return;  // EAGAIN: nothing more now
    }
    if (n == 0) return;
    auto record = parseKmsgRecord(std::string_view(kmsg_buffer_.data(), static_cast<std::size_t>(n)));
    if (!record) {
      loss(monotonicSeconds(), "unparsable_record", 1,
           printable(std::string_view(kmsg_buffer_.data(), std::min<std::size_t>(static_cast<std::size_t>(n), 200))));
      continue;
    }
    if (kmsg_next_seq_ > 0 && record->seq > kmsg_next_seq_)
      loss(record->t, "sequence_gap", record->seq - kmsg_next_seq_,
           "kernel log records " + std::to_string(kmsg_next_seq_) + ".." + std::to_string(record->seq - 1) +
               " were overwritten before the observer read them" + (kmsg_epipe_ ? " (read returned EPIPE)" : ""));
    else if (kmsg_epipe_)
      loss(record->t, "epipe", 1, "a read of /dev/kmsg returned EPIPE: records were overwritten");
    kmsg_epipe_ = false;
    kmsg_next_seq_ = record->seq + 1;
    auto fed = kmsg_parser_.feed(*record);
    if (fed.oom_related) sink_.emit(kRecordKmsg, {{"t", record->t}, {"line", record->text}});
    emitKills(std::move(fed.finished));
  }
}

void Sampler::attribute(KernelOomKill& kill) {
  const auto seen = pid_unit_.find(kill.pid);
  if (seen == pid_unit_.end()) return;
  // A kill printed without its report names no cgroup; one that follows a group
  // kill's report looks like a member of that group, but the observer last saw
  // its pid in another unit. Either way the pid's unit is the better witness.
  const bool reportless = kill.attribution == kAttributionUnknown;
  const bool foreign_member = kill.group_kill && seen->second != kill.unit;
  if (!reportless && !foreign_member) return;
  kill.group_kill = false;
  kill.unit = seen->second;
  kill.attribution = kAttributionByPid;
  std::lock_guard<std::mutex> lock(units_mutex_);
  if (const auto cg = control_groups_.find(kill.unit); cg != control_groups_.end()) kill.task_memcg = cg->second;
}

void Sampler::emitKills(std::vector<KernelOomKill> kills) {
  for (auto& kill : kills) {
    attribute(kill);
    if (const auto title = titles_.find(kill.pid); title != titles_.end()) kill.cmdline = title->second.title;
    if (kill.attribution == kAttributionUnknown)
      loss(kill.t, "unattributed_kill", 1,
           "pid " + std::to_string(kill.pid) + " (" + printable(kill.comm) +
               "): the kernel printed no report for this kill and the observer never sampled the pid in a unit");
    kill.seen_t = monotonicSeconds();
    // The time first, then the count: the runner settles once the count is reached and
    // the last kill is settle_sec old, and must never see the new count with the old
    // time (it settled 0.3 s after a decisive kill, before systemd's Result came).
    last_kill_.store(kill.seen_t);
    if (!kill.group_kill && std::find(chosen_pids_.begin(), chosen_pids_.end(), kill.pid) == chosen_pids_.end()) {
      chosen_pids_.push_back(kill.pid);
      ++chosen_kills_;
    }
    if (!kill.unit.empty()) {
      std::lock_guard lock(units_mutex_);
      killed_adjustments_[kill.unit].push_back(kill.oom_score_adj);
    }
    sink_.emit(kRecordOomKill, kill);
  }
}

std::vector<int> Sampler::killedAdjustments(const std::string& unit) {
  std::lock_guard lock(units_mutex_);
  const auto it = killed_adjustments_.find(unit);
  return it == killed_adjustments_.end() ? std::vector<int>{} : it->second;
}

void Sampler::endHard(double now) {
  readKernelLog();
  emitKills(kmsg_parser_.flushAll());
  tick(now);
  noteLoopStall(now, true);
  const double beat = heartbeat_.load();
  sink_.emit(kRecordPhase,
             Phase{now, kPhaseTimeLimit,
                   "hard end: the time limit passed and the event loop (last alive " + formatTenths(now - beat) +
                       " before) had not ended the run; the sampler ended it"});
  const int status = hard_end_status_.load();
  if (sink_.end(status)) {
    std::fprintf(stderr, "oomharness-guest: hard end at the time limit\n");
    ::_exit(status);
  }
  // Otherwise the event loop ended the stream a moment before: it finishes the run.
}

}  // namespace oom
