#include "live/bus.hpp"


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

}  // namespace

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
  const int r = sd_bus_call_method(bus_, kDest, kManagerPath, kManager, "Subscribe", &error, nullptr, "");
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
  r = sd_bus_call(bus_, m, 0, &error, &reply);
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
  if (r >= 0) r = sd_bus_call(bus_, m, 120ull * 1000 * 1000, &error, &reply);
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
  const int r = sd_bus_call_method(bus_, kDest, kManagerPath, kManager, "StartUnit", &error, &reply, "ss",
                                   unit.c_str(), "fail");
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
  for (const char* iface : {"org.freedesktop.systemd1.Service", "org.freedesktop.systemd1.Unit"}) {
    sd_bus_message* reply = nullptr;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    const int r = sd_bus_call_method(bus_, kDest, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                                     &error, &reply, "ss", iface, name.c_str());
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
  const int r = sd_bus_call_method(bus_, kDest, unitObjectPath(unit).c_str(), "org.freedesktop.DBus.Properties",
                                   "GetAll", &error, &reply, "s", interface);
  if (r < 0) noteFailure("GetAll", unit + " " + interface, r, error);
  sd_bus_error_free(&error);
  if (r < 0) return {};
  auto out = readPropertyDict(reply);
  sd_bus_message_unref(reply);
  return out;
}

std::string Bus::managerVersion() {
  char* version = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  const int r = sd_bus_get_property_string(bus_, kDest, kManagerPath, kManager, "Version", &error, &version);
  sd_bus_error_free(&error);
  std::string s = r >= 0 && version ? version : "";
  std::free(version);
  return s;
}

}  // namespace oom
