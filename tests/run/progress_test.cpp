// Live progress: a redrawn status block on a terminal, plain lines elsewhere
// (a pipe, CI=true, TERM=dumb), colour only on a terminal and never with NO_COLOR.
#include "run/progress.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

using namespace oom;

namespace {

const std::filesystem::path kSourceTree = OOM_SOURCE_DIR;

GuestPlan threeServicesPlan() {
  GuestPlan plan;
  plan.time_limit_sec = 120;
  for (const char* u : {"api.service", "redis.service", "report-worker.service"}) {
    PlannedUnit unit;
    unit.unit = u;
    plan.units.push_back(unit);
  }
  return plan;
}

// The recorded run fed line by line, as the guest streamed it; what the printer wrote.
std::string replay(const ProgressStyle& style, const std::string& fixture = "recorded-three-services-bookworm.jsonl",
                   const std::function<void(std::string&)>& edit = {}) {
  char* buf = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  {
    ProgressPrinter progress(out, threeServicesPlan(), style);
    Timeline tl;
    std::ifstream in(kSourceTree / "tests/checks/fixtures" / fixture);
    for (std::string line; std::getline(in, line);) {
      if (edit) edit(line);
      applyStreamLine(tl, line);
      progress.onRecord(tl);
    }
  }
  std::fclose(out);
  std::string text(buf, size);
  std::free(buf);
  return text;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// An environment variable set (or unset) for one scope.
class Env {
 public:
  Env(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~Env() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST(Progress, PlainLinesWhenNotATerminal) {
  const std::string out = replay(ProgressStyle{});
  EXPECT_TRUE(has(out, " kernel: KILLED pid 207 (oomstress) in report-worker.service, oom_score_adj 600, anon-rss 515MiB, "
                       "CONSTRAINT_NONE\n")) << out;
  EXPECT_TRUE(has(out, " guest: pressure\n")) << out;
  EXPECT_TRUE(has(out, " systemd: report-worker.service failed/failed Result=oom-kill")) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << "no escape sequence off a terminal";
}

TEST(Progress, ATerminalGetsOneBlockRedrawnInPlace) {
  ProgressStyle style;
  style.live = style.colour = true;
  style.width = 100;
  const std::string out = replay(style);
  EXPECT_TRUE(has(out, "F\x1b[J")) << "redraws move up and clear";
  // The last frame: everything after the last redraw.
  const std::string last = out.substr(out.rfind("\x1b[J") + 3);
  const std::string plain = std::regex_replace(last, std::regex("\x1b\\[[0-9;]*m"), "");
  EXPECT_TRUE(has(plain, "oomharness settled  elapsed ")) << plain;
  EXPECT_TRUE(has(plain, " of 2:00 time limit  kills 1  restarts 1")) << plain;
  EXPECT_TRUE(has(plain, "  report-worker.service ")) << plain;
  EXPECT_TRUE(has(plain, "killed 1")) << plain;
  EXPECT_TRUE(has(plain, "active/running")) << plain;
  EXPECT_TRUE(has(plain, "###")) << "a bar of memory against the guest's total";
  EXPECT_TRUE(has(last, "\x1b[31m")) << "the kill in red";
  std::istringstream lines(plain);
  for (std::string line; std::getline(lines, line);) EXPECT_LT(line.size(), 100u) << "cut to the width: " << line;
  // Far fewer frames than records: samples alone redraw at most every 250 ms.
  std::size_t frames = 0;
  for (auto i = out.find("\x1b[J"); i != std::string::npos; i = out.find("\x1b[J", i + 1)) ++frames;
  EXPECT_LT(frames, 200u);
}

TEST(Progress, NoColourWithoutColourEvenOnATerminal) {
  ProgressStyle style;
  style.live = true;
  style.colour = false;
  const std::string out = replay(style);
  EXPECT_TRUE(has(out, "\x1b[J"));
  EXPECT_FALSE(std::regex_search(out, std::regex("\x1b\\[[0-9;]*m"))) << "no SGR colour code";
}

TEST(Progress, GuestTextCannotReachTheTerminalRaw) {
  for (bool live : {false, true}) {
    ProgressStyle style;
    style.live = live;
    const std::string out = replay(style, "recorded-three-services-bookworm.jsonl", [](std::string& line) {
      const std::string from = "\"comm\":\"oomstress\"";
      if (const auto at = line.find(from); at != std::string::npos && has(line, "\"oom_kill\""))
        line.replace(at, from.size(), "\"comm\":\"oom\\u001b]0;pwned\\u0007\"");
    });
    EXPECT_TRUE(has(out, "oom\\x1b]0;pwned\\x07")) << out;
    EXPECT_EQ(out.find('\x07'), std::string::npos);
  }
}

TEST(Progress, StyleFollowsTheTerminalCiTermAndNoColor) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  std::FILE* tty = ::fdopen(slave, "w");
  std::FILE* file = std::tmpfile();
  {
    Env term("TERM", "xterm-256color"), ci("CI", std::nullopt), no_color("NO_COLOR", std::nullopt);
    EXPECT_TRUE(detectProgressStyle(tty).live);
    EXPECT_TRUE(detectProgressStyle(tty).colour);
    EXPECT_FALSE(detectProgressStyle(file).live) << "a file is not a terminal";
    EXPECT_FALSE(detectProgressStyle(file).colour);
    {
      Env on("NO_COLOR", "1");
      EXPECT_TRUE(detectProgressStyle(tty).live);
      EXPECT_FALSE(detectProgressStyle(tty).colour);
    }
    {
      Env empty("NO_COLOR", "");  // no-color.org: only a non-empty value counts
      EXPECT_TRUE(detectProgressStyle(tty).colour);
    }
    {
      Env in_ci("CI", "true");
      EXPECT_FALSE(detectProgressStyle(tty).live);
      EXPECT_FALSE(detectProgressStyle(tty).colour);
    }
    {
      Env dumb("TERM", "dumb");
      EXPECT_FALSE(detectProgressStyle(tty).live);
    }
  }
  std::fclose(file);
  std::fclose(tty);
  ::close(master);
}
