#include "timeline/timeline.hpp"

#include <cmath>

namespace oom {

void to_json(nlohmann::json& j, const MemorySample& s) {
  j = nlohmann::json{{"t", s.t}, {"unit", s.unit}};
  if (s.isAvailable(kCgroupMemoryCurrent)) j["memory_current"] = s.memory_current;
  if (s.isAvailable(kCgroupMemoryPeak)) j["memory_peak"] = s.memory_peak;
  if (s.memory_swap_current) j["memory_swap_current"] = *s.memory_swap_current;
  if (s.isAvailable(kCgroupMemoryEvents)) j["memory_events"] = s.memory_events;
  if (s.isAvailable(kCgroupMemoryPressure)) {
    j["pressure_some_avg10"] = s.pressure_some_avg10;
    j["pressure_full_avg10"] = s.pressure_full_avg10;
  }
  if (s.isAvailable(kCgroupProcs)) j["processes"] = s.processes;
  if (!s.unavailable.empty()) j["unavailable"] = s.unavailable;
}

void from_json(const nlohmann::json& j, MemorySample& s) {
  const MemorySample d;
  s.t = j.value("t", d.t);
  s.unit = j.value("unit", d.unit);
  s.memory_current = j.value("memory_current", d.memory_current);
  s.memory_peak = j.value("memory_peak", d.memory_peak);
  if (j.contains("memory_swap_current")) s.memory_swap_current = j.at("memory_swap_current").get<std::uint64_t>();
  s.memory_events = j.value("memory_events", d.memory_events);
  s.pressure_some_avg10 = j.value("pressure_some_avg10", d.pressure_some_avg10);
  s.pressure_full_avg10 = j.value("pressure_full_avg10", d.pressure_full_avg10);
  s.processes = j.value("processes", d.processes);
  s.unavailable = j.value("unavailable", d.unavailable);
}

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

// nlohmann converts a JSON float into an integer field with a plain cast, which
// is undefined for a value the field cannot hold (the fuzzer sent memory_current
// as 1.6e82, read as a float). Every float the guest writes is a time, a length
// or a PSI percentage: non-negative and far below 2^31. A record with any other
// float is not folded.
bool floatsFitAnyField(const nlohmann::json& value) {
  if (value.is_number_float()) {
    const double x = value.get<double>();
    return std::isfinite(x) && x >= 0 && x < 2147483648.0;
  }
  if (value.is_structured())
    for (const auto& item : value)
      if (!floatsFitAnyField(item)) return false;
  return true;
}

}  // namespace

bool applyStreamLine(Timeline& timeline, const std::string& line) {
  const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record.contains("type") || !record["type"].is_string())
    return notUnderstood(timeline, line, record, "unparsable_line");
  if (!floatsFitAnyField(record)) return notUnderstood(timeline, line, record, "unparsable_line");
  const std::string type = record["type"];
  try {
    if (type == kRecordGuest) timeline.guest = record.get<GuestInfo>();
    else if (type == kRecordPlan) timeline.plan = record.get<PlanRecord>();
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
    else if (type == kRecordOomd) timeline.oomd.push_back(record.get<OomdStatus>());
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
