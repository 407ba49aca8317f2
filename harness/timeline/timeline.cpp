#include "timeline/timeline.hpp"

namespace oom {

nlohmann::json toStreamRecord(const std::string& type, const nlohmann::json& body) {
  nlohmann::json record = body;
  record["type"] = type;
  return record;
}

namespace {

// A line the host could not fold is evidence lost: it becomes a "loss" record
// (source "channel"), timed by its own "t" when that much could be read, else -1
// (unknown: it may have been any record of the run). Repeats of the same kind at
// the same time are counted in one record.
bool notUnderstood(Timeline& timeline, const std::string& line, const nlohmann::json& record, const char* what) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return false;  // an empty line carries nothing
  double t = -1;
  if (record.is_object() && record.contains("t") && record["t"].is_number()) t = record["t"].get<double>();
  if (!timeline.losses.empty()) {
    Loss& last = timeline.losses.back();
    if (last.source == "channel" && last.what == what && last.t == t) {
      ++last.count;
      return false;
    }
  }
  std::string detail;
  for (char c : line.substr(0, 60)) detail += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (line.size() > 60) detail += "...";
  timeline.losses.push_back(Loss{t, "channel", what, 1, detail});
  return false;
}

}  // namespace

bool applyStreamLine(Timeline& timeline, const std::string& line) {
  const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record.contains("type") || !record["type"].is_string())
    return notUnderstood(timeline, line, record, "unparsable_line");
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
    } else return notUnderstood(timeline, line, record, "unknown_record");
  } catch (const nlohmann::json::exception&) {
    return notUnderstood(timeline, line, record, "unparsable_line");
  }
  return true;
}

}  // namespace oom
