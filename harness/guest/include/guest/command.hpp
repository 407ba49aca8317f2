#pragma once
// A program the guest agent runs and waits for (oomctl, modprobe, mkswap, swapon),
// with its output kept for the error message.
#include <string>

#include "oom/expected.hpp"

namespace oom {

// `command` through /bin/sh, stderr folded into stdout (at most 256 KiB kept).
// The output when it exits 0; else an error naming `what`, the status and the output.
Expected<std::string> runGuestCommand(const std::string& command, const std::string& what);

}  // namespace oom
