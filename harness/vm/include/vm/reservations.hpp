#pragma once
// The host memory that runs on this host have set aside, so that runs started
// at the same moment count each other (docs/guest-vm.md#host-memory-and-disk).
// qemu faults guest memory in lazily: two runs that read MemAvailable together
// both see the other's guest as free memory. So each run holding a guest leaves
// a reservation in one private folder:
//
//   <folder>/.lock                     held (flock) while one run reads, decides, registers
//   <folder>/run-XXXXXX.reservation    one per live run, flock()ed by it:
//                                      reserved_bytes=N, pid=P, run=RUN_DIR
//
// A reservation lives as long as its lock, so one left by a run that was killed
// is not counted, and the next look at the folder removes it: no pid is trusted to
// say whether a run lives. The pid is read only while its run holds the lock, to
// measure what that run already holds.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "oom/expected.hpp"
#include "vm/host_check.hpp"
#include "vm/lock.hpp"

namespace oom {

// The folder, 0700: /run/oomharness as root (a tmpfs: nothing survives a reboot),
// else $XDG_RUNTIME_DIR/oomharness, else /tmp/oomharness-<uid>-reservations. Runs
// of different users do not see each other's reservations.
Expected<std::filesystem::path> reservationFolder();

// This run's reservation, registered for as long as the object lives.
class HostReservation {
 public:
  // Writes <folder>/run-XXXXXX.reservation and holds its lock.
  static Expected<HostReservation> create(const std::filesystem::path& folder, std::uint64_t reserved_bytes,
                                          const std::string& run);
  HostReservation(HostReservation&& other) noexcept : file_(std::move(other.file_)), lock_(std::move(other.lock_)) {
    other.file_.clear();
  }
  HostReservation& operator=(HostReservation&&) = delete;
  HostReservation(const HostReservation&) = delete;
  ~HostReservation();  // removes the file, then lets go of the lock
  const std::filesystem::path& file() const { return file_; }

 private:
  HostReservation(std::filesystem::path file, FileLock lock) : file_(std::move(file)), lock_(std::move(lock)) {}
  std::filesystem::path file_;
  FileLock lock_;
};

// The live reservations in `folder` (their lock is held, by any process, this one
// included), each with what its run already holds: the anonymous memory (RssAnon)
// of its oomharness and of that process's children (qemu). Files whose lock
// nobody holds are removed.
std::vector<OtherReservation> liveReservations(const std::filesystem::path& folder);

// RssAnon of `pid` and of its children, in bytes (0 for what cannot be read).
std::uint64_t anonymousMemoryOf(pid_t pid);

}  // namespace oom
