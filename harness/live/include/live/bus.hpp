#pragma once
// A conversation with systemd over D-Bus (sd-bus): start transient units exactly
// as systemd-run does, read unit properties, subscribe to changes. The guest's
// runner and observer use it, and capture reads a live host with it. Message
// contents are built from plain structs (TransientUnitSpec) so they are
// unit-tested without a bus.
#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "oom/expected.hpp"
#include "systemd/directives.hpp"

namespace oom {

struct ExecCommand {
  std::string path;
  std::vector<std::string> argv;  // argv[0] included
  bool ignore_failure = false;
};

// What StartTransientUnit receives for one planned unit.
struct TransientUnitSpec {
  std::string name;                        // "api.service"
  std::vector<DbusProperty> properties;    // Description + the plan's directives, converted
  ExecCommand exec;                        // ExecStart, a(sasb)
};

std::string hexBytes(const void* data, std::size_t size);  // InvocationID ay -> 32 hex digits

// systemd's object path for a unit: /org/freedesktop/systemd1/unit/<escaped name>.
std::string unitObjectPath(const std::string& unit);

// Appends StartTransientUnit's arguments (ssa(sv)a(sa(sv))) for `spec` to `m`.
int appendStartTransientUnit(sd_bus_message* m, const TransientUnitSpec& spec);

// Reads one variant ('v') at the message's read position into a DbusValue:
// i u t b s o as themselves, ay as hex (InvocationID); nullopt (skipped) otherwise.
std::optional<DbusValue> readVariant(sd_bus_message* m);
// An error that is systemd's answer (no such property, interface or unit), not a
// failure of the conversation: Properties.Get on the wrong interface, a unit gone.
bool isOrdinaryBusAnswer(const char* error_name);

// Reads an a{sv} (GetAll reply, PropertiesChanged payload) into name -> value.
std::map<std::string, DbusValue> readPropertyDict(sd_bus_message* m);

class Bus {
 public:
  static Expected<Bus> openSystem();
  // Takes an open connection over (a test's peer-to-peer connection to a fake systemd).
  static Bus adopt(sd_bus* bus) { return Bus(bus); }
  Bus(Bus&& other) noexcept
      : bus_(other.bus_),
        on_transport_error_(std::move(other.on_transport_error_)),
        reply_waiter_(std::move(other.reply_waiter_)) {
    other.bus_ = nullptr;
  }
  Bus& operator=(Bus&&) = delete;
  Bus(const Bus&) = delete;
  ~Bus();
  sd_bus* get() const { return bus_; }

  Expected<void> subscribe();                                   // Manager.Subscribe
  Expected<std::string> startTransientUnit(const TransientUnitSpec& spec);  // returns the job path
  // Manager.Reload (daemon-reload): returns once systemd has read the unit files again.
  Expected<void> reload();
  // Manager.StartUnit(unit, "fail"): returns the job path.
  Expected<std::string> startUnit(const std::string& unit);
  // Reads one property; tries the Service interface, then Unit. nullopt if neither has it.
  std::optional<DbusValue> property(const std::string& unit, const std::string& name);
  // All properties of one interface ("org.freedesktop.systemd1.Unit"); empty if
  // the unit is gone (a stopped transient unit is garbage-collected).
  std::map<std::string, DbusValue> allProperties(const std::string& unit, const char* interface);
  std::string managerVersion();

  // Called with a description for each call that failed for a reason other than
  // the answer itself (a property the interface lacks, a unit already gone): a
  // timeout, a lost connection, no memory. Those are records the observer lost.
  void onTransportError(std::function<void(const std::string&)> handler) {
    on_transport_error_ = std::move(handler);
  }

  // How a method call waits for its reply: runs an event loop until `arrived()` is
  // true or `deadline` (monotonic seconds) passes. Unset, a call blocks in sd_bus_call.
  // The observer sets one that keeps its loop dispatching signals and heartbeats
  // while systemd works (a daemon-reload takes seconds under emulation). Inside a
  // dispatch (a signal handler's call) the loop cannot run again: that call blocks.
  using ReplyWaiter = std::function<void(const std::function<bool()>& arrived, double deadline)>;
  void waitForRepliesWith(ReplyWaiter waiter) { reply_waiter_ = std::move(waiter); }

 private:
  explicit Bus(sd_bus* bus) : bus_(bus) {}
  // Sends `m` and waits for its reply (through reply_waiter_ when it can): every
  // method call goes through here. sd_bus_call's contract: >= 0 with `*reply` set
  // (when `reply` is given), or a negative errno with `error` filled in.
  int call(sd_bus_message* m, std::uint64_t timeout_usec, sd_bus_error* error, sd_bus_message** reply);
  // A method call on systemd's manager or one of its objects, built and sent through call().
  int callMethod(const char* path, const char* interface, const char* member, sd_bus_error* error,
                 sd_bus_message** reply, const char* types, ...);
  // Reports r/error to on_transport_error_ unless it is an ordinary answer.
  void noteFailure(const char* call, const std::string& what, int r, const sd_bus_error& error);
  sd_bus* bus_ = nullptr;
  std::function<void(const std::string&)> on_transport_error_;
  ReplyWaiter reply_waiter_;
};

}  // namespace oom
