#include "guest/observer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "guest/journal_filter.hpp"
#include "guest/unit_state.hpp"

namespace oom {
namespace {

constexpr const char* kUnitInterface = "org.freedesktop.systemd1.Unit";
constexpr const char* kServiceInterface = "org.freedesktop.systemd1.Service";
// A kill waits this long (kernel time) for its oom_reaper line before it is emitted.
constexpr double kReaperWaitSec = 1.0;
// A Service-interface change is emitted alone only if its Unit signal has not
// followed within this time (the pair normally arrives within milliseconds).
constexpr double kUnpairedChangeSec = 1.0;
// A /dev/kmsg record is at most about 8 KiB with its dictionary.
constexpr std::size_t kKmsgRecordMax = 16 * 1024;

Expected<void> failErrno(const char* where, int negative_errno) {
  return fail(where, std::strerror(negative_errno < 0 ? -negative_errno : negative_errno));
}

}  // namespace

Observer::Observer(Bus& bus, RecordSink& sink, const GuestPlan& plan, const SysFs& fs)
    : bus_(bus), sink_(sink), plan_(plan), fs_(fs), kmsg_buffer_(kKmsgRecordMax) {
  last_state_change_ = monotonicSeconds();
}

Observer::~Observer() {
  for (auto* s : sources_) sd_event_source_unref(s);
  for (auto* s : slots_) sd_bus_slot_unref(s);
  if (journal_) sd_journal_close(journal_);
  if (kmsg_fd_ >= 0) ::close(kmsg_fd_);
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

  // Kernel log from now on: older records are the boot, not the scenario.
  kmsg_fd_ = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (kmsg_fd_ < 0) return failErrno("/dev/kmsg", errno);
  ::lseek(kmsg_fd_, 0, SEEK_END);
  sd_event_source* src = nullptr;
  r = sd_event_add_io(event_, &src, kmsg_fd_, EPOLLIN, onKmsg, this);
  if (r < 0) return failErrno("/dev/kmsg", r);
  sources_.push_back(src);

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

  const auto interval = static_cast<uint64_t>(std::max(plan_.sample_interval_sec, 0.05) * 1e6);
  uint64_t now = 0;
  sd_event_now(event_, CLOCK_MONOTONIC, &now);
  r = sd_event_add_time(event_, &src, CLOCK_MONOTONIC, now + interval, 10000, onTimer, this);
  if (r < 0) return failErrno("sd-event", r);
  // One-shot; onTimer re-arms it for the next period.
  sources_.push_back(src);
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
    if (auto v = bus_.property(unit, "ControlGroup"); v && std::holds_alternative<std::string>(*v))
      w.control_group = std::get<std::string>(*v);
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
  const double t = monotonicSeconds();
  for (const auto& unit : unit_names_) {
    const std::string cg = controlGroup(unit);
    if (cg.empty()) continue;
    if (auto sample = fs_.sample(unit, cg, t)) sink_.emit(kRecordSample, *sample);
  }
}

void Observer::finish() {
  readKmsg();
  readJournal();
  emitKills(kmsg_parser_.flushAll());
  for (auto& [unit, w] : units_)
    if (w.dirty_since > 0) emitIfChanged(unit, w, w.dirty_since);
}

int Observer::onTimer(sd_event_source* s, uint64_t usec, void* self) {
  auto* o = static_cast<Observer*>(self);
  o->readKmsg();
  o->readJournal();
  o->emitKills(o->kmsg_parser_.flush(monotonicSeconds(), kReaperWaitSec));
  // A Service-interface change with no Unit signal after it (rare): emit it, at its own time.
  const double now = monotonicSeconds();
  for (auto& [unit, w] : o->units_)
    if (w.dirty_since > 0 && now - w.dirty_since >= kUnpairedChangeSec) o->emitIfChanged(unit, w, w.dirty_since);
  o->sampleAll();
  sd_event_source_set_time(s, usec + static_cast<uint64_t>(std::max(o->plan_.sample_interval_sec, 0.05) * 1e6));
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

int Observer::onKmsg(sd_event_source*, int, uint32_t, void* self) {
  auto* o = static_cast<Observer*>(self);
  o->readKmsg();
  o->emitKills(o->kmsg_parser_.flush(monotonicSeconds(), kReaperWaitSec));
  return 0;
}

void Observer::emitKills(std::vector<KernelOomKill> kills) {
  for (const auto& kill : kills) {
    if (!kill.group_kill && chosen_pids_.insert(kill.pid).second) ++chosen_kills_;
    last_kill_ = monotonicSeconds();
    sink_.emit(kRecordOomKill, kill);
  }
}

void Observer::readKmsg() {
  if (kmsg_fd_ < 0) return;
  while (true) {
    const ssize_t n = ::read(kmsg_fd_, kmsg_buffer_.data(), kmsg_buffer_.size());
    if (n < 0) {
      if (errno == EPIPE || errno == EINTR) continue;  // EPIPE: records overwritten before we read them
      return;                                          // EAGAIN: nothing more now
    }
    if (n == 0) return;
    auto record = parseKmsgRecord(std::string_view(kmsg_buffer_.data(), static_cast<std::size_t>(n)));
    if (!record) continue;
    auto fed = kmsg_parser_.feed(*record);
    if (fed.oom_related) sink_.emit(kRecordKmsg, {{"t", record->t}, {"line", record->text}});
    emitKills(std::move(fed.finished));
  }
}

int Observer::onJournal(sd_event_source*, int, uint32_t, void* self) {
  static_cast<Observer*>(self)->readJournal();
  return 0;
}

void Observer::readJournal() {
  if (!journal_) return;
  sd_journal_process(journal_);
  JournalFields fields;
  while (sd_journal_next(journal_) > 0) {
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
    if (auto record = journalRecordFor(fields, unit_names_)) sink_.emit(kRecordJournal, *record);
  }
}

int Observer::onPropertiesChanged(sd_bus_message* m, void* self, sd_bus_error*) {
  auto* o = static_cast<Observer*>(self);
  const char* path = sd_bus_message_get_path(m);
  if (!path) return 0;
  auto it = o->path_to_unit_.find(path);
  if (it == o->path_to_unit_.end()) return 0;
  const std::string& unit = it->second;
  UnitWatch& w = o->units_[unit];
  const double t = monotonicSeconds();

  const char* iface = nullptr;
  if (sd_bus_message_read_basic(m, 's', &iface) < 0 || !iface) return 0;
  const std::string interface = iface;
  // Values travel in the signal: a stopped transient unit may be gone before a Get.
  const auto changed = readPropertyDict(m);
  for (const auto& [name, value] : changed) applyUnitProperty(w.state, name, value);
  if (sd_bus_message_enter_container(m, 'a', "s") >= 0) {
    const char* name = nullptr;
    while (sd_bus_message_read_basic(m, 's', &name) > 0 && name) {
      UnitStateChange probe;
      if (!applyUnitProperty(probe, name, DbusValue{std::string()})) continue;
      if (auto v = o->bus_.property(unit, name)) applyUnitProperty(w.state, name, *v);
    }
    sd_bus_message_exit_container(m);
  }
  if (interface == kServiceInterface) {
    // systemd sends the type-specific interface first, then Unit; wait for the pair.
    if (w.dirty_since == 0) w.dirty_since = t;
    return 0;
  }
  if (interface != kUnitInterface) return 0;
  if (!changed.count("InvocationID"))
    if (auto v = o->bus_.property(unit, "InvocationID")) applyUnitProperty(w.state, "InvocationID", *v);
  o->emitIfChanged(unit, w, w.dirty_since > 0 ? w.dirty_since : t);
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
