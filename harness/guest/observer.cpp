#include "guest/observer.hpp"
#include "guest/containers.hpp"

#include <sys/epoll.h>

#include <cstdio>
#include <cstring>

#include "guest/journal_filter.hpp"
#include "timeline/message_ids.hpp"
#include "guest/unit_state.hpp"
#include "oom/text.hpp"

namespace oom {
namespace {

constexpr const char* kUnitInterface = "org.freedesktop.systemd1.Unit";
constexpr const char* kServiceInterface = "org.freedesktop.systemd1.Service";
// A Service-interface change is emitted alone only if its Unit signal has not
// followed within this time (the pair normally arrives within milliseconds).
constexpr double kUnpairedChangeSec = 1.0;
// The event loop's own timer: unpaired Service-interface changes, and a heartbeat
// for the sampler even when no signal arrives.
constexpr double kLoopTimerSec = 0.25;
// journald's "Suppressed N messages from x.service" (SD_MESSAGE_JOURNAL_DROPPED):
// entries it rate-limited away, a loss in the journal.
constexpr const char* kMsgJournalDropped = "a596d6fe7bfa4994828e72309e95d61e";

Sampler::Options samplerOptions(const GuestPlan& plan) {
  Sampler::Options o;
  o.interval_sec = std::max(plan.sample_interval_sec, 0.05);
  return o;
}

Expected<void> failErrno(const char* where, int negative_errno) {
  return fail(where, std::strerror(negative_errno < 0 ? -negative_errno : negative_errno));
}

}  // namespace

Observer::Observer(Bus& bus, RecordSink& sink, const GuestPlan& plan, const SysFs& fs)
    : bus_(bus), sink_(sink), fs_(fs), sampler_(sink, fs, samplerOptions(plan)) {
  last_state_change_ = monotonicSeconds();
  bus_.onTransportError([this](const std::string& detail) { dbusLoss(detail); });
}

Observer::~Observer() {
  sampler_.stop();
  bus_.onTransportError(nullptr);
  bus_.waitForRepliesWith(nullptr);
  for (auto* s : sources_) sd_event_source_unref(s);
  for (auto* s : slots_) sd_bus_slot_unref(s);
  if (journal_) sd_journal_close(journal_);
  if (event_) {
    sd_bus_detach_event(bus_.get());
    sd_event_unref(event_);
  }
}

Expected<void> Observer::start() {
  int r = sd_event_new(&event_);
  if (r < 0) return failErrno("sd-event", r);
  r = sd_bus_attach_event(bus_.get(), event_, SD_EVENT_PRIORITY_NORMAL);
  if (r < 0) return failErrno("sd-bus", r);
  // A call's reply is awaited in this loop: systemd's signals (a unit starting
  // during a daemon-reload) are read and timed as they come, the sampler sees heartbeats.
  bus_.waitForRepliesWith([this](const std::function<bool()>& arrived, double deadline) { runUntil(arrived, deadline); });

  // Kernel log from now on: older records are the boot, not the scenario.
  if (auto k = sampler_.openKernelLog(); !k) return k;
  sd_event_source* src = nullptr;

  r = sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
  if (r < 0) return failErrno("journal", r);
  sd_journal_seek_tail(journal_);
  sd_journal_previous(journal_);  // on the last entry: next() yields only new ones
  r = sd_journal_get_fd(journal_);
  if (r < 0) return failErrno("journal", r);
  r = sd_event_add_io(event_, &src, r, static_cast<uint32_t>(sd_journal_get_events(journal_)), onJournal, this);
  if (r < 0) return failErrno("journal", r);
  sources_.push_back(src);

  struct Match {
    const char* path;
    const char* interface;
    const char* member;
    sd_bus_message_handler_t handler;
  };
  const Match matches[] = {
      {nullptr, "org.freedesktop.DBus.Properties", "PropertiesChanged", onPropertiesChanged},
      {"/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved", onJobRemoved},
      {"/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "UnitNew", onUnitNewOrRemoved},
      {"/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "UnitRemoved", onUnitNewOrRemoved},
  };
  for (const auto& m : matches) {
    sd_bus_slot* slot = nullptr;
    r = sd_bus_match_signal(bus_.get(), &slot, "org.freedesktop.systemd1", m.path, m.interface, m.member,
                            m.handler, this);
    if (r < 0) return fail("sd-bus", std::string("match ") + m.member + ": " + std::strerror(-r));
    slots_.push_back(slot);
  }
  // Without Subscribe, systemd sends no PropertiesChanged/JobRemoved to us.
  if (auto s = bus_.subscribe(); !s) return s;

  uint64_t now = 0;
  sd_event_now(event_, CLOCK_MONOTONIC, &now);
  r = sd_event_add_time(event_, &src, CLOCK_MONOTONIC, now + static_cast<uint64_t>(kLoopTimerSec * 1e6), 10000,
                        onTimer, this);
  if (r < 0) return failErrno("sd-event", r);
  // One-shot; onTimer re-arms it for the next period.
  sources_.push_back(src);
  sampler_.heartbeat(monotonicSeconds());
  sampler_.start();
  return {};
}

void Observer::watchUnit(const std::string& unit) {
  unit_names_.insert(unit);
  units_[unit].state.unit = unit;
  path_to_unit_[unitObjectPath(unit)] = unit;
}

std::optional<std::string> Observer::jobResult(const std::string& job) const {
  auto it = job_results_.find(job);
  if (it == job_results_.end()) return std::nullopt;
  return it->second;
}

std::string Observer::controlGroup(const std::string& unit) {
  auto& w = units_[unit];
  // ControlGroup emits no change signal; it is fixed once the unit is realized.
  if (w.control_group.empty())
    if (auto v = bus_.property(unit, "ControlGroup"); v && std::holds_alternative<std::string>(*v)) {
      w.control_group = std::get<std::string>(*v);
      if (!w.control_group.empty()) sampler_.setControlGroup(unit, w.control_group);
    }
  return w.control_group;
}

void Observer::emitIfChanged(const std::string& unit, UnitWatch& w, double t) {
  w.dirty_since = 0;
  if (w.ever_emitted && sameUnitState(w.state, w.emitted)) return;
  w.state.t = t;
  w.state.unit = unit;
  const std::string cg = controlGroup(unit);
  auto pids = fs_.cgroupProcs(cg);  // a removed cgroup (a stopped unit) has none
  if (!pids && !pids.error().absent())
    std::fprintf(stderr, "oomharness-guest: %s\n", pids.error().str().c_str());
  w.state.pids = pids.value_or(std::vector<int>{});
  w.emitted = w.state;
  w.ever_emitted = true;
  last_state_change_ = t;
  sink_.emit(kRecordUnitState, w.state);
}

void Observer::refreshUnit(const std::string& unit) {
  auto& w = units_[unit];
  const double t = monotonicSeconds();
  for (const char* iface : {kServiceInterface, kUnitInterface})
    for (const auto& [name, value] : bus_.allProperties(unit, iface)) applyUnitProperty(w.state, name, value);
  emitIfChanged(unit, w, t);
}

void Observer::sampleAll() {
  for (const auto& unit : unit_names_) controlGroup(unit);  // tells the sampler
  sampler_.sampleNow();
}

void Observer::finish() {
  runDeferred();  // signals already read
  // From here on a call waits in place: nothing more is dispatched or recorded live.
  bus_.waitForRepliesWith(nullptr);
  readJournal();
  for (auto& [unit, w] : units_)
    if (w.dirty_since > 0) emitIfChanged(unit, w, w.dirty_since);
  sampler_.stop();  // reads the kernel log a last time, emits the kills it held
  sampleAll();
}

void Observer::dbusLoss(const std::string& detail) {
  sink_.emit(kRecordLoss, Loss{monotonicSeconds(), "dbus", "error", 1, detail});
}

int Observer::onTimer(sd_event_source* s, uint64_t usec, void* self) {
  auto* o = static_cast<Observer*>(self);
  const double now = monotonicSeconds();
  o->sampler_.heartbeat(now);
  o->readJournal();
  // A Service-interface change with no Unit signal after it (rare): emit it, at its own time.
  o->defer([o, now] {
    for (auto& [unit, w] : o->units_)
      if (w.dirty_since > 0 && now - w.dirty_since >= kUnpairedChangeSec) o->emitIfChanged(unit, w, w.dirty_since);
  });
  sd_event_source_set_time(s, usec + static_cast<uint64_t>(kLoopTimerSec * 1e6));
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

int Observer::onJournal(sd_event_source*, int, uint32_t, void* self) {
  static_cast<Observer*>(self)->readJournal();
  return 0;
}

void Observer::readJournal() {
  if (!journal_) return;
  sd_journal_process(journal_);
  JournalFields fields;
  int r;
  while ((r = sd_journal_next(journal_)) > 0) {
    fields.clear();
    for (std::size_t i = 0; i < kJournalFieldCount; ++i) {
      const char* name = kJournalFieldNames[i];
      const void* data = nullptr;
      std::size_t len = 0;
      if (sd_journal_get_data(journal_, name, &data, &len) < 0) continue;
      const std::size_t skip = std::strlen(name) + 1;  // "NAME="
      if (len >= skip) fields[name] = std::string(static_cast<const char*>(data) + skip, len - skip);
    }
    uint64_t usec = 0;
    if (sd_journal_get_monotonic_usec(journal_, &usec, nullptr) >= 0)
      fields["__MONOTONIC_TIMESTAMP"] = std::to_string(usec);
    if (fields["MESSAGE_ID"] == kMsgJournalDropped) {
      // "Suppressed 1234 messages from api.service": rate-limited away by journald.
      const double t = static_cast<double>(usec) / 1e6;
      sink_.emit(kRecordLoss, Loss{t, "journal", "gap", numberAfter<std::uint64_t>(fields["MESSAGE"], "Suppressed ").value_or(1),
                                   printable(fields["MESSAGE"])});
      continue;
    }
    if (auto record = journalRecordFor(fields, unit_names_)) {
      // One entry can be in two journal files while journald flushes /run/log to
      // /var/log (its seqnum and timestamps copied); sd-journal 252 may yield both.
      std::string key = fields["__MONOTONIC_TIMESTAMP"] + '\n' + record->MESSAGE_ID + '\n' + record->INVOCATION_ID +
                        '\n' + record->MESSAGE;
      if (!journal_seen_.insert(std::move(key)).second) continue;
      // A systemd-oomd kill is a decisive kill too (the run may settle after it).
      if (record->MESSAGE_ID == kMsgUnitOomdKill) {
        ++oomd_kills_;
        last_oomd_kill_ = record->t;
      }
      sink_.emit(kRecordJournal, *record);
      watchContainerScope(*record);
    }
  }
  if (r < 0)
    sink_.emit(kRecordLoss, Loss{monotonicSeconds(), "journal", "read_error", 1,
                                 std::string("sd_journal_next: ") + std::strerror(-r)});
}

void Observer::watchContainerScope(const JournalRecord& podman_event) {
  const auto field = [&](const char* name) {
    const auto it = podman_event.fields.find(name);
    return it == podman_event.fields.end() ? std::string() : it->second;
  };
  if (field("SOURCE") != kPodmanSource || !container_scope_units_.count(podman_event.unit)) return;
  if (field("PODMAN_EVENT") != kPodmanEventStart) return;  // its scope exists by then
  const std::string scope = containerScopeUnit(field("PODMAN_ID"));
  if (unit_names_.count(scope)) return;
  watchUnit(scope);
  // Its control group tells the sampler.
  defer([this, scope] { controlGroup(scope); });
}

int Observer::onPropertiesChanged(sd_bus_message* m, void* self, sd_bus_error*) {
  auto* o = static_cast<Observer*>(self);
  const char* path = sd_bus_message_get_path(m);
  if (!path) return 0;
  auto it = o->path_to_unit_.find(path);
  if (it == o->path_to_unit_.end()) return 0;
  const std::string unit = it->second;
  const double t = monotonicSeconds();

  const char* iface = nullptr;
  if (sd_bus_message_read_basic(m, 's', &iface) < 0 || !iface) return 0;
  const std::string interface = iface;
  // Values travel in the signal: a stopped transient unit may be gone before a Get.
  auto changed = readPropertyDict(m);
  std::vector<std::string> invalidated;  // changed without their value: read with Get
  if (sd_bus_message_enter_container(m, 'a', "s") >= 0) {
    const char* name = nullptr;
    while (sd_bus_message_read_basic(m, 's', &name) > 0 && name) {
      UnitStateChange probe;
      if (applyUnitProperty(probe, name, DbusValue{std::string()})) invalidated.emplace_back(name);
    }
    sd_bus_message_exit_container(m);
  }
  // The rest may call systemd: after this dispatch, timed as now.
  o->defer([o, unit, interface, changed = std::move(changed), invalidated = std::move(invalidated), t] {
    UnitWatch& w = o->units_[unit];
    for (const auto& [name, value] : changed) applyUnitProperty(w.state, name, value);
    for (const auto& name : invalidated)
      if (auto v = o->bus_.property(unit, name)) applyUnitProperty(w.state, name, *v);
    if (interface == kServiceInterface) {
      // systemd sends the type-specific interface first, then Unit; wait for the pair.
      if (w.dirty_since == 0) w.dirty_since = t;
      return;
    }
    if (interface != kUnitInterface) return;
    if (!changed.count("InvocationID"))
      if (auto v = o->bus_.property(unit, "InvocationID")) applyUnitProperty(w.state, "InvocationID", *v);
    o->emitIfChanged(unit, w, w.dirty_since > 0 ? w.dirty_since : t);
  });
  return 0;
}

void Observer::runDeferred() {
  // A call below waits in the loop, which dispatches more signals: their work
  // queues behind, and this loop (not a nested one) runs it, in order.
  if (running_deferred_) return;
  running_deferred_ = true;
  while (!deferred_.empty()) {
    auto work = std::move(deferred_.front());
    deferred_.pop_front();
    work();
  }
  running_deferred_ = false;
}

Expected<std::string> Observer::commandOutput(Expected<ChildCommand> child, double deadline) {
  if (!child) return tl::unexpected(child.error());
  sd_event_source* source = nullptr;
  if (const int r = sd_event_add_io(event_, &source, child->fd(), EPOLLIN, onCommandOutput, &*child); r < 0)
    return fail("sd-event", std::strerror(-r));
  runUntil([&] { return child->ended(); }, deadline);
  sd_event_source_disable_unref(source);
  if (!child->ended()) return fail(child->what(), "did not finish in time; killed");  // ~ChildCommand kills it
  return child->finish();
}

int Observer::onCommandOutput(sd_event_source* s, int, uint32_t, void* child) {
  // At the end of its output the pipe stays readable: stop watching it.
  if (static_cast<ChildCommand*>(child)->readAvailable()) sd_event_source_set_enabled(s, SD_EVENT_OFF);
  return 0;
}

int Observer::onJobRemoved(sd_bus_message* m, void* self, sd_bus_error*) {
  auto* o = static_cast<Observer*>(self);
  uint32_t id = 0;
  const char *job = nullptr, *unit = nullptr, *result = nullptr;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0) return 0;
  if (job && result) o->job_results_[job] = result;
  return 0;
}

int Observer::onUnitNewOrRemoved(sd_bus_message* m, void* self, sd_bus_error*) {
  auto* o = static_cast<Observer*>(self);
  const char *unit = nullptr, *path = nullptr;
  if (sd_bus_message_read(m, "so", &unit, &path) < 0 || !unit || !o->unit_names_.count(unit)) return 0;
  if (path) o->path_to_unit_[path] = unit;
  std::fprintf(stderr, "oomharness-guest: %s %s\n", unit, sd_bus_message_get_member(m));
  return 0;
}

}  // namespace oom
