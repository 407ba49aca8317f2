#include "run/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

constexpr std::size_t kRecentEvents = 4;
constexpr auto kRedrawEvery = std::chrono::milliseconds(250);  // samples alone redraw at most this often
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kReset = "\x1b[0m";

bool envNonEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}

// A line of pieces, each with its colour, cut to `width` characters (UTF-8 code
// points; colour codes take none), so that no line wraps and the redraw can count lines.
class Line {
 public:
  Line& add(std::string text, const char* sgr = nullptr) {
    parts_.push_back({std::move(text), sgr});
    return *this;
  }
  std::string render(int width, bool colour) const {
    std::string out;
    int left = width;
    for (const auto& part : parts_) {
      std::string piece;
      for (const char ch : part.text) {
        const bool lead = (static_cast<unsigned char>(ch) & 0xc0) != 0x80;
        if (lead && left == 0) break;
        if (lead) --left;
        piece += ch;
      }
      if (piece.empty()) continue;
      out += colour && part.sgr ? std::string(part.sgr) + piece + kReset : piece;
    }
    return out;
  }

 private:
  struct Part {
    std::string text;
    const char* sgr;
  };
  std::vector<Part> parts_;
};

std::string minutes(double sec) {
  if (sec < 0) sec = 0;
  char b[32];
  std::snprintf(b, sizeof b, "%d:%02d", static_cast<int>(sec) / 60, static_cast<int>(sec) % 60);
  return b;
}

std::string padRight(std::string s, std::size_t n) {
  if (s.size() < n) s.append(n - s.size(), ' ');
  return s;
}

std::string bar(double fraction, int cells, bool unicode) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int full = static_cast<int>(fraction * cells + 0.5);
  std::string out;
  for (int i = 0; i < cells; ++i) out += i < full ? (unicode ? "█" : "#") : (unicode ? "░" : ".");
  return out;
}

}  // namespace

ProgressStyle detectProgressStyle(std::FILE* out) {
  ProgressStyle s;
  const int fd = out ? fileno(out) : -1;
  const char* ci = std::getenv("CI");
  const bool in_ci = ci && *ci && std::strcmp(ci, "false") != 0 && std::strcmp(ci, "0") != 0;
  const char* term = std::getenv("TERM");
  const bool dumb = !term || !*term || std::strcmp(term, "dumb") == 0;
  s.live = fd >= 0 && ::isatty(fd) && !in_ci && !dumb;
  s.colour = s.live && !envNonEmpty("NO_COLOR");
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    if (!envNonEmpty(name)) continue;
    std::string v = std::getenv(name);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    s.unicode = v.find("utf-8") != std::string::npos || v.find("utf8") != std::string::npos;
    break;
  }
  winsize ws{};
  if (fd >= 0 && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    s.width = ws.ws_col;
  else if (const char* columns = std::getenv("COLUMNS"))
    s.width = parseNumber<int>(columns).value_or(80);
  s.width = std::clamp(s.width, 40, 400);
  return s;
}

ProgressPrinter::ProgressPrinter(std::FILE* out) : out_(out), style_(detectProgressStyle(out)) {}

ProgressPrinter::ProgressPrinter(std::FILE* out, const GuestPlan& plan)
    : ProgressPrinter(out, plan, detectProgressStyle(out)) {}

ProgressPrinter::ProgressPrinter(std::FILE* out, const GuestPlan& plan, ProgressStyle style)
    : out_(out), style_(style), time_limit_sec_(plan.time_limit_sec) {
  for (const auto& u : plan.units) units_.push_back(u.unit);
}

std::string ProgressPrinter::stamp(double t) {
  if (t0_ < 0) t0_ = t;
  char buf[32];
  std::snprintf(buf, sizeof buf, "[%+7.1fs]", t - t0_);
  return buf;
}

// A plain line is printed as it comes; on a terminal it joins the block's last events.
void ProgressPrinter::event(std::string line, bool& changed) {
  changed = true;
  if (!style_.live) {
    std::fprintf(out_, "%s\n", line.c_str());
    return;
  }
  recent_.push_back(std::move(line));
  while (recent_.size() > kRecentEvents) recent_.pop_front();
}

