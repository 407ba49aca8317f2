#pragma once
// Reading below a folder and nowhere else. oomharness runs as root on scenarios
// and unit files from pull requests: a path or a symlink in them must not make it
// read (and then print) a file outside the folder they came from, such as a
// credential. Paths are resolved by the kernel with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS), or, on a kernel without openat2, by a walk one
// component at a time that refuses the same things.
//
// Allowed: any path below the folder, symlinks that stay below it (unit trees
// use aliases), and a link to /dev/null, which is reported as masked (as systemd
// reads it) and never opened. Refused, with an error naming the path: absolute
// paths, ".." that leaves the folder, symlinks that lead out of it (absolute
// ones included), magic links (/proc/PID/fd/N), symlink loops.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

// Why `relative` cannot be below any folder, judged from its text alone, or
// nullopt when it stays below: "is an absolute path", "leaves the folder through \"..\"".
std::optional<std::string> leavesFolder(const std::filesystem::path& relative);

class ConfinedDir {
 public:
  // What a path below the folder is. A link to /dev/null is `masked`, whatever
  // it would open as; `missing` when there is nothing of that name.
  enum class Kind { missing, regular, directory, masked, other };

  // Opens `dir` itself as given (the caller's choice, links followed). Errors name dir.
  static Expected<ConfinedDir> open(const std::filesystem::path& dir);
  ConfinedDir(ConfinedDir&& other) noexcept;
  ConfinedDir& operator=(ConfinedDir&& other) noexcept;
  ConfinedDir(const ConfinedDir&) = delete;
  ConfinedDir& operator=(const ConfinedDir&) = delete;
  ~ConfinedDir();

  // The folder as opened, absolute: what errors say paths must stay below.
  const std::filesystem::path& path() const { return path_; }

  // Errors below are ErrorKind::input; where = path() / relative.
  Expected<Kind> kind(const std::filesystem::path& relative) const;
  // The whole of a regular file below the folder, checked and read as
  // readRegularFile does (no FIFO wait, size checked on the descriptor).
  Expected<std::string> read(const std::filesystem::path& relative, std::uint64_t max_bytes,
                             std::string_view what) const;
  // The last component of a path below the folder, not followed (lstat): what it
  // is, its permission bits and size. Its folder is resolved as kind() does.
  struct Entry {
    enum class Type { missing, regular, directory, symlink, other };
    Type type = Type::missing;
    unsigned mode = 0;        // st_mode & 07777
    std::uint64_t bytes = 0;  // st_size
  };
  Expected<Entry> entry(const std::filesystem::path& relative) const;
  // The names in a folder below this one ("." for itself), sorted, without "." and
  // "..": listed from a descriptor opened below the folder, so each name is then
  // read with read() or kind() as relative / name.
  Expected<std::vector<std::string>> list(const std::filesystem::path& relative) const;

 private:
  ConfinedDir(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  Expected<int> openBelow(const std::filesystem::path& relative, int flags) const;
  bool isMaskLink(const std::filesystem::path& normal) const;
  int fd_ = -1;
  std::filesystem::path path_;
};

namespace detail {
// Tests: resolve with the component walk even where openat2 exists.
void forceConfinedWalk(bool on);
}  // namespace detail

}  // namespace oom
