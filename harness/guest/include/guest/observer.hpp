#pragma once
// The observer: records, on one clock (CLOCK_MONOTONIC), what the kernel did
// (/dev/kmsg), what systemd said (D-Bus signals, the journal) and what the
// cgroups held (sampled). It never judges; it streams evidence to the
// RecordSink as it happens. One sd-event loop, no threads.
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "guest/bus.hpp"
#include "guest/kmsg_parser.hpp"
#include "guest/record_sink.hpp"
#include "guest/sysfs.hpp"
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
  // Returns true when done() became true.
  template <typename Pred>
  bool runUntil(Pred done, double deadline) {
    while (!done()) {
      const double left = deadline - monotonicSeconds();
      if (left <= 0) return false;
      sd_event_run(event_, static_cast<std::uint64_t>(std::min(left, 0.2) * 1e6));
    }
    return true;
  }

  void watchUnit(const std::string& unit);  // call before starting it
  // Job path -> JobRemoved result ("done", "failed", "timeout", ...), once known.
  std::optional<std::string> jobResult(const std::string& job) const;
  void refreshUnit(const std::string& unit);  // GetAll, emit "unit_state" if it changed
  void sampleAll();                           // one "sample" record per unit
  void finish();                              // emit whatever is still pending
  std::string controlGroup(const std::string& unit);

  // Distinct victims the kernel chose (group-kill members not counted).
  unsigned chosenKills() const { return chosen_kills_; }
  // Last unit state change or kernel kill: the run has settled when this is old.
  double lastActivity() const { return std::max(last_state_change_, last_kill_); }

 private:
  struct UnitWatch {
    UnitStateChange state;       // assembled from signals and Get replies
    UnitStateChange emitted;     // last one sent
    bool ever_emitted = false;
    double dirty_since = 0;      // Service-interface change waiting for its Unit signal
    std::string control_group;
  };
  static int onKmsg(sd_event_source*, int fd, uint32_t, void* self);
  static int onJournal(sd_event_source*, int fd, uint32_t, void* self);
  static int onTimer(sd_event_source*, uint64_t, void* self);
  static int onPropertiesChanged(sd_bus_message* m, void* self, sd_bus_error*);
  static int onJobRemoved(sd_bus_message* m, void* self, sd_bus_error*);
  static int onUnitNewOrRemoved(sd_bus_message* m, void* self, sd_bus_error*);
  void readKmsg();
  void readJournal();
  void emitKills(std::vector<KernelOomKill> kills);
  void emitIfChanged(const std::string& unit, UnitWatch& w, double t);

  Bus& bus_;
  RecordSink& sink_;
  const GuestPlan& plan_;
  const SysFs& fs_;
  sd_event* event_ = nullptr;
  sd_journal* journal_ = nullptr;
  std::vector<sd_bus_slot*> slots_;
  std::vector<sd_event_source*> sources_;
  int kmsg_fd_ = -1;
  std::vector<char> kmsg_buffer_;
  OomKillParser kmsg_parser_;
  std::map<std::string, std::string> path_to_unit_;
  std::set<std::string> unit_names_;
  std::map<std::string, UnitWatch> units_;
  std::map<std::string, std::string> job_results_;
  std::set<int> chosen_pids_;
  unsigned chosen_kills_ = 0;
  double last_state_change_ = 0;
  double last_kill_ = 0;
};

}  // namespace oom