void ProgressPrinter::onRecord(const Timeline& tl) {
  bool changed = false;
  auto seen = [&](double t, const std::string& unit) {
    latest_t_ = std::max(latest_t_, t);
    if (t0_ < 0) t0_ = t;
    if (!unit.empty() && std::find(units_.begin(), units_.end(), unit) == units_.end()) units_.push_back(unit);
  };
  for (; setups_ < tl.setup.size(); ++setups_) {
    const auto& s = tl.setup[setups_];
    seen(s.t, s.unit);
    event(stamp(s.t) + " " + printable(s.unit) + ": settings " + (s.mismatches.empty() ? "applied" : "NOT applied") +
              ", " + std::to_string(s.processes.size()) + " process(es)",
          changed);
  }
  for (; phases_ < tl.phases.size(); ++phases_) {
    const auto& p = tl.phases[phases_];
    seen(p.t, "");
    phase_ = printable(p.name);
    event(stamp(p.t) + " guest: " + printable(p.name) + (p.detail.empty() ? "" : ": " + printable(p.detail)), changed);
  }
  for (; kills_ < tl.kills.size(); ++kills_) {
    const auto& k = tl.kills[kills_];
    seen(k.t, k.unit);
    ++status_[k.unit].kills;
    char rss[64];
    std::snprintf(rss, sizeof rss, "%lluMiB", static_cast<unsigned long long>(k.anon_rss_kb / 1024));
    event(stamp(k.t) + " kernel: " + (k.group_kill ? "group-killed" : "KILLED") + " pid " + std::to_string(k.pid) +
              " (" + printable(processLabel(k.comm, k.cmdline)) + ") in " + printable(k.unit.empty() ? k.task_memcg : k.unit) +
              ", oom_score_adj " + std::to_string(k.oom_score_adj) + ", anon-rss " + rss + ", " +
              printable(k.constraint),
          changed);
  }
  for (; states_ < tl.states.size(); ++states_) {
    const auto& s = tl.states[states_];
    seen(s.t, s.unit);
    UnitStatus& u = status_[s.unit];
    u.state = printable(s.ActiveState) + "/" + printable(s.SubState);
    u.restarts = std::max(u.restarts, s.NRestarts);
    event(stamp(s.t) + " systemd: " + printable(s.unit) + " " + u.state + " Result=" + printable(s.Result) +
              " NRestarts=" + std::to_string(s.NRestarts) + " MainPID=" + std::to_string(s.MainPID),
          changed);
  }
  for (; samples_ < tl.samples.size(); ++samples_) {
    const auto& s = tl.samples[samples_];
    seen(s.t, s.unit);
    if (s.isAvailable(kCgroupMemoryCurrent)) status_[s.unit].memory = s.memory_current;
  }
  for (; guest_samples_ < tl.guest_samples.size(); ++guest_samples_) {
    const auto& g = tl.guest_samples[guest_samples_];
    seen(g.t, "");
    if (g.isAvailable(kGuestMeminfo) &&
        tl.guest.mem_total_bytes >= g.mem_available_bytes) {
      guest_used_ = tl.guest.mem_total_bytes - g.mem_available_bytes;
      guest_sampled_ = true;
    }
  }
  if (!style_.live) {
    std::fflush(out_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (changed || now - last_draw_ >= kRedrawEvery) {
    last_draw_ = now;
    redraw(tl);
  }
}

void ProgressPrinter::redraw(const Timeline& tl) {
  const bool c = style_.colour;
  const int width = style_.width - 1;  // the last column would wrap on some terminals
  std::size_t name_w = 12;
  for (const auto& u : units_) name_w = std::max(name_w, std::min<std::size_t>(u.size(), 28));
  const int cells = std::clamp(width - static_cast<int>(name_w) - 44, 10, 40);
  const double total = static_cast<double>(tl.guest.mem_total_bytes);
  unsigned kills = 0;
  std::uint32_t restarts = 0;
  for (const auto& [unit, s] : status_) {
    kills += s.kills;
    restarts += s.restarts;
  }

  std::vector<Line> lines;
  const double elapsed = t0_ < 0 ? 0 : latest_t_ - t0_;
  Line head;
  head.add("oomharness ").add(phase_, kBold).add("  elapsed " + minutes(elapsed));
  if (time_limit_sec_ > 0) head.add(" of " + minutes(time_limit_sec_) + " time limit");
  head.add("  kills ").add(std::to_string(kills), kills ? kRed : nullptr).add("  restarts " + std::to_string(restarts));
  lines.push_back(head);
  auto levelColour = [&](double fraction) { return fraction < 0.5 ? kGreen : fraction < 0.8 ? kYellow : kRed; };
  for (const auto& u : units_) {
    const auto it = status_.find(u);
    const UnitStatus s = it == status_.end() ? UnitStatus{} : it->second;
    const double fraction = total > 0 ? static_cast<double>(s.memory) / total : 0;
    Line l;
    l.add("  " + padRight(printable(u.size() > 28 ? u.substr(0, 27) + "~" : u), name_w) + " ")
        .add(bar(fraction, cells, style_.unicode), levelColour(fraction))
        .add(" " + padRight(formatSize(s.memory), 9) + " ")
        .add(s.state.empty() ? "not started" : s.state, s.state.rfind("active/", 0) == 0 ? nullptr : kYellow);
    if (s.kills) l.add("  killed " + std::to_string(s.kills), kRed);
    lines.push_back(l);
  }
  if (total > 0 && guest_sampled_) {
    const double fraction = static_cast<double>(guest_used_) / total;
    lines.push_back(Line()
                        .add("  " + padRight("guest in use", name_w) + " ")
                        .add(bar(fraction, cells, style_.unicode), levelColour(fraction))
                        .add(" " + formatSize(guest_used_) + " of " + formatSize(tl.guest.mem_total_bytes), kDim));
  }
  for (const auto& r : recent_) lines.push_back(Line().add("  " + r, r.find(" kernel: ") != std::string::npos ? kRed : kDim));

  std::string frame;
  if (lines_drawn_ > 0) frame += "\x1b[" + std::to_string(lines_drawn_) + "F\x1b[J";  // back to the block's top, clear
  for (const auto& l : lines) frame += l.render(width, c) + "\n";
  std::fputs(frame.c_str(), out_);
  std::fflush(out_);
  lines_drawn_ = lines.size();
}

}  // namespace oom
