#include "live/bus.hpp"


#include <systemd/sd-event.h>
#include <time.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace oom {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

std::string busError(const char* what, int r, const sd_bus_error* error) {
  std::string s = std::string(what) + ": ";
  if (error && error->message) s += error->message;
  else s += std::strerror(-r);
  return s;
}

// Appends one typed value inside an already-open variant container.
int appendBasic(sd_bus_message* m, const DbusValue& v) {
  return std::visit(
      [m](const auto& x) -> int {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::int32_t>) return sd_bus_message_append_basic(m, 'i', &x);
        else if constexpr (std::is_same_v<T, std::uint32_t>) return sd_bus_message_append_basic(m, 'u', &x);
        else if constexpr (std::is_same_v<T, std::uint64_t>) return sd_bus_message_append_basic(m, 't', &x);
        else if constexpr (std::is_same_v<T, bool>) {
          int b = x ? 1 : 0;
          return sd_bus_message_append_basic(m, 'b', &b);
        } else return sd_bus_message_append_basic(m, 's', x.c_str());
      },
      v);
}

// sd-bus's own timeout when a call passes 0.
constexpr std::uint64_t kDefaultCallTimeoutUsec = 25ull * 1000 * 1000;

double monotonicNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Where an asynchronous call's reply lands; lives on the waiting call's stack.
struct PendingReply {
  sd_bus_message* reply = nullptr;  // a method return or an error (sd-bus makes one on timeout)
};

int onReply(sd_bus_message* m, void* userdata, sd_bus_error*) {
  static_cast<PendingReply*>(userdata)->reply = sd_bus_message_ref(m);
  return 0;
}

}  // namespace

int Bus::call(sd_bus_message* m, std::uint64_t timeout_usec, sd_bus_error* error, sd_bus_message** reply) {
  sd_event* loop = sd_bus_get_event(bus_);
  // Inside a dispatch the loop is already running and cannot be run again: wait here.
  if (!reply_waiter_ || !loop || sd_event_get_state(loop) != SD_EVENT_INITIAL)
    return sd_bus_call(bus_, m, timeout_usec, error, reply);
  PendingReply pending;
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_call_async(bus_, &slot, m, onReply, &pending, timeout_usec);
  if (r < 0) return sd_bus_error_set_errno(error, r);
  // sd-bus answers with a timeout error of its own when systemd does not; the
  // waiter's deadline is only a backstop for a loop that stopped dispatching.
  const double timeout_sec = static_cast<double>(timeout_usec ? timeout_usec : kDefaultCallTimeoutUsec) / 1e6;
  reply_waiter_([&pending] { return pending.reply != nullptr; }, monotonicNow() + timeout_sec + 1.0);
  sd_bus_slot_unref(slot);  // cancels the call if it is still pending: `pending` goes now
  if (!pending.reply) return sd_bus_error_set_errno(error, -ETIMEDOUT);
  if (const sd_bus_error* e = sd_bus_message_get_error(pending.reply)) {
    r = sd_bus_error_copy(error, e);
    sd_bus_message_unref(pending.reply);
    return r < 0 ? r : -EIO;
  }
  if (reply) *reply = pending.reply;
  else sd_bus_message_unref(pending.reply);
  return 1;
}

int Bus::callMethod(const char* path, const char* interface, const char* member, sd_bus_error* error,
                    sd_bus_message** reply, const char* types, ...) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(bus_, &m, kDest, path, interface, member);
  if (r >= 0 && types && *types) {
    va_list ap;
    va_start(ap, types);
    r = sd_bus_message_appendv(m, types, ap);
    va_end(ap);
  }
  if (r >= 0) r = call(m, 0, error, reply);
  else sd_bus_error_set_errno(error, r);
  sd_bus_message_unref(m);
  return r;
}

std::string hexBytes(const void* data, std::size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 0xf];
  }
  return out;
}

std::string unitObjectPath(const std::string& unit) {
  char* path = nullptr;
  if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &path) < 0 || !path) return "";
  std::string out = path;
  std::free(path);
  return out;
}

Expected<Bus> Bus::openSystem() {
  sd_bus* bus = nullptr;
  const int r = sd_bus_open_system(&bus);
  if (r < 0) return fail("dbus", busError("cannot connect to the system bus", r, nullptr));
  return Bus(bus);
}

Bus::~Bus() {
  if (bus_) sd_bus_flush_close_unref(bus_);
}

Expected<void> Bus::subscribe() {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  const int r = callMethod(kManagerPath, kManager, "Subscribe", &error, nullptr, "");
  std::string msg = r < 0 ? busError("Subscribe", r, &error) : "";
  sd_bus_error_free(&error);
  if (r < 0) return fail("dbus", msg);
  return {};
}

