#include "stressor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "arena.hpp"
#include "checkpoint.hpp"
#include "health.hpp"
#include "notify.hpp"
#include "oom/clock.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "schedule.hpp"

namespace oom::stress {
namespace {

volatile sig_atomic_t g_stop = 0;
extern "C" void onStop(int) { g_stop = 1; }

// Process 0 (the main process) uses FILE, process N uses FILE.N.
std::string checkpointFileFor(const std::string& file, unsigned index) {
  return index == 0 ? file : file + "." + std::to_string(index);
}

void sleepSec(double s) {
  if (s <= 0) return;
  timespec ts{static_cast<time_t>(s), static_cast<long>((s - static_cast<double>(static_cast<time_t>(s))) * 1e9)};
  ::nanosleep(&ts, nullptr);  // a signal cuts it short, which is what we want
}

// VmRSS of a process; 0 once it has exited (a dead child holds nothing).
std::uint64_t rssBytes(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  FILE* f = std::fopen(path, "re");
  if (!f) return 0;
  char buf[4096];  // /proc/PID/status is about 1.5 KiB
  const std::size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  const auto fields = parseMeminfo(std::string_view(buf, n));
  const auto rss = fields.find("VmRSS");
  return rss == fields.end() ? 0 : rss->second;
}

// Children say "I hold my share" by writing one byte to the parent.
struct Family {
  std::vector<pid_t> children;
  std::vector<bool> alive;
  int ready_read = -1, ready_write = -1;
  unsigned children_ready = 0;
  unsigned children_failed = 0;  // killed by a signal or exited other than 0
  bool supervisor = false;       // --supervisor: the main process ends with its last worker
  bool anyAlive() const { return std::find(alive.begin(), alive.end(), true) != alive.end(); }
};

class Worker {
 public:
  // family: set for the main process of a multi-process stressor; ready_fd: set in
  // a child, which writes one byte there once it holds its share.
  // health: the main process's endpoint (--health-port), opened once everyone is ready.
  Worker(const Options& share, std::uint64_t job_target, unsigned index, Family* family, int ready_fd,
         HealthEndpoint* health = nullptr)
      : o_(share), job_target_(job_target), index_(index), family_(family), ready_fd_(ready_fd),
        health_(health), arena_(share.thp, share.mlock, share.compress_ratio) {}

  int work();

 private:
  void report(Phase phase, double now);
  void watchChildren();
  bool everyoneReady() const {
    if (!family_) return self_ready_;
    // A child that died before it was ready will never be: do not wait for it.
    std::size_t resolved = family_->children_ready;
    for (std::size_t i = 0; i < family_->children.size(); ++i)
      if (!family_->alive[i]) ++resolved;
    return self_ready_ && resolved >= family_->children.size();
  }
  void saveProgress(bool complete);
  bool loadProgress();
  void openHealth();

