#include "vm/temp_dir.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace oom {

bool hasMountsUnder(const fs::path& dir) {
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(dir, ec);
  const std::string base = (ec ? dir : real).string();
  std::ifstream mounts("/proc/self/mounts");
  for (std::string device, target, rest; mounts >> device >> target && std::getline(mounts, rest);) {
    // /proc/self/mounts writes a space in a path as \040.
    for (std::size_t at; (at = target.find("\\040")) != std::string::npos;) target.replace(at, 4, " ");
    if (target == base || target.rfind(base + "/", 0) == 0) return true;
  }
  return false;
}

Expected<fs::path> privateFolder(const fs::path& dir, const std::string& why) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return failSetup(dir.string(), std::string("cannot create: ") + std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return failSetup(dir.string(), std::string("cannot inspect: ") + std::strerror(errno));
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
    return failSetup(dir.string(), "exists but is not a folder owned by uid " + std::to_string(::geteuid()) + "; " + why);
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    return failSetup(dir.string(), std::string("cannot make it private (chmod 0700): ") + std::strerror(errno));
  return dir;
}

Expected<fs::path> privateTempParent() {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  if (ec) return failSetup("$TMPDIR", "no usable temporary folder: " + ec.message());
  return privateFolder(base / ("oomharness-" + std::to_string(::geteuid())),
                       "oomharness keeps its temporary files there only when it is private: remove it, or set "
                       "TMPDIR elsewhere");
}

Expected<TempDir> TempDir::create(std::string_view purpose) {
  auto parent = privateTempParent();
  if (!parent) return tl::unexpected(parent.error());
  // A sweeper may take the lock of a folder created a moment ago, before its
  // creator got to it, and remove it: then the creator's lock is on a removed
  // folder (no links left), and it starts again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string pattern = (*parent / (std::string(purpose) + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data()))
      return failSetup(parent->string(), std::string("cannot create a temporary folder: ") + std::strerror(errno));
    const int fd = ::open(pattern.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    FileLock lock(fd);
    struct stat st {};
    if (::flock(fd, LOCK_EX) == 0 && ::fstat(fd, &st) == 0 && st.st_nlink > 0)
      return TempDir(fs::path(pattern), std::move(lock));
  }
  return failSetup(parent->string(), "could not create and lock a temporary folder");
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  if (hasMountsUnder(path_)) {
    spdlog::warn("vm: not removing {}: file systems are mounted under it", path_.string());
    return;
  }
  fs::remove_all(path_, ec);
}

void sweepStaleTempDirs() {
  auto parent = privateTempParent();
  if (!parent) return;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(*parent, ec)) {
    if (!e.is_directory(ec) || e.is_symlink(ec)) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    FileLock lock(fd);
    struct stat st {};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &st) != 0 || st.st_nlink == 0) continue;
    if (hasMountsUnder(e.path())) continue;
    spdlog::debug("vm: removing {}, left by a command that was killed", e.path().string());
    fs::remove_all(e.path(), ec);
  }
}

}  // namespace oom
