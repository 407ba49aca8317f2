// Confined reads (oom/confined.hpp): openat2(RESOLVE_BENEATH) where the kernel has
// it (5.6 and later), else a walk one component at a time with the same refusals.
#include "oom/confined.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "oom/files.hpp"

namespace oom {
namespace fs = std::filesystem;
namespace {

std::atomic<bool> force_walk{false};

// As many links as the kernel follows in one lookup (MAXSYMLINKS) before ELOOP.
constexpr int kMaxLinks = 40;

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// The text of the link `name` in folder `dir`, or nullopt (errno set).
std::optional<std::string> readLink(int dir, const std::string& name) {
  std::string target(4096, '\0');
  const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
  if (n < 0) return std::nullopt;
  target.resize(static_cast<std::size_t>(n));
  return target;
}

// The components of `path` pushed onto `todo` so that the first is at the back.
void pushComponents(std::vector<std::string>& todo, std::string_view path) {
  std::vector<std::string> parts;
  for (std::size_t at = 0; at <= path.size();) {
    const std::size_t slash = std::min(path.find('/', at), path.size());
    const std::string_view part = path.substr(at, slash - at);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    at = slash + 1;
  }
  todo.insert(todo.end(), parts.rbegin(), parts.rend());
}

int openLast(int dir, const std::string& name, int flags) {
  const int fd = ::openat(dir, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

// What openat2(RESOLVE_BENEATH) does, for kernels without it: each component
// looked at without following it (fstatat AT_SYMLINK_NOFOLLOW), a link's text
// spliced into the path still to walk, ".." taken back only as far as the root.
// An absolute link or one that climbs above the root is EXDEV; more than
// kMaxLinks links ELOOP. Returns the descriptor or -errno.
int walkBelow(int root, const std::string& relative, int flags) {
  std::vector<std::string> todo;
  pushComponents(todo, relative);
  std::vector<int> dirs{::fcntl(root, F_DUPFD_CLOEXEC, 0)};
  if (dirs[0] < 0) return -errno;
  const auto finish = [&dirs](int result) {
    for (int d : dirs) ::close(d);
    return result;
  };
  int links = 0;
  while (!todo.empty()) {
    const std::string name = std::move(todo.back());
    todo.pop_back();
    if (name == "..") {
      if (dirs.size() == 1) return finish(-EXDEV);
      ::close(dirs.back());
      dirs.pop_back();
      continue;
    }
    struct stat st {};
    if (::fstatat(dirs.back(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return finish(-errno);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) return finish(-ELOOP);
      const auto target = readLink(dirs.back(), name);
      if (!target) return finish(-errno);
      if (target->empty() || target->front() == '/') return finish(-EXDEV);
      pushComponents(todo, *target);
      continue;
    }
    if (todo.empty()) return finish(openLast(dirs.back(), name, flags));
    const int next = ::openat(dirs.back(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return finish(-errno);
    dirs.push_back(next);
  }
  return finish(openLast(dirs.back(), ".", flags));  // the path named a folder
}

// openat2 below `root`; the walk where the kernel has no openat2. -errno on failure.
int openBeneath(int root, const std::string& relative, int flags) {
  if (!force_walk) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (int attempt = 0; attempt < 8; ++attempt) {  // EAGAIN: a rename raced the lookup
      const long fd = ::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how);
      if (fd >= 0) return static_cast<int>(fd);
      if (errno != EAGAIN && errno != EINTR) break;
    }
    if (errno != ENOSYS) return -errno;
  }
  return walkBelow(root, relative, flags);
}

std::string openProblem(int err, const fs::path& root) {
  switch (err) {
    case EXDEV:
      return "leads out of " + root.string() +
             " through a symlink (absolute, or climbing above it); expected links that stay below it";
    case ELOOP:
      return "a symlink loop (or more than 40 links, or a /proc magic link) on the way; "
             "expected links that end in a file below " + root.string();
    case ENOENT:
      return "no such file or folder";
    case ENOTDIR:
      return "a part of the path is not a folder";
    default:
      return std::string("cannot open it: ") + std::strerror(err);
  }
}

std::string relativeText(const fs::path& relative) {
  const std::string text = relative.lexically_normal().string();
  return text.empty() ? "." : text;
}

}  // namespace

std::optional<std::string> leavesFolder(const fs::path& relative) {
  if (relative.has_root_directory() || relative.has_root_name()) return "is an absolute path";
  int depth = 0;
  for (const auto& part : relative) {
    if (part == "..") --depth;
    else if (!part.empty() && part != ".") ++depth;
    if (depth < 0) return "leaves the folder through \"..\"";
  }
  return std::nullopt;
}

namespace detail {
void forceConfinedWalk(bool on) { force_walk = on; }
}  // namespace detail

Expected<ConfinedDir> ConfinedDir::open(const fs::path& dir) {
  const fs::path given = dir.empty() ? fs::path(".") : dir;
  const int fd = ::open(given.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(given.string(), std::string("cannot open the folder: ") + std::strerror(errno));
  std::error_code ec;
  fs::path absolute = fs::absolute(given, ec).lexically_normal();
  if (!absolute.has_filename() && absolute != absolute.root_path()) absolute = absolute.parent_path();  // "/a/b/"
  return ConfinedDir(fd, ec ? given : absolute);
}

ConfinedDir::ConfinedDir(ConfinedDir&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

ConfinedDir& ConfinedDir::operator=(ConfinedDir&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

ConfinedDir::~ConfinedDir() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<int> ConfinedDir::openBelow(const fs::path& relative, int flags) const {
  const std::string where = (path_ / relative).lexically_normal().string();
  if (const auto why = leavesFolder(relative))
    return fail(where, "\"" + relative.string() + "\" " + *why + "; expected a path below " + path_.string());
  const int fd = openBeneath(fd_, relativeText(relative), flags);
  if (fd < 0) return fail(where, openProblem(-fd, path_));
  return fd;
}

// A link to /dev/null is a mask: recognised from the link's text, never opened
// (its target is outside every folder). False when the folder holding it cannot
// be opened: opening the path itself then says why.
bool ConfinedDir::isMaskLink(const fs::path& normal) const {
  if (!normal.has_filename() || normal.filename() == "." || normal.filename() == "..") return false;
  const int parent = openBeneath(fd_, relativeText(normal.parent_path()), O_PATH | O_DIRECTORY);
  if (parent < 0) return false;
  const FdCloser closer{parent};
  return readLink(parent, normal.filename().string()) == std::optional<std::string>("/dev/null");
}

Expected<ConfinedDir::Kind> ConfinedDir::kind(const fs::path& relative) const {
  const fs::path normal = relative.lexically_normal();
  const std::string where = (path_ / normal).string();
  if (const auto why = leavesFolder(relative))
    return fail(where, "\"" + relative.string() + "\" " + *why + "; expected a path below " + path_.string());
  if (isMaskLink(normal)) return Kind::masked;
  const int fd = openBeneath(fd_, relativeText(normal), O_PATH);
  if (fd == -ENOENT) return Kind::missing;
  if (fd < 0) return fail(where, openProblem(-fd, path_));
  const FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(where, std::string("cannot stat it: ") + std::strerror(errno));
  if (S_ISREG(st.st_mode)) return Kind::regular;
  if (S_ISDIR(st.st_mode)) return Kind::directory;
  return Kind::other;
}

Expected<ConfinedDir::Entry> ConfinedDir::entry(const fs::path& relative) const {
  fs::path normal = relative.lexically_normal();
  if (!normal.has_filename() && normal.has_parent_path()) normal = normal.parent_path();  // "payload/"
  const std::string where = (path_ / normal).string();
  if (const auto why = leavesFolder(relative))
    return fail(where, "\"" + relative.string() + "\" " + *why + "; expected a path below " + path_.string());
  const bool self = normal.empty() || normal == ".";
  const int parent = openBeneath(fd_, self ? "." : relativeText(normal.parent_path()), O_PATH | O_DIRECTORY);
  if (parent < 0) return fail(where, openProblem(-parent, path_));
  const FdCloser closer{parent};
  struct stat st {};
  const int rc = self ? ::fstat(parent, &st) : ::fstatat(parent, normal.filename().c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (rc != 0 && errno == ENOENT) return Entry{};
  if (rc != 0) return fail(where, std::string("cannot stat it: ") + std::strerror(errno));
  Entry e;
  e.type = S_ISREG(st.st_mode)   ? Entry::Type::regular
           : S_ISDIR(st.st_mode) ? Entry::Type::directory
           : S_ISLNK(st.st_mode) ? Entry::Type::symlink
                                 : Entry::Type::other;
  e.mode = st.st_mode & 07777;
  e.bytes = static_cast<std::uint64_t>(st.st_size);
  return e;
}

Expected<std::string> ConfinedDir::read(const fs::path& relative, std::uint64_t max_bytes,
                                        std::string_view what) const {
  auto fd = openBelow(relative, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (!fd) return tl::unexpected(fd.error());
  const FdCloser closer{*fd};
  return readRegularFd(*fd, (path_ / relative).lexically_normal().string(), max_bytes, what);
}

Expected<std::vector<std::string>> ConfinedDir::list(const fs::path& relative) const {
  auto fd = openBelow(relative, O_RDONLY | O_DIRECTORY);
  if (!fd) return tl::unexpected(fd.error());
  DIR* dir = ::fdopendir(*fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(*fd);
    return fail((path_ / relative).lexically_normal().string(),
                std::string("cannot list the folder: ") + std::strerror(err));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int err = errno;
  ::closedir(dir);  // closes the descriptor too
  if (err != 0)
    return fail((path_ / relative).lexically_normal().string(),
                std::string("cannot list the folder: ") + std::strerror(err));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace oom