  Options o_;
  std::uint64_t job_target_;
  unsigned index_;
  Family* family_;  // only the main process has one
  int ready_fd_;
  HealthEndpoint* health_;
  Arena arena_;
  double t0_ = 0, alloc_start_ = 0, last_report_ = 0;
  std::uint64_t last_report_bytes_ = 0;
  std::optional<double> reached_at_;
  bool self_ready_ = false, notified_ = false, already_complete_ = false;
  std::uint64_t resumed_ = 0;
  Checkpoint checkpoint_;
  std::string checkpoint_file_;
};

void Worker::watchChildren() {
  if (!family_) return;
  char buf[64];
  for (ssize_t n; (n = ::read(family_->ready_read, buf, sizeof buf)) > 0;)
    family_->children_ready += static_cast<unsigned>(n);  // one byte per ready child
  int status = 0;
  for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
    for (std::size_t i = 0; i < family_->children.size(); ++i) {
      if (family_->children[i] != pid) continue;
      family_->alive[i] = false;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++family_->children_failed;
      const auto alive = 1 + std::count(family_->alive.begin(), family_->alive.end(), true);
      std::printf("{\"event\":\"child_exited\",\"t\":%.3f,\"pid\":%d,\"process\":%zu,\"signal\":%d,"
                  "\"status\":%d,\"respawn\":false,\"processes_alive\":%ld}\n",
                  monotonicSeconds() - t0_, pid, i + 1, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, static_cast<long>(alive));
      std::fflush(stdout);
    }
  }
}

void Worker::report(Phase phase, double now) {
  const std::uint64_t held = arena_.bytes();
  const double interval = now - last_report_;
  const double elapsed = now - alloc_start_;
  const double rate_now = interval > 0 ? static_cast<double>(held) - static_cast<double>(last_report_bytes_) : 0;
  std::uint64_t rss = rssBytes(::getpid());
  unsigned alive = 1;
  if (family_) {
    for (std::size_t i = 0; i < family_->children.size(); ++i)
      if (family_->alive[i]) {
        ++alive;
        rss += rssBytes(family_->children[i]);
      }
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "{\"t\":%.3f,\"pid\":%d,\"process\":%u,\"phase\":\"%s\",\"processes_alive\":%u,"
                "\"bytes_allocated\":%lu,\"rss_bytes\":%lu,\"rss_scope\":\"%s\","
                "\"rate_bps_interval\":%.0f,\"rate_bps_overall\":%.0f,\"time_to_target\":%.3f,"
                "\"resumed_from\":%lu}\n",
                now - t0_, ::getpid(), index_, phaseName(phase), alive, held, rss,
                family_ ? "all processes" : "this process", interval > 0 ? rate_now / interval : 0,
                elapsed > 0 ? static_cast<double>(held) / elapsed : 0,
                reached_at_ ? *reached_at_ : -1.0, resumed_);
  std::fputs(line, stdout);
  std::fflush(stdout);
  if (index_ == 0) {
    notifySystemd(std::string("STATUS=") + phaseName(phase) + " " + formatSize(held) + " of " +
                  formatSize(o_.target) + " in this process, " + std::to_string(alive) +
                  " processes alive");
  }
  last_report_ = now;
  last_report_bytes_ = held;
}

void Worker::saveProgress(bool complete) {
  if (checkpoint_file_.empty()) return;
  std::uint64_t held = arena_.bytes();
  if (spikeActive(o_, monotonicSeconds() - alloc_start_))
    held -= std::min(held, o_.spike->bytes);  // a spike is load, not work
  checkpoint_.done = workDone(o_, resumed_, held, reached_at_.has_value());
  checkpoint_.complete = complete;
  if (auto saved = saveCheckpoint(checkpoint_file_, checkpoint_); !saved)
    std::fprintf(stderr, "oomstress: %s\n", saved.error().str().c_str());
}

void Worker::openHealth() {
  if (!health_) return;
  if (auto listening = health_->listen(); !listening) {
    std::fprintf(stderr, "oomstress: %s\n", listening.error().str().c_str());
    return;
  }
  std::printf("{\"event\":\"listening\",\"t\":%.3f,\"pid\":%d,\"port\":%u}\n", monotonicSeconds() - t0_,
              ::getpid(), static_cast<unsigned>(o_.health_port));
  std::fflush(stdout);
}

// Returns false when the job must not run (unreadable checkpoint: exit 2).
bool Worker::loadProgress() {
  checkpoint_file_ = checkpointFileFor(o_.checkpoint, index_);
  auto loaded = loadCheckpoint(checkpoint_file_);
  if (!loaded) {
    std::fprintf(stderr, "oomstress: --checkpoint: %s\n", loaded.error().str().c_str());
    return false;
  }
  checkpoint_.target = o_.target;
  checkpoint_.job_target = job_target_;
  checkpoint_.leak = o_.leak;
  if (*loaded && ((*loaded)->target != o_.target || (*loaded)->leak != o_.leak)) {
    std::printf("{\"event\":\"checkpoint_ignored\",\"pid\":%d,\"reason\":\"different job "
                "(--target or --leak changed)\",\"file\":\"%s\"}\n",
                ::getpid(), checkpoint_file_.c_str());
  } else if (*loaded) {
    checkpoint_ = **loaded;
    resumed_ = checkpoint_.done;
    already_complete_ = checkpoint_.complete;
    std::printf("{\"event\":\"resumed\",\"pid\":%d,\"process\":%u,\"resumed_from\":%lu,"
                "\"target\":%lu,\"complete\":%s,\"runs\":%u}\n",
                ::getpid(), index_, resumed_, o_.target, already_complete_ ? "true" : "false",
                checkpoint_.runs);
  }
  std::fflush(stdout);
  ++checkpoint_.runs;
  return true;
}

int Worker::work() {
  t0_ = monotonicSeconds();
  if (!o_.checkpoint.empty()) {
    if (!loadProgress()) return 2;
    if (already_complete_) {  // nothing left to do: a restarted finished job just exits
      alloc_start_ = last_report_ = monotonicSeconds();
      report(Phase::exiting, alloc_start_);
      return 0;
    }
  }
  alloc_start_ = last_report_ = t0_;
  while (!g_stop && monotonicSeconds() - t0_ < o_.start_after_sec) {
    watchChildren();
    if (const double now = monotonicSeconds(); now - last_report_ >= o_.report_interval_sec)
      report(Phase::waiting, now);
    sleepSec(std::min(0.05, o_.start_after_sec - (monotonicSeconds() - t0_)));
  }
  alloc_start_ = last_report_ = monotonicSeconds();
  Phase phase = Phase::ramping;
  while (!g_stop) {
    const double now = monotonicSeconds();
    const ScheduleInput in{now - alloc_start_, reached_at_, resumed_};
    const std::uint64_t want = desiredBytes(o_, in);
    phase = phaseAt(o_, in);
    if (arena_.bytes() < want) {
      if (arena_.grow(want - arena_.bytes()) == 0) sleepSec(0.01);  // mmap refused: retry
      if (const auto error = arena_.takeNewError(); !error.empty())
        std::fprintf(stderr, "oomstress: %s\n", error.c_str());
    } else if (arena_.bytes() > want) {
      arena_.shrinkTo(want);
    }
    if (!reached_at_ && arena_.bytes() >= o_.target) {
      reached_at_ = monotonicSeconds() - alloc_start_;
      self_ready_ = true;
      if (ready_fd_ >= 0) {
        (void)!::write(ready_fd_, "r", 1);
        ::close(ready_fd_);
        ready_fd_ = -1;
      }
    }
    watchChildren();
    if (family_ && family_->supervisor && !family_->anyAlive()) break;  // its last worker is gone
    if (self_ready_ && !notified_ && everyoneReady()) {
      notified_ = true;
      if (index_ == 0) notifySystemd("READY=1");
      openHealth();
    }
    if (health_ && health_->listening())
      health_->answer([&] {
        // The phase now (this iteration's was read before it grew to the target).
        const Phase current = phaseAt(o_, {monotonicSeconds() - alloc_start_, reached_at_, resumed_});
        return "oomstress pid " + std::to_string(::getpid()) + ": " + phaseName(current) + ", " +
               formatSize(arena_.bytes()) + " held";
      });
    if (now - last_report_ >= o_.report_interval_sec) {
      report(phase, now);
      saveProgress(false);
    }
    if (!o_.checkpoint.empty()) {
      if (workComplete(o_, {now - alloc_start_, reached_at_, resumed_})) {
        saveProgress(true);
        std::printf("{\"event\":\"complete\",\"pid\":%d,\"process\":%u,\"work_bytes\":%lu}\n",
                    ::getpid(), index_, o_.target);
        std::fflush(stdout);
        break;
      }
    } else if (reached_at_ && o_.hold_sec && now - alloc_start_ - *reached_at_ >= *o_.hold_sec) {
      break;
    }
    // Caught up with the schedule: wait a little (often while a rate is paced,
    // less often while holding). Behind it: allocate again at once.
    if (arena_.bytes() >= want) sleepSec(phase == Phase::holding ? 0.02 : 0.005);
  }
  report(Phase::exiting, monotonicSeconds());
  if (family_ && family_->supervisor && !family_->anyAlive()) return family_->children_failed ? 1 : 0;
  return 0;
}

}  // namespace

