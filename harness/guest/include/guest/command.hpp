#pragma once
// A program the guest agent runs (oomctl, modprobe, mkswap, swapon), with its
// output kept for the error message. ChildCommand starts it without waiting, so
// an event loop can watch its output (Observer::commandOutput) and keep
// dispatching meanwhile; runGuestCommand waits for it in place.
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

class ChildCommand {
 public:
  // Runs argv[0] (searched in PATH) with stdin from /dev/null and stderr folded
  // into stdout; `what` names it in errors.
  static Expected<ChildCommand> start(const std::vector<std::string>& argv, std::string what);
  ChildCommand(ChildCommand&& other) noexcept;
  ChildCommand& operator=(ChildCommand&&) = delete;
  ChildCommand(const ChildCommand&) = delete;
  ~ChildCommand();  // a child still running is killed and reaped

  int fd() const { return fd_; }  // its output, non-blocking
  const std::string& what() const { return what_; }
  // Reads whatever output is there now (at most keepAtMost(), 256 KiB unless set,
  // kept; the rest read and dropped); true once it has ended.
  bool readAvailable();
  void keepAtMost(std::size_t bytes) { keep_ = bytes; }
  const std::string& output() const { return output_; }
  bool ended() const { return ended_; }
  // Once ended: reaps the child. Its output when it exited 0; else an error naming
  // `what`, how it ended and the output.
  Expected<std::string> finish();
  // Its wait status once it has exited (reaped then), without waiting; nullopt while it runs.
  std::optional<int> reapIfExited();
  // Kills it (SIGKILL) if it still runs, reaps it: its wait status.
  int killAndReap();

 private:
  ChildCommand(pid_t pid, int fd, std::string what);
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string what_;
  std::string output_;
  std::size_t keep_;
  bool ended_ = false;
};

// `command` through /bin/sh, waited for here: the output when it exits 0; else an
// error naming `what`, how it ended and the output.
Expected<std::string> runGuestCommand(const std::string& command, const std::string& what);

}  // namespace oom
