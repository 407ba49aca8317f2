#pragma once
// The `capture` command itself, shared by `oomharness capture` (host) and
// `oomharness-guest capture` (inside a guest, where the host binary's libraries
// are absent): the same options, output and exit statuses.
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

// The oomharness exit statuses capture uses (run/exit_status.hpp has the same numbers).
enum CaptureStatus : int {
  kCaptureOk = 0,
  kCaptureBadInput = 2,  // a flag, or an output place that cannot be written
  kCaptureNoHost = 3,    // not a systemd host, or systemd cannot be asked
};

struct CaptureOptions {
  std::string scenario_file;  // --scenario FILE: the skeleton ("-": stdout, instead of the table)
  std::string units_dir;      // --units DIR: the unit files and drop-ins
  bool json = false;          // --json: the capture (oomharness-capture/1) instead of the table
  bool all = false;           // --all: loaded services that are not running too
  std::size_t top = 20;       // --top N: victim rows in the table (0: all)
  std::string root = "/";     // where /proc, /etc and /dev/kmsg are (tests)
};

extern const char* const kCaptureUsage;

// The guest binary's arguments after "capture" (it has no CLI11).
Expected<CaptureOptions> parseCaptureArgs(const std::vector<std::string>& args);

// Everything: options checked (2) before the host is read (3 if it cannot be),
// then table or JSON on `out`, the files written, what was left out on `err`.
int runCapture(const CaptureOptions& options, std::FILE* out, std::FILE* err);

}  // namespace oom
