#pragma once
// The observer: records, on one clock (CLOCK_MONOTONIC), what the kernel did
// (/dev/kmsg), what systemd said (D-Bus signals, the journal) and what the
// cgroups held (sampled). It never judges; it streams evidence to the
// RecordSink as it happens. Two threads: this sd-event loop for systemd (D-Bus,
// the journal), which may block on a thrashing guest, and the Sampler for the
// kernel log and the samples, which must not (guest/sampler.hpp).
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "guest/command.hpp"
#include "live/bus.hpp"
#include "guest/record_sink.hpp"
#include "guest/sampler.hpp"
#include "live/sysfs.hpp"
#include "oom/clock.hpp"
#include "plan/guest_plan.hpp"
#include "timeline/timeline.hpp"

namespace oom {

class Observer {
 public:
  Observer(Bus& bus, RecordSink& sink, const GuestPlan& plan, const SysFs& fs);
  ~Observer();
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  // Opens the kernel log and journal at their ends and subscribes to systemd,
  // before any unit starts, so nothing is missed.
  Expected<void> start();
  // Runs the event loop until `done()` is true or `deadline` (monotonic seconds).
  // Returns true when done() became true. The one way the guest waits for anything
  // (a D-Bus reply, a job, a child process): signals and heartbeats go on meanwhile.
  template <typename Pred>
  bool runUntil(Pred done, double deadline) {
    while (true) {
      runDeferred();
      if (done()) break;
      const double now = monotonicSeconds();
      sampler_.heartbeat(now);
      const double left = deadline - now;
      if (left <= 0) return false;
      sd_event_run(event_, static_cast<std::uint64_t>(std::min(left, 0.2) * 1e6));
    }
    return true;
  }
  // A child's output, read as it comes while the loop runs; the child is killed
  // if it has not ended by `deadline`.
  Expected<std::string> commandOutput(Expected<ChildCommand> child, double deadline);
  // The run ends at `t` even if this loop is blocked then (Sampler::setHardEnd).
  void setHardEnd(double t, int status) { sampler_.setHardEnd(t, status); }

  void watchUnit(const std::string& unit);  // call before starting it
  // The containers of `unit` run in scopes of their own (Podman's --cgroups=enabled,
  // outside the unit): each one Podman starts for it (its journal event) is watched
  // and sampled like a unit, as "libpod-<id>.scope", restarts included.
  void watchContainerScopesOf(const std::string& unit) { container_scope_units_.insert(unit); }
  // Job path -> JobRemoved result ("done", "failed", "timeout", ...), once known.
  std::optional<std::string> jobResult(const std::string& job) const;
  void refreshUnit(const std::string& unit);  // GetAll, emit "unit_state" if it changed
  // One "guest_sample" and one "sample" per unit, now, from this thread: only
  // before start() or after finish() (the sampler thread samples in between).
  void sampleAll();
  // Emit whatever is still pending, stop the sampler, take a last sample.
  void finish();
  std::string controlGroup(const std::string& unit);

  // Distinct victims the kernel chose (group-kill members not counted).
  // Victims the kernel chose, and units systemd-oomd killed (UNIT_OOMD_KILL).
  unsigned chosenKills() const { return sampler_.chosenKills() + oomd_kills_; }
  std::vector<int> killedAdjustments(const std::string& unit) { return sampler_.killedAdjustments(unit); }
  // Last unit state change or kernel kill: the run has settled when this is old.
  double lastActivity() const { return std::max({last_state_change_, sampler_.lastKill(), last_oomd_kill_}); }

 private:
  struct UnitWatch {
    UnitStateChange state;       // assembled from signals and Get replies
    UnitStateChange emitted;     // last one sent
    bool ever_emitted = false;
    double dirty_since = 0;      // Service-interface change waiting for its Unit signal
    std::string control_group;
  };
  static int onJournal(sd_event_source*, int fd, uint32_t, void* self);
  static int onTimer(sd_event_source*, uint64_t, void* self);
  static int onPropertiesChanged(sd_bus_message* m, void* self, sd_bus_error*);
  static int onJobRemoved(sd_bus_message* m, void* self, sd_bus_error*);
  static int onUnitNewOrRemoved(sd_bus_message* m, void* self, sd_bus_error*);
  static int onCommandOutput(sd_event_source* s, int fd, uint32_t, void* child);
  void readJournal();
  void watchContainerScope(const JournalRecord& podman_event);
  // What a handler needs D-Bus for (a property read, a unit's control group) runs
  // after the dispatch, where a call waits in the loop, in the order the signals came.
  void defer(std::function<void()> work) { deferred_.push_back(std::move(work)); }
  void runDeferred();
  void dbusLoss(const std::string& detail);
  void emitIfChanged(const std::string& unit, UnitWatch& w, double t);

  Bus& bus_;
  RecordSink& sink_;
  const SysFs& fs_;
  sd_event* event_ = nullptr;
  sd_journal* journal_ = nullptr;
  std::vector<sd_bus_slot*> slots_;
  std::vector<sd_event_source*> sources_;
  Sampler sampler_;
  std::map<std::string, std::string> path_to_unit_;
  std::set<std::string> unit_names_;
  std::set<std::string> container_scope_units_;
  std::map<std::string, UnitWatch> units_;
  std::map<std::string, std::string> job_results_;
  unsigned oomd_kills_ = 0;
  double last_oomd_kill_ = 0;
  std::deque<std::function<void()>> deferred_;
  bool running_deferred_ = false;
  std::set<std::string> journal_seen_;  // entries kept, by time, ID, invocation and text
  double last_state_change_ = 0;
};

}  // namespace oom
