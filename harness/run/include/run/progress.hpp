#pragma once
// Live progress while the guest runs, timed from the first record.
//   On a terminal: one status block redrawn in place: the phase, elapsed time
//   against the time limit, each unit's memory.current as a bar against the
//   guest's MemTotal with its state, kills and restarts so far, the last events.
//   Otherwise (stdout a pipe or a file, CI=true, TERM=dumb): one plain line per
//   meaningful record (unit setups, phases, kernel kills, unit state changes).
// Colour only on a terminal, and never when NO_COLOR is set to anything but ""
// (no-color.org). `run --quiet` prints neither. Text from the guest is printable().
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "plan/guest_plan.hpp"
#include "timeline/timeline.hpp"

namespace oom {

struct ProgressStyle {
  bool live = false;     // redraw one status block
  bool colour = false;   // ANSI colours
  bool unicode = false;  // block characters for the bars (a UTF-8 locale)
  int width = 80;        // terminal columns; lines are cut to fit, so none wraps
};

// From `out` (a terminal?) and the environment: CI, TERM, NO_COLOR, the locale, COLUMNS.
ProgressStyle detectProgressStyle(std::FILE* out);

class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::FILE* out);                  // style detected; units as they appear
  ProgressPrinter(std::FILE* out, const GuestPlan& plan);      // style detected; the plan's units and time limit
  ProgressPrinter(std::FILE* out, const GuestPlan& plan, ProgressStyle style);
  // Called after each streamed line was folded into `timeline`.
  void onRecord(const Timeline& timeline);

 private:
  std::FILE* out_;
  ProgressStyle style_;
  double time_limit_sec_ = 0;
  std::vector<std::string> units_;  // in plan order, then as they appear
  std::size_t phases_ = 0, kills_ = 0, states_ = 0, setups_ = 0, samples_ = 0, guest_samples_ = 0;
  double t0_ = -1, latest_t_ = -1;
  // What the live block shows, kept up to date from each new record.
  struct UnitStatus {
    std::uint64_t memory = 0;  // memory.current, last sample
    std::string state;         // ActiveState/SubState, last change
    unsigned kills = 0;        // kernel OOM kills (group members included)
    std::uint32_t restarts = 0;
  };
  std::map<std::string, UnitStatus> status_;
  std::uint64_t guest_used_ = 0;
  bool guest_sampled_ = false;  // older guests send no guest samples
  std::string phase_ = "starting units";
  std::deque<std::string> recent_;  // the last few event lines
  std::size_t lines_drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};

  std::string stamp(double t);
  void event(std::string line, bool& changed);
  void redraw(const Timeline& timeline);
};

}  // namespace oom