int stressMemory(const Options& given) {
  Options whole = given;
  if (!whole.checkpoint.empty()) {
    // The checkpoint's folder may not exist yet on a fresh guest.
    std::error_code ignored;
    const auto dir = std::filesystem::path(whole.checkpoint).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ignored);
  }
  if (whole.target_from_checkpoint) {
    auto loaded = loadCheckpoint(whole.checkpoint);
    if (!loaded || !*loaded) {
      std::fprintf(stderr, "oomstress: --target: required: %s\n",
                   loaded ? ("no checkpoint to resume in " + whole.checkpoint).c_str()
                          : loaded.error().str().c_str());
      return 2;
    }
    whole.target = (*loaded)->job_target;
  }
  // Every process's checkpoint must be readable before any process starts.
  for (unsigned i = 0; !whole.checkpoint.empty() && i < whole.processes; ++i) {
    const std::string file = checkpointFileFor(whole.checkpoint, i);
    if (auto loaded = loadCheckpoint(file); !loaded) {
      std::fprintf(stderr, "oomstress: --checkpoint: %s\n", loaded.error().str().c_str());
      return 2;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  // Bound before any child exists, so a port already taken stops everything at once.
  std::optional<HealthEndpoint> health;
  if (whole.health_port != 0) {
    auto bound = HealthEndpoint::bind(whole.health_port);
    if (!bound) {
      std::fprintf(stderr, "oomstress: %s\n", bound.error().str().c_str());
      return 2;
    }
    health.emplace(std::move(*bound));
  }
  Family family;
  family.supervisor = whole.supervisor;
  // With --supervisor every one of --processes is a worker forked by a main process
  // that holds nothing; without it the main process is worker 0.
  const unsigned forked = whole.supervisor ? whole.processes : whole.processes - 1;
  int pipe_fds[2];
  if (forked > 0) {
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      std::perror("oomstress: pipe");
      return 1;
    }
    family.ready_read = pipe_fds[0];
    family.ready_write = pipe_fds[1];
  }
  for (unsigned i = 1; i <= forked; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("oomstress: fork");
      break;
    }
    if (pid == 0) {
      ::close(family.ready_read);
      health.reset();  // only the main process answers: its death must close the port
      Worker child(shareFor(whole, whole.supervisor ? i - 1 : i), whole.target, i, nullptr, family.ready_write);
      const int status = child.work();
      std::fflush(stdout);
      ::_exit(status);
    }
    family.children.push_back(pid);
    family.alive.push_back(true);
  }
  if (family.ready_write >= 0) ::close(family.ready_write);
  Worker main_worker(whole.supervisor ? supervisorShare(whole) : shareFor(whole, 0), whole.target, 0,
                     forked > 0 ? &family : nullptr, -1, health ? &*health : nullptr);
  const int status = main_worker.work();
  for (std::size_t i = 0; i < family.children.size(); ++i)
    if (family.alive[i]) ::kill(family.children[i], SIGTERM);
  for (std::size_t i = 0; i < family.children.size(); ++i)
    if (family.alive[i]) ::waitpid(family.children[i], nullptr, 0);
  return status;
}

}  // namespace oom::stress
