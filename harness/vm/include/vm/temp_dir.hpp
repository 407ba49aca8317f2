#pragma once
// Temporary folders of live oomharness commands, under one private parent:
//
//   $TMPDIR/oomharness-<uid>/        0700, owned by this uid, not a symlink (refused otherwise)
//     <purpose>-XXXXXX/              one per live command (run, out, kvmprobe),
//                                    flock()ed by it for as long as it lives
//
// A command removes its own folder on return. One killed with SIGKILL cannot (its
// qemu dies with it through PR_SET_PDEATHSIG), but its lock dies with it too:
// sweepStaleTempDirs() removes exactly the folders nobody holds a lock on, so a
// live run's folder is never touched and a pid reused by the kernel fools nobody.
#include <filesystem>
#include <string>
#include <string_view>

#include "oom/expected.hpp"
#include "vm/lock.hpp"

namespace oom {

// Creates the private parent when missing; a setup error when the name is taken by
// something that is not a folder of ours that only we can enter.
Expected<std::filesystem::path> privateTempParent();

// `dir` created 0700 when missing (its parent must exist), and refused (setup
// error) when it is a symlink or not a folder owned by this uid; made 0700 if it
// was not. `why` ends the refusal: what to do instead.
Expected<std::filesystem::path> privateFolder(const std::filesystem::path& dir, const std::string& why);

class TempDir {
 public:
  // <parent>/<purpose>-XXXXXX, created and locked.
  static Expected<TempDir> create(std::string_view purpose);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)), lock_(std::move(other.lock_)) {
    other.path_.clear();
  }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();  // removes the folder and everything in it, then lets go of the lock
  const std::filesystem::path& path() const { return path_; }

 private:
  TempDir(std::filesystem::path path, FileLock lock) : path_(std::move(path)), lock_(std::move(lock)) {}
  std::filesystem::path path_;
  FileLock lock_;
};

// Removes every folder under the private parent that no live command holds a lock
// on (and none with file systems mounted under it). Never fails: best effort.
void sweepStaleTempDirs();

// True when a file system is mounted at or below `dir` (never recurse into a live /proc).
bool hasMountsUnder(const std::filesystem::path& dir);

}  // namespace oom
