#include "guest/journal_filter.hpp"

#include <cstdint>

#include "oom/text.hpp"

namespace oom {
namespace {

// sd-messages.h names (checked against systemd's src/systemd/sd-messages.h), for a
// reader who greps systemd's sources. UNIT_STARTED/UNIT_FAILED are about the start
// job: UNIT_FAILED is a failed start job, not the unit entering "failed".
const std::set<std::string>& unitMessageIds() {
  static const std::set<std::string> ids = {
      "fe6faa94e7774663a0da52717891d8ef",  // UNIT_OUT_OF_MEMORY: a process was killed by the OOM killer
      "d9b373ed55a64feb8242e02dbe79a49c",  // UNIT_FAILURE_RESULT: "Failed with result 'oom-kill'" (UNIT_RESULT)
      "5eb03494b6584870a536b337290809b3",  // UNIT_RESTART_SCHEDULED (N_RESTARTS)
      "98e322203f7a4ed290d09fe03c09fe15",  // UNIT_PROCESS_EXIT (EXIT_CODE, EXIT_STATUS)
      "39f53479d3a045ac8e11786248231fbf",  // UNIT_STARTED (start job done, JOB_RESULT)
      "be02cf6855d2428ba40df7e9d022f03d",  // UNIT_FAILED (start job failed, JOB_RESULT)
      "9d1aaa27d60140bd96365438aad20286",  // UNIT_STOPPED (stop job done)
      "7ad2d189f7e94e70a38c781354912448",  // UNIT_SUCCESS: unit deactivated successfully
      "641257651c1b4ec9a8624d7a40a9e1e7",  // SPAWN_FAILED
      "d989611b15e44c9dbf31e3c81256e4ed",  // UNIT_OOMD_KILL: systemd-oomd killed processes of this unit
  };
  return ids;
}

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
    "USER_UNIT",  "USER_INVOCATION_ID"};
const std::size_t kJournalFieldCount = sizeof kJournalFieldNames / sizeof kJournalFieldNames[0];

bool isUnitMessageId(const std::string& message_id) { return unitMessageIds().count(message_id) > 0; }

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
