#include "timeline/timeline.hpp"

namespace oom {

nlohmann::json toStreamRecord(const std::string& type, const nlohmann::json& body) {
  nlohmann::json record = body;
  record["type"] = type;
  return record;
}

bool applyStreamLine(Timeline& timeline, const std::string& line) {
  const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record.contains("type") || !record["type"].is_string()) return false;
  const std::string type = record["type"];
  try {
    if (type == kRecordGuest) timeline.guest = record.get<GuestInfo>();
    else if (type == kRecordUnitSetup) timeline.setup.push_back(record.get<UnitSetup>());
    else if (type == kRecordOomKill) timeline.kills.push_back(record.get<KernelOomKill>());
    else if (type == kRecordUnitState) timeline.states.push_back(record.get<UnitStateChange>());
    else if (type == kRecordJournal) timeline.journal.push_back(record.get<JournalRecord>());
    else if (type == kRecordSample) timeline.samples.push_back(record.get<MemorySample>());
    else if (type == kRecordPhase) timeline.phases.push_back(record.get<Phase>());
    else if (type == kRecordKmsg) timeline.raw_kernel_oom_lines.push_back(record.value("line", ""));
    else if (type == kRecordGuestSample) timeline.guest_samples.push_back(record.get<GuestSample>());
    else if (type == kRecordObserverGap) timeline.gaps.push_back(record.get<ObserverGap>());
    else if (type == kRecordLoss) timeline.losses.push_back(record.get<Loss>());
    else if (type == kRecordEnd) {
      timeline.complete = true;
      timeline.guest_status = record.value("status", -1);
    } else return false;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

}  // namespace oom
