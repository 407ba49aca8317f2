// The live half of `capture`: systemd over D-Bus, /dev/kmsg and the journal.
// Read-only: method calls are ListUnits and Properties.Get/GetAll; the kernel
// log and the journal are opened for reading.
#include <fcntl.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "capture/host_reader.hpp"
#include "oom/guest_paths.hpp"
#include "oom/text.hpp"
#include "timeline/message_ids.hpp"

namespace oom {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr std::size_t kJournalKillsKept = 50;

struct ListedUnit {
  std::string name, load_state, active_state, sub_state;
};

Expected<std::vector<ListedUnit>> listUnits(Bus& bus) {
  sd_bus_message* reply = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  int r = sd_bus_call_method(bus.get(), kDest, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                             "ListUnits", &error, &reply, "");
  if (r < 0) {
    std::string why = error.message ? error.message : std::strerror(-r);
    sd_bus_error_free(&error);
    return failSetup("systemd ListUnits", why);
  }
  std::vector<ListedUnit> out;
  r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
  while (r >= 0) {
    const char *name, *description, *load, *active, *sub, *following, *path, *job_type, *job_path;
    std::uint32_t job_id = 0;
    r = sd_bus_message_read(reply, "(ssssssouso)", &name, &description, &load, &active, &sub, &following, &path,
                            &job_id, &job_type, &job_path);
    if (r <= 0) break;
    out.push_back({name, load, active, sub});
  }
  sd_bus_message_unref(reply);
  if (r < 0) return failSetup("systemd ListUnits", std::string("unreadable reply: ") + std::strerror(-r));
  return out;
}

std::vector<std::string> stringArray(Bus& bus, const std::string& unit, const char* interface, const char* name) {
  char** strv = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  const int r = sd_bus_get_property_strv(bus.get(), kDest, unitObjectPath(unit).c_str(), interface, name, &error, &strv);
  sd_bus_error_free(&error);
  std::vector<std::string> out;
  if (r < 0 || !strv) return out;
  for (char** s = strv; *s; ++s) {
    out.emplace_back(*s);
    std::free(*s);
  }
  std::free(strv);
  return out;
}

template <typename T>
std::optional<T> value(const std::map<std::string, DbusValue>& p, const char* name) {
  const auto it = p.find(name);
  if (it == p.end()) return std::nullopt;
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return std::nullopt;
}

CapturedService readService(Bus& bus, const ListedUnit& listed, const std::vector<CapturedProcess>& processes,
                            std::vector<std::string>& notes) {
  CapturedService s;
  s.unit = listed.name;
  s.load_state = listed.load_state;
  s.active_state = listed.active_state;
  s.sub_state = listed.sub_state;
  auto props = bus.allProperties(listed.name, "org.freedesktop.systemd1.Unit");
  for (auto& [k, v] : bus.allProperties(listed.name, "org.freedesktop.systemd1.Service")) props[k] = v;
  if (props.empty()) {
    notes.push_back(listed.name + ": systemd gave no properties (the unit went away while being read)");
    return s;
  }
  s.control_group = value<std::string>(props, "ControlGroup").value_or("");
  if (auto m = value<std::uint64_t>(props, "MemoryCurrent"); m && *m != UINT64_MAX) s.memory_current = *m;
  s.fragment_path = value<std::string>(props, "FragmentPath").value_or("");
  s.drop_in_paths = stringArray(bus, listed.name, "org.freedesktop.systemd1.Unit", "DropInPaths");
  std::vector<std::string> skipped;
  s.settings = settingsFromProperties(props, &skipped);
  for (const auto& k : skipped) notes.push_back(listed.name + ": " + k + " left out of the settings");
  for (const auto& p : processes) s.processes += p.unit == s.unit ? 1 : 0;
  return s;
}

// Every record /dev/kmsg still holds, oldest first; nothing is consumed (each
// open file has its own read position).
std::vector<std::string> readKmsg(const SysFs& fs, std::vector<std::string>& notes) {
  std::vector<std::string> records;
  const std::string path = fs.path("dev/kmsg");
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    notes.push_back(path + ": " + std::strerror(errno) + " (no kernel OOM kills read)");
    return records;
  }
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      records.emplace_back(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EPIPE) continue;  // overwritten while reading: go on with the next
    if (n < 0 && errno == EINTR) continue;
    break;                                  // EAGAIN: the end of the buffer
  }
  ::close(fd);
  return records;
}

