#include "timeline/timeline.hpp"

#include <algorithm>
#include <cmath>

#include "oom/units.hpp"
#include "scenario/json_reader.hpp"
#include "timeline/limits.hpp"
#include "timeline/message_ids.hpp"

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

double recordTime(const nlohmann::json& record) {
  if (record.is_object() && record.contains("t") && record["t"].is_number()) return record["t"].get<double>();
  return -1;
}

// A line as a record, within timeline_limits::kMaxRecordDepth.
bool parseRecord(const std::string& line, nlohmann::json& record) {
  static const JsonReadRules rules = [] {
    JsonReadRules r;
    r.max_depth = timeline_limits::kMaxRecordDepth;
    r.depth_note = "a record needs 3";
    r.printable_text = false;  // guest text: kernel and journal lines
    r.what = "an observer record";
    return r;
  }();
  ErrorList errors;
  return readLimitedJson(line, "record", rules, record, errors);
}

using namespace timeline_limits;

// The end record, which is folded even past the budget: without it a timeline
// that was only too long would read as a guest that died.
bool isEndRecord(const std::string& line) {
  if (line.size() > kMinRecordCharge) return false;
  nlohmann::json record;
  return parseRecord(line, record) && record.is_object() && record.value("type", nlohmann::json()) == kRecordEnd;
}

// Past the timeline's budget nothing but the end record is folded: one untimed
// loss (it may have been any record of the run) counts what was left out.
bool pastBudget(Timeline& timeline, const std::string& line) {
  if (isEndRecord(line)) return true;
  Loss* last = timeline.losses.empty() ? nullptr : &timeline.losses.back();
  if (last && last->what == "over_budget" && last->t == -1 && last->detail.starts_with("records past")) {
    ++last->count;
    return false;
  }
  timeline.losses.push_back(Loss{-1, "channel", "over_budget", 1,
                                 "records past the timeline's budget of " + formatSize(kMaxTimelineBytes) +
                                     " (timeline/limits.hpp) not folded"});
  return false;
}

// Charges `bytes` against kMaxTimelineBytes. Past it the budget is spent: this
// record and every later one but the end record are left out, counted in one loss.
bool charge(Timeline& timeline, std::uint64_t bytes, const std::string& line) {
  if (timeline.folded_bytes + bytes <= kMaxTimelineBytes) {
    timeline.folded_bytes += bytes;
    return true;
  }
  timeline.folded_bytes = kMaxTimelineBytes;
  pastBudget(timeline, line);
  return false;
}

// A line the host could not fold is evidence lost: it becomes a "loss" record
// (source "channel"), timed by its own "t" when that much could be read, else -1
// (unknown: it may have been any record of the run). Repeats of the same kind at
// the same time are counted in one record.
bool notUnderstood(Timeline& timeline, const std::string& line, const nlohmann::json& record, const char* what) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return false;  // an empty line carries nothing
  if (!charge(timeline, kMinRecordCharge, line)) return false;
  const double t = recordTime(record);
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

// What a folded record costs: its bytes in result.json, which writes it with
// indentation 2 at $.timeline.LIST[i] (three levels in: every line of it starts
// with 6 more spaces, and it ends with ",\n"), the defaults of the fields the line
// left out included (2.7 MB of `{}` processes made a 137 MB result.json when lines
// were counted instead); at least kMinRecordCharge.
std::uint64_t chargeOf(const nlohmann::json& folded) {
  constexpr std::size_t kPad = 2 * 3;
  const std::string text = folded.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  const auto lines = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  return std::max<std::uint64_t>(text.size() + lines * kPad + 2, kMinRecordCharge);
}

