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
    if (type == "guest") timeline.guest = record.get<GuestInfo>();
    else if (type == "unit_setup") timeline.setup.push_back(record.get<UnitSetup>());
    else if (type == "oom_kill") timeline.kills.push_back(record.get<KernelOomKill>());
    else if (type == "unit_state") timeline.states.push_back(record.get<UnitStateChange>());
    else if (type == "journal") timeline.journal.push_back(record.get<JournalRecord>());
    else if (type == "sample") timeline.samples.push_back(record.get<MemorySample>());
    else if (type == "phase") timeline.phases.push_back(record.get<Phase>());
    else if (type == "kmsg") timeline.raw_kernel_oom_lines.push_back(record.value("line", ""));
    else if (type == kEndRecordType) {
      timeline.complete = true;
      timeline.guest_status = record.value("status", -1);
    } else return false;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

}  // namespace oom