int appendStartTransientUnit(sd_bus_message* m, const TransientUnitSpec& spec) {
  int r = sd_bus_message_append(m, "ss", spec.name.c_str(), "fail");
  if (r >= 0) r = sd_bus_message_open_container(m, 'a', "(sv)");
  for (const auto& p : spec.properties) {
    const char sig[2] = {p.signature, '\0'};
    if (r >= 0) r = sd_bus_message_open_container(m, 'r', "sv");
    if (r >= 0) r = sd_bus_message_append_basic(m, 's', p.name.c_str());
    if (r >= 0) r = sd_bus_message_open_container(m, 'v', sig);
    if (r >= 0) r = appendBasic(m, p.value);
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
  }
  // ExecStart a(sasb): [(path, argv, ignore_failure)], as systemd-run sends it.
  if (r >= 0) r = sd_bus_message_open_container(m, 'r', "sv");
  if (r >= 0) r = sd_bus_message_append_basic(m, 's', "ExecStart");
  if (r >= 0) r = sd_bus_message_open_container(m, 'v', "a(sasb)");
  if (r >= 0) r = sd_bus_message_open_container(m, 'a', "(sasb)");
  if (r >= 0) r = sd_bus_message_open_container(m, 'r', "sasb");
  if (r >= 0) r = sd_bus_message_append_basic(m, 's', spec.exec.path.c_str());
  if (r >= 0) r = sd_bus_message_open_container(m, 'a', "s");
  for (const auto& arg : spec.exec.argv)
    if (r >= 0) r = sd_bus_message_append_basic(m, 's', arg.c_str());
  if (r >= 0) r = sd_bus_message_close_container(m);
  if (r >= 0) {
    int ignore = spec.exec.ignore_failure ? 1 : 0;
    r = sd_bus_message_append_basic(m, 'b', &ignore);
  }
  for (int i = 0; i < 4 && r >= 0; ++i) r = sd_bus_message_close_container(m);  // r, a, v, r
  if (r >= 0) r = sd_bus_message_close_container(m);                          // a(sv)
  if (r >= 0) r = sd_bus_message_append(m, "a(sa(sv))", 0);                    // no aux units
  return r;
}

Expected<std::string> Bus::startTransientUnit(const TransientUnitSpec& spec) {
  sd_bus_message* m = nullptr;
  sd_bus_message* reply = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  int r = sd_bus_message_new_method_call(bus_, &m, kDest, kManagerPath, kManager, "StartTransientUnit");
  if (r >= 0) r = appendStartTransientUnit(m, spec);
  if (r < 0) {
    sd_bus_message_unref(m);
    return fail(spec.name, busError("building StartTransientUnit", r, nullptr));
  }
  r = call(m, 0, &error, &reply);
  sd_bus_message_unref(m);
  if (r < 0) {
    std::string msg = busError("StartTransientUnit", r, &error);
    sd_bus_error_free(&error);
    return fail(spec.name, msg);
  }
  const char* job = nullptr;
  r = sd_bus_message_read(reply, "o", &job);
  std::string job_path = r >= 0 && job ? job : "";
  sd_bus_message_unref(reply);
  return job_path;
}

Expected<void> Bus::reload() {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  // A reload of a loaded system can take a while under emulation: no D-Bus timeout (0
  // would mean sd-bus's default of 25 s).
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(bus_, &m, kDest, kManagerPath, kManager, "Reload");
  if (r >= 0) r = call(m, 120ull * 1000 * 1000, &error, &reply);
  sd_bus_message_unref(m);
  sd_bus_message_unref(reply);
  std::string msg = r < 0 ? busError("Reload (daemon-reload)", r, &error) : "";
  sd_bus_error_free(&error);
  if (r < 0) return fail("dbus", msg);
  return {};
}

Expected<std::string> Bus::startUnit(const std::string& unit) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  const int r = callMethod(kManagerPath, kManager, "StartUnit", &error, &reply, "ss", unit.c_str(), "fail");
  if (r < 0) {
    std::string msg = busError("StartUnit", r, &error);
    sd_bus_error_free(&error);
    return fail(unit, msg);
  }
  const char* job = nullptr;
  const int rr = sd_bus_message_read(reply, "o", &job);
  std::string job_path = rr >= 0 && job ? job : "";
  sd_bus_message_unref(reply);
  return job_path;
}

