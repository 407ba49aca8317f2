#pragma once
// Files that must be whole or absent: written to a temporary name in the same
// folder, flushed to disk and renamed over the target (rename is atomic).
// Files from the user, read only when they are what they claim to be.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "oom/expected.hpp"

namespace oom {

// Outputs are as private as their inputs. Every file read through readRegularFile
// (scenarios, unit files, timelines, result.json, index.json) withholds from every
// output written afterwards what it withheld itself: if others (or the output's
// group) could not read it, because of its own mode or a folder above it they
// cannot search, no output grants them read access. Outputs start from the user's
// umask (0666 for files, 0777 for folders, less the umask), never a fixed 0644.
// The permission bits an output may have now, with what was withheld so far.
mode_t outputFileMode();
mode_t outputFolderMode();
// What readRegularFile calls for each input: `file` as found, `st` its fstat. For
// inputs read another way (a confined open); never widens what was withheld.
void keepOutputsAsPrivateAs(const std::filesystem::path& file, const struct stat& st);

// Errors are ErrorKind::setup and name the file and the errno text. The file gets
// outputFileMode().
Expected<void> writeFileAtomically(const std::filesystem::path& file, std::string_view content);

// The whole of `file` if it is a regular file of at most `max_bytes`. Both are
// checked on the open descriptor before anything is read (opened O_NONBLOCK, so a
// FIFO does not wait for a writer), and the read stops one byte past the cap in
// case the file grew meanwhile: a folder, a FIFO, /dev/zero or a huge file is
// refused without being read. Errors are ErrorKind::input, where = the file:
//   "expected a regular file; got a directory"
//   "expected a <what> of at most 1MiB (1048576 bytes); got N bytes"
Expected<std::string> readRegularFile(const std::filesystem::path& file, std::uint64_t max_bytes,
                                      std::string_view what);
// The same checks and read on a descriptor already open (confined.hpp opens one
// below a folder); `where` names the file in errors and is the path whose folders
// keepOutputsAsPrivateAs() checks. Does not close `fd`.
Expected<std::string> readRegularFd(int fd, const std::string& where, std::uint64_t max_bytes,
                                    std::string_view what);

// `dir` and its missing parents, each new one with outputFolderMode(); an existing
// folder is kept as it is. Errors are ErrorKind::setup.
Expected<void> createOutputFolder(const std::filesystem::path& dir);

// A new folder (mode outputFolderMode()) root/base, or root/base-2 ... base-1000 when taken (root is created
// first). mkdir(2) either creates the folder or fails, so two callers never share
// one. `what` names it in errors ("the run's folder"); errors are ErrorKind::setup.
Expected<std::filesystem::path> createUniqueDirectory(const std::filesystem::path& root, const std::string& base,
                                                      std::string_view what);

}  // namespace oom