// False when the line is not to be folded: blank, the budget spent, or longer
// than a record may be (a loss).
bool withinBudget(Timeline& timeline, const std::string& line) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return false;  // an empty line carries nothing
  if (timeline.folded_bytes >= kMaxTimelineBytes) return pastBudget(timeline, line);
  if (line.size() <= kMaxRecordBytes) return true;
  if (!charge(timeline, kMinRecordCharge, line)) return false;
  timeline.losses.push_back(Loss{-1, "channel", "over_budget", 1,
                                 "a line of " + std::to_string(line.size()) + " bytes, over the " +
                                     formatSize(kMaxRecordBytes) + " a record may take, not folded"});
  return false;
}

// A string at most kMaxStringBytes, cut at a UTF-8 character boundary.
void cutString(std::string& s) {
  std::size_t cut = kMaxStringBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  const std::size_t dropped = s.size() - cut;
  s.resize(cut);
  s += "... (" + std::to_string(dropped) + " bytes cut)";
}

struct Cuts {
  std::size_t arrays = 0, strings = 0;
};

// Within a record: arrays cut to kMaxArrayItems, strings to kMaxStringBytes.
// Recursive, within kMaxRecordDepth.
void trimValue(nlohmann::json& v, Cuts& cuts) {
  if (v.is_string()) {
    if (v.get_ref<const std::string&>().size() > kMaxStringBytes) {
      cutString(v.get_ref<std::string&>());
      ++cuts.strings;
    }
    return;
  }
  if (v.is_array() && v.size() > kMaxArrayItems) {
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(kMaxArrayItems), v.end());
    ++cuts.arrays;
  }
  if (v.is_structured())
    for (auto& item : v) trimValue(item, cuts);
}

// Trims the record to its budget; what was cut is a loss at the record's time.
void trimRecord(Timeline& timeline, nlohmann::json& record) {
  Cuts cuts;
  trimValue(record, cuts);
  if (cuts.arrays == 0 && cuts.strings == 0) return;
  const std::string type = record["type"];
  timeline.losses.push_back(Loss{recordTime(record), "channel", "over_budget", 1,
                                 "a " + type + " record with " + std::to_string(cuts.arrays) + " list(s) cut to " +
                                     std::to_string(kMaxArrayItems) + " items and " + std::to_string(cuts.strings) +
                                     " text(s) cut to " + std::to_string(kMaxStringBytes) + " bytes"});
}

// Charges a converted record against the budget. False, and not kept, when
// written out it would be more than kMaxRecordExpansion times its line (each
// field the line left out is written with its default), or past the budget.
bool chargeRecord(Timeline& timeline, const std::string& line, const nlohmann::json& record,
                  const nlohmann::json& folded) {
  const std::uint64_t cost = chargeOf(folded);
  if (cost <= kMaxRecordExpansion * line.size() + kRecordDefaultsBytes) return charge(timeline, cost, line);
  if (!charge(timeline, kMinRecordCharge, line)) return false;
  timeline.losses.push_back(Loss{recordTime(record), "channel", "over_budget", 1,
                                 "a " + record["type"].get<std::string>() + " record of " +
                                     std::to_string(line.size()) + " bytes that would be written as " +
                                     std::to_string(cost) + " (more than " + std::to_string(kMaxRecordExpansion) +
                                     " times its line), not folded"});
  return false;
}

// Converts the record and keeps it, within the budget.
template <typename T>
bool keep(Timeline& timeline, const std::string& line, const nlohmann::json& record, std::vector<T>& into) {
  T value = record.get<T>();
  if (!chargeRecord(timeline, line, record, nlohmann::json(value))) return false;
  into.push_back(std::move(value));
  return true;
}

template <typename T>
bool keepOne(Timeline& timeline, const std::string& line, const nlohmann::json& record, T& into) {
  T value = record.get<T>();
  if (!chargeRecord(timeline, line, record, nlohmann::json(value))) return false;
  into = std::move(value);
  return true;
}

bool foldKmsg(Timeline& timeline, const std::string& line, const nlohmann::json& record) {
  std::string text = record.value("line", "");
  if (!chargeRecord(timeline, line, record, nlohmann::json(text))) return false;
  timeline.raw_kernel_oom_lines.push_back(std::move(text));
  return true;
}

