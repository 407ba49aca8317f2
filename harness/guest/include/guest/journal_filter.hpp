#pragma once
// Which journal entries become "journal" records: systemd's own messages about a
// planned unit (by MESSAGE_ID, see sd-messages.h and the catalog), systemd-oomd's
// "Killed ..." lines and the ranking it logs before a kill (timeline/message_ids.hpp),
// and the stressor's JSON events logged from inside a planned unit. A pure function
// on the entry's fields, so it is tested without a journal.
#include <map>
#include <optional>
#include <set>
#include <string>

#include "timeline/timeline.hpp"

namespace oom {

// Field name -> value of one journal entry, plus "__MONOTONIC_TIMESTAMP" (usec).
using JournalFields = std::map<std::string, std::string>;

// The fields the observer reads from each entry (the filter looks at no others).
extern const char* const kJournalFieldNames[];
extern const std::size_t kJournalFieldCount;

// One of the MESSAGE_IDs kept (timeline/message_ids.hpp kUnitMessageIds).
bool isUnitMessageId(const std::string& message_id);

std::optional<JournalRecord> journalRecordFor(const JournalFields& fields, const std::set<std::string>& units);

}  // namespace oom