std::string journalField(sd_journal* j, const char* field) {
  const void* data = nullptr;
  std::size_t len = 0;
  if (sd_journal_get_data(j, field, &data, &len) < 0) return "";
  const std::string_view s(static_cast<const char*>(data), len);
  const auto eq = s.find('=');
  return eq == std::string_view::npos ? "" : std::string(s.substr(eq + 1));
}

// systemd's and systemd-oomd's own entries about OOM kills, the last ones kept.
std::vector<CapturedKill> journalKills(std::vector<std::string>& notes) {
  sd_journal* j = nullptr;
  int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
  if (r < 0) {
    notes.push_back(std::string("journal: ") + std::strerror(-r) + " (no journal OOM entries read)");
    return {};
  }
  sd_journal_add_match(j, (std::string("MESSAGE_ID=") + kMsgUnitOutOfMemory).c_str(), 0);
  sd_journal_add_match(j, (std::string("MESSAGE_ID=") + kMsgUnitOomdKill).c_str(), 0);
  std::vector<CapturedKill> out;
  sd_journal_seek_tail(j);
  while (out.size() < kJournalKillsKept && sd_journal_previous(j) > 0) {
    CapturedKill k;
    k.source = journalField(j, "MESSAGE_ID") == kMsgUnitOomdKill ? "oomd" : "journal";
    std::uint64_t usec = 0;
    if (sd_journal_get_realtime_usec(j, &usec) >= 0) k.t = static_cast<double>(usec) / 1e6;
    k.unit = journalField(j, "UNIT");
    k.text = journalField(j, "MESSAGE");
    out.insert(out.begin(), std::move(k));
  }
  sd_journal_close(j);
  return out;
}

}  // namespace

void readHostFacts(const SysFs& fs, HostCapture& c) {
  c.os = fs.osReleasePrettyName();
  if (auto text = fs.readFile("etc/os-release")) c.os_codename = parseOsReleaseValue(*text, "VERSION_CODENAME");
  if (auto name = fs.readFile("proc/sys/kernel/hostname")) c.hostname = std::string(trim(*name));
  if (auto up = fs.readFile("proc/uptime")) c.uptime_sec = leadingNumber<double>(*up).value_or(0);
  if (auto mem = fs.meminfo()) {
    c.mem_total_bytes = mem->count("MemTotal") ? mem->at("MemTotal") : 0;
    c.mem_available_bytes = mem->count("MemAvailable") ? mem->at("MemAvailable") : 0;
    c.swap_total_bytes = mem->count("SwapTotal") ? mem->at("SwapTotal") : 0;
  } else {
    c.notes.push_back(mem.error().str());
  }
}

std::string whyNotSystemd(const SysFs& fs) {
  const auto comm = fs.readFile("proc/1/comm");
  if (!comm) return "cannot read " + comm.error().str();
  const auto name = trim(*comm);
  if (name != "systemd")
    return "PID 1 is \"" + printable(name) + "\", not systemd: capture reads systemd's units, so it needs a host "
           "booted with systemd (to look at a guest, run it there: oomharness vm run -- " +
           guest::kAgentPath + " capture)";
  return "";
}

Expected<HostCapture> captureHost(const SysFs& fs, Bus& bus, const CaptureScope& scope) {
  HostCapture c;
  c.captured_at = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch()).count()) / 1e6;
  readHostFacts(fs, c);
  c.systemd_version = bus.managerVersion();
  auto units = listUnits(bus);
  if (!units) return tl::unexpected(units.error());
  c.victims = readProcesses(fs, c.notes);
  std::size_t inactive = 0;
  for (const auto& u : *units) {
    if (u.name.size() <= 8 || u.name.substr(u.name.size() - 8) != ".service") continue;
    if (u.load_state != "loaded") continue;
    const bool running = u.active_state == "active" || u.active_state == "activating" || u.active_state == "reloading";
    if (!running && !scope.all) {
      ++inactive;
      continue;
    }
    c.services.push_back(readService(bus, u, c.victims, c.notes));
  }
  std::sort(c.services.begin(), c.services.end(),
            [](const CapturedService& a, const CapturedService& b) { return a.unit < b.unit; });
  if (inactive)
    c.notes.push_back(std::to_string(inactive) + " loaded services not running, left out (--all includes them)");
  c.kills = kernelKills(readKmsg(fs, c.notes));
  auto journal = journalKills(c.notes);
  c.kills.insert(c.kills.end(), journal.begin(), journal.end());
  return c;
}

}  // namespace oom