bool foldTyped(Timeline& timeline, const std::string& line, const nlohmann::json& record, const std::string& type) {
  if (type == kRecordGuest) return keepOne(timeline, line, record, timeline.guest);
  if (type == kRecordPlan) return keepOne(timeline, line, record, timeline.plan);
  if (type == kRecordUnitSetup) return keep(timeline, line, record, timeline.setup);
  if (type == kRecordOomKill) return keep(timeline, line, record, timeline.kills);
  if (type == kRecordUnitState) return keep(timeline, line, record, timeline.states);
  if (type == kRecordJournal) return keep(timeline, line, record, timeline.journal);
  if (type == kRecordSample) return keep(timeline, line, record, timeline.samples);
  if (type == kRecordPhase) return keep(timeline, line, record, timeline.phases);
  if (type == kRecordKmsg) return foldKmsg(timeline, line, record);
  if (type == kRecordGuestSample) return keep(timeline, line, record, timeline.guest_samples);
  if (type == kRecordObserverGap) return keep(timeline, line, record, timeline.gaps);
  if (type == kRecordLoss) return keep(timeline, line, record, timeline.losses);
  if (type == kRecordOomd) return keep(timeline, line, record, timeline.oomd);
  if (type == kRecordProbe) return keep(timeline, line, record, timeline.probes);
  if (type == kRecordContainer) return keep(timeline, line, record, timeline.containers);
  if (type == kRecordEnd) {
    timeline.complete = true;
    timeline.guest_status = record.value("status", -1);
    return true;
  }
  return notUnderstood(timeline, line, record, "unknown_record");
}

bool foldRecord(Timeline& timeline, const std::string& line, const nlohmann::json& record) {
  try {
    return foldTyped(timeline, line, record, record["type"].get<std::string>());
  } catch (const nlohmann::json::exception&) {
    return notUnderstood(timeline, line, record, "unparsable_line");
  }
}

}  // namespace

bool applyStreamLine(Timeline& timeline, const std::string& line) {
  if (!withinBudget(timeline, line)) return false;
  nlohmann::json record;
  // Not JSON (or too deep): what was read of it is no time of anything.
  if (!parseRecord(line, record)) return notUnderstood(timeline, line, nlohmann::json(), "unparsable_line");
  if (!record.is_object() || !record.contains("type") || !record["type"].is_string())
    return notUnderstood(timeline, line, record, "unparsable_line");
  if (!floatsFitAnyField(record)) return notUnderstood(timeline, line, record, "unparsable_line");
  trimRecord(timeline, record);
  return foldRecord(timeline, line, record);
}

std::string processLabel(std::string_view comm, std::string_view title) {
  const std::string_view first = title.substr(0, title.find(' '));
  const std::string_view program = first.substr(first.rfind('/') + 1);  // npos + 1 == 0
  constexpr std::size_t kCommMax = 15;  // TASK_COMM_LEN - 1: the kernel cuts longer names
  const bool exec_line = !comm.empty() && (program == comm || (comm.size() == kCommMax && program.starts_with(comm)));
  if (title.empty() || title == comm || exec_line) return std::string(comm);
  const std::string quoted = "\"" + std::string(title) + "\"";
  return comm.empty() ? quoted : std::string(comm) + " " + quoted;
}

PodmanEvent podmanEvent(const JournalRecord& j) {
  const auto source = j.fields.find("SOURCE");
  if (source == j.fields.end() || source->second != kPodmanSource) return {};
  const auto event = j.fields.find("PODMAN_EVENT"), id = j.fields.find("PODMAN_ID");
  if (event == j.fields.end() || event->second.empty()) return {};
  return PodmanEvent{event->second, id == j.fields.end() ? std::string_view() : std::string_view(id->second)};
}

}  // namespace oom
