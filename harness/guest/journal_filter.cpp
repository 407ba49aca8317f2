#include "guest/journal_filter.hpp"

#include <algorithm>
#include <cstdint>

#include "oom/text.hpp"
#include "timeline/message_ids.hpp"

namespace oom {
namespace {

const char* const kCopiedFields[] = {"UNIT_RESULT", "N_RESTARTS", "EXIT_CODE", "EXIT_STATUS", "JOB_RESULT", "JOB_TYPE"};

double monotonicOf(const JournalFields& fields) {
  auto it = fields.find("__MONOTONIC_TIMESTAMP");
  if (it == fields.end()) return 0;
  // Microseconds; anything malformed reads as 0.
  return static_cast<double>(leadingNumber<std::uint64_t>(it->second).value_or(0)) / 1e6;
}

std::string field(const JournalFields& fields, const char* name) {
  auto it = fields.find(name);
  return it == fields.end() ? "" : it->second;
}

}  // namespace

const char* const kJournalFieldNames[] = {
    "MESSAGE_ID", "UNIT",       "MESSAGE",    "INVOCATION_ID", "UNIT_RESULT",   "N_RESTARTS",
    "EXIT_CODE",  "EXIT_STATUS", "JOB_RESULT", "JOB_TYPE",      "_SYSTEMD_UNIT", "_SYSTEMD_INVOCATION_ID",
    "USER_UNIT",  "USER_INVOCATION_ID", "SYSLOG_IDENTIFIER", "PODMAN_EVENT", "PODMAN_TYPE", "PODMAN_ID",
    "PODMAN_NAME", "PODMAN_EXIT_CODE"};
const std::size_t kJournalFieldCount = sizeof kJournalFieldNames / sizeof kJournalFieldNames[0];

bool isUnitMessageId(const std::string& message_id) {
  return std::any_of(kUnitMessageIds.begin(), kUnitMessageIds.end(),
                     [&](const char* id) { return message_id == id; });
}

std::optional<JournalRecord> journalRecordFor(const JournalFields& fields, const std::set<std::string>& units) {
  const std::string message_id = field(fields, "MESSAGE_ID");
  // systemd (PID 1) about one of our units: UNIT= names it, INVOCATION_ID= is the
  // unit's. A user manager writes USER_UNIT= and USER_INVOCATION_ID= instead.
  const bool user = fields.count("UNIT") == 0;
  const std::string unit = field(fields, user ? "USER_UNIT" : "UNIT");
  if (!unit.empty() && units.count(unit) && isUnitMessageId(message_id)) {
    JournalRecord r;
    r.t = monotonicOf(fields);
    r.unit = unit;
    r.MESSAGE_ID = message_id;
    r.MESSAGE = field(fields, "MESSAGE");
    r.INVOCATION_ID = field(fields, user ? "USER_INVOCATION_ID" : "INVOCATION_ID");
    for (const char* name : kCopiedFields)
      if (auto it = fields.find(name); it != fields.end()) r.fields[name] = it->second;
    return r;
  }
  // systemd-oomd's own account of a kill, with the figure that triggered it: "Killed
  // /system.slice/x.service due to memory pressure for /system.slice being 71.20% >
  // 50.00% for > 20s with reclaim activity" (or "due to memory used ... and swap used").
  const std::size_t kill_prefix = kOomdKillPrefix.size();
  if (field(fields, "_SYSTEMD_UNIT") == kOomdUnit && isOomdKillLine(field(fields, "MESSAGE"))) {
    const std::string message = field(fields, "MESSAGE");
    const auto end = message.find(' ', kill_prefix);
    const std::string cgroup =
        message.substr(kill_prefix, end == std::string::npos ? std::string::npos : end - kill_prefix);
    const std::string last = cgroup.substr(cgroup.rfind('/') + 1);
    JournalRecord r;
    r.t = monotonicOf(fields);
    r.unit = units.count(last) ? last : cgroup;
    r.MESSAGE = message;
    r.fields["SOURCE"] = kOomdUnit;
    return r;
  }
  // systemd-oomd's ranking of the candidates it weighed, logged just before it kills:
  // the header line, then one entry per indented line (a candidate's path, its figures).
  if (field(fields, "_SYSTEMD_UNIT") == kOomdUnit && isOomdRankingLine(field(fields, "MESSAGE"))) {
    JournalRecord r;
    r.t = monotonicOf(fields);
    r.unit = kOomdUnit;
    r.MESSAGE = field(fields, "MESSAGE");
    r.fields["SOURCE"] = kOomdUnit;
    return r;
  }
  // Podman's events about a container of one of our units, logged by the `podman`
  // processes in that unit (run, and the cleanup conmon starts): its create, init,
  // start, died, restart, ... with the container's id. They tie a container (and the
  // cgroup named after its id) to the unit, and say when Podman restarted it.
  if (field(fields, "SYSLOG_IDENTIFIER") == "podman" && field(fields, "PODMAN_TYPE") == "container" &&
      units.count(field(fields, "_SYSTEMD_UNIT")) && !field(fields, "PODMAN_ID").empty()) {
    JournalRecord r;
    r.t = monotonicOf(fields);
    r.unit = field(fields, "_SYSTEMD_UNIT");
    r.MESSAGE = field(fields, "MESSAGE");
    r.INVOCATION_ID = field(fields, "_SYSTEMD_INVOCATION_ID");
    r.fields["SOURCE"] = kPodmanSource;
    for (const char* name : {"PODMAN_EVENT", "PODMAN_ID", "PODMAN_NAME", "PODMAN_EXIT_CODE"})
      if (auto it = fields.find(name); it != fields.end()) r.fields[name] = it->second;
    return r;
  }
  // The stressor's own JSON events (a child exited, resumed from a checkpoint) are
  // evidence too: they prove a batch job resumed rather than started over.
  const std::string source_unit = field(fields, "_SYSTEMD_UNIT");
  const std::string message = field(fields, "MESSAGE");
  if (message_id.empty() && units.count(source_unit) && message.find("\"event\":") != std::string::npos) {
    JournalRecord r;
    r.t = monotonicOf(fields);
    r.unit = source_unit;
    r.MESSAGE = message;
    r.INVOCATION_ID = field(fields, "_SYSTEMD_INVOCATION_ID");
    r.fields["SOURCE"] = "oomstress";
    return r;
  }
  return std::nullopt;
}

}  // namespace oom