std::optional<DbusValue> readVariant(sd_bus_message* m) {
  char type = 0;
  const char* contents = nullptr;
  if (sd_bus_message_peek_type(m, &type, &contents) <= 0 || type != 'v' || !contents) return std::nullopt;
  const std::string sig = contents;
  if (sig != "i" && sig != "u" && sig != "t" && sig != "b" && sig != "s" && sig != "o" && sig != "ay") {
    sd_bus_message_skip(m, "v");
    return std::nullopt;
  }
  if (sd_bus_message_enter_container(m, 'v', contents) < 0) return std::nullopt;
  std::optional<DbusValue> value;
  switch (sig[0]) {
    case 'i': { std::int32_t x; if (sd_bus_message_read_basic(m, 'i', &x) >= 0) value = x; break; }
    case 'u': { std::uint32_t x; if (sd_bus_message_read_basic(m, 'u', &x) >= 0) value = x; break; }
    case 't': { std::uint64_t x; if (sd_bus_message_read_basic(m, 't', &x) >= 0) value = x; break; }
    case 'b': { int x; if (sd_bus_message_read_basic(m, 'b', &x) >= 0) value = x != 0; break; }
    case 's': case 'o': {
      const char* x = nullptr;
      if (sd_bus_message_read_basic(m, sig[0], &x) >= 0 && x) value = std::string(x);
      break;
    }
    case 'a': {
      const void* bytes = nullptr;
      std::size_t size = 0;
      if (sd_bus_message_read_array(m, 'y', &bytes, &size) >= 0) value = hexBytes(bytes, size);
      break;
    }
    default: break;
  }
  sd_bus_message_exit_container(m);
  return value;
}

std::map<std::string, DbusValue> readPropertyDict(sd_bus_message* m) {
  std::map<std::string, DbusValue> out;
  if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return out;
  while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
    const char* name = nullptr;
    if (sd_bus_message_read_basic(m, 's', &name) < 0 || !name) break;
    const std::string key = name;
    if (auto v = readVariant(m)) out[key] = std::move(*v);
    sd_bus_message_exit_container(m);
  }
  sd_bus_message_exit_container(m);
  return out;
}

bool isOrdinaryBusAnswer(const char* error_name) {
  if (!error_name) return false;
  for (const char* ordinary : {"org.freedesktop.DBus.Error.UnknownProperty", "org.freedesktop.DBus.Error.UnknownInterface",
                               "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.InvalidArgs",
                               "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed"})
    if (std::strcmp(error_name, ordinary) == 0) return true;
  return false;
}

void Bus::noteFailure(const char* call, const std::string& what, int r, const sd_bus_error& error) {
  if (!on_transport_error_ || isOrdinaryBusAnswer(error.name)) return;
  std::string detail = std::string(call) + " " + what + ": ";
  detail += error.name ? std::string(error.name) + (error.message ? std::string(" (") + error.message + ")" : "")
                       : std::string(std::strerror(r < 0 ? -r : r));
  on_transport_error_(detail);
}

std::optional<DbusValue> Bus::property(const std::string& unit, const std::string& name) {
  const std::string path = unitObjectPath(unit);
  // A scope (a container's, Podman's --cgroups=enabled) has its cgroup properties on Scope.
  const bool scope = unit.size() > 6 && unit.compare(unit.size() - 6, 6, ".scope") == 0;
  for (const char* iface :
       {scope ? "org.freedesktop.systemd1.Scope" : "org.freedesktop.systemd1.Service", "org.freedesktop.systemd1.Unit"}) {
    sd_bus_message* reply = nullptr;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    const int r =
        callMethod(path.c_str(), "org.freedesktop.DBus.Properties", "Get", &error, &reply, "ss", iface, name.c_str());
    if (r < 0) noteFailure("Get", unit + " " + name, r, error);
    sd_bus_error_free(&error);
    if (r < 0) continue;
    std::optional<DbusValue> value = readVariant(reply);
    sd_bus_message_unref(reply);
    if (value) return value;
  }
  return std::nullopt;
}

std::map<std::string, DbusValue> Bus::allProperties(const std::string& unit, const char* interface) {
  sd_bus_message* reply = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  const int r = callMethod(unitObjectPath(unit).c_str(), "org.freedesktop.DBus.Properties", "GetAll", &error, &reply,
                           "s", interface);
  if (r < 0) noteFailure("GetAll", unit + " " + interface, r, error);
  sd_bus_error_free(&error);
  if (r < 0) return {};
  auto out = readPropertyDict(reply);
  sd_bus_message_unref(reply);
  return out;
}

std::string Bus::managerVersion() {
  sd_bus_message* reply = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  const int r = callMethod(kManagerPath, "org.freedesktop.DBus.Properties", "Get", &error, &reply, "ss", kManager,
                           "Version");
  sd_bus_error_free(&error);
  std::string s;
  if (r >= 0)
    if (auto v = readVariant(reply); v && std::holds_alternative<std::string>(*v)) s = std::get<std::string>(*v);
  sd_bus_message_unref(reply);
  return s;
}

}  // namespace oom
