#include "oom/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include "oom/units.hpp"

namespace oom {
namespace {

const char* fileType(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "something other than a regular file";
}

// Permission bits (group and others) that no output may grant, only ever growing.
std::atomic<mode_t> g_withheld{0};

// The process's umask, read without changing it (umask(2) sets while it reads, which
// would race with another thread creating a file); /proc/self/status has it since 4.7.
mode_t processUmask() {
  static const mode_t mask = [] {
    FILE* f = std::fopen("/proc/self/status", "re");
    unsigned value = 022;
    if (f) {
      char line[256];
      while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "Umask: %o", &value) == 1) break;
      std::fclose(f);
    }
    return static_cast<mode_t>(value & 0777);
  }();
  return mask;
}

// Whether the output's group, or everyone else, has `group_bit` / `other_bit` on a
// file: others through the other bits; the group through the group bits only when
// the file's group is the one outputs get (this process's).
bool grants(const struct stat& st, bool group, mode_t group_bit, mode_t other_bit) {
  if (st.st_mode & other_bit) return true;
  return group && st.st_gid == ::getegid() && (st.st_mode & group_bit);
}

// Whether the group or others can reach `file` through its folders (search, x).
bool reachable(const std::filesystem::path& file, bool group) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(file, ec).parent_path();
  if (ec) return false;
  for (;; dir = dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !grants(st, group, S_IXGRP, S_IXOTH)) return false;
    if (dir == dir.root_path() || dir.empty()) return true;
  }
}

}  // namespace

mode_t outputFileMode() { return 0666 & ~processUmask() & ~g_withheld.load(); }
mode_t outputFolderMode() { return 0777 & ~processUmask() & ~g_withheld.load(); }

void keepOutputsAsPrivateAs(const std::filesystem::path& file, const struct stat& st) {
  mode_t withheld = 0;
  if (!grants(st, /*group=*/false, 0, S_IROTH) || !reachable(file, /*group=*/false)) withheld |= S_IRWXO;
  if (!grants(st, /*group=*/true, S_IRGRP, S_IROTH) || !reachable(file, /*group=*/true)) withheld |= S_IRWXG;
  g_withheld.fetch_or(withheld);
}

Expected<void> writeFileAtomically(const std::filesystem::path& file, std::string_view content) {
  std::string tmp = file.string() + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return failSetup(file.string(), std::string("cannot create a temporary file: ") + std::strerror(errno));
  auto give_up = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return failSetup(file.string(), std::string(what) + ": " + std::strerror(err));
  };
  for (std::size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return give_up("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, outputFileMode()) != 0) return give_up("cannot set permissions");
  if (::fsync(fd) != 0) return give_up("cannot flush to disk");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return failSetup(file.string(), std::string("cannot close: ") + std::strerror(err));
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return failSetup(file.string(), std::string("cannot rename into place: ") + std::strerror(err));
  }
  return {};
}

Expected<std::string> readRegularFile(const std::filesystem::path& file, std::uint64_t max_bytes,
                                      std::string_view what) {
  const std::string where = file.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail(where, std::string("cannot read the file: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  return readRegularFd(fd, where, max_bytes, what);
}

Expected<std::string> readRegularFd(int fd, const std::string& where, std::uint64_t max_bytes,
                                    std::string_view what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(where, std::string("cannot read the file (fstat): ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(where, std::string("expected a regular file; got ") + fileType(st.st_mode));
  keepOutputsAsPrivateAs(where, st);
  const auto too_large = [&](std::uint64_t bytes) {
    return fail(where, "expected a " + std::string(what) + " of at most " + formatSize(max_bytes) + " (" +
                           std::to_string(max_bytes) + " bytes); got " + std::to_string(bytes) + " bytes");
  };
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) return too_large(st.st_size);
  // What the file holds now, up to one byte past the cap: it may have grown since fstat.
  std::string bytes(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t done = 0;
  while (done <= max_bytes) {
    if (done == bytes.size()) bytes.resize(std::min<std::uint64_t>(bytes.size() * 2, max_bytes + 1));
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(where, std::string("cannot read the file: ") + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done > max_bytes) return too_large(done);
  bytes.resize(done);
  return bytes;
}

Expected<void> createOutputFolder(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir)
    if (auto parent = createOutputFolder(dir.parent_path()); !parent) return parent;
  if (::mkdir(dir.c_str(), outputFolderMode()) != 0 && errno != EEXIST)
    return failSetup(dir.string(), std::string("cannot create the folder: ") + std::strerror(errno));
  return {};
}

Expected<std::filesystem::path> createUniqueDirectory(const std::filesystem::path& root, const std::string& base,
                                                      std::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return failSetup(root.string(), "cannot create the results folder: " + ec.message());
  for (int n = 1; n <= 1000; ++n) {
    const std::filesystem::path dir = root / (n == 1 ? base : base + "-" + std::to_string(n));
    if (::mkdir(dir.c_str(), outputFolderMode()) == 0) return dir;
    if (errno != EEXIST)
      return failSetup(dir.string(), "cannot create " + std::string(what) + ": " + std::strerror(errno));
  }
  return failSetup((root / base).string(), "cannot create " + std::string(what) + ": " + base + " and " + base +
                                                "-2 ... -1000 all exist (1000 started in the same second)");
}

}  // namespace oom
