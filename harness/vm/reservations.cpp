#include "vm/reservations.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "oom/text.hpp"
#include "vm/temp_dir.hpp"

namespace fs = std::filesystem;

namespace oom {
namespace {

constexpr std::string_view kSuffix = ".reservation";
constexpr std::string_view kUnfinishedPrefix = ".new-";  // written and locked, not yet renamed into place


std::string readText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t rssAnonOf(const std::string& pid) {
  const auto status = parseMeminfo(readText("/proc/" + pid + "/status"));
  const auto it = status.find("RssAnon");
  return it == status.end() ? 0 : it->second;
}

bool writeAll(int fd, std::string_view text) {
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// "reserved_bytes=N\npid=P\nrun=DIR\n" -> the reservation; nullopt when a field is missing.
std::optional<OtherReservation> parseReservation(std::string_view text) {
  OtherReservation r;
  bool has_bytes = false, has_pid = false;
  for (const auto line : splitLines(text)) {
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "reserved_bytes") {
      if (auto v = parseNumber<std::uint64_t>(value)) {
        r.reserved_bytes = *v;
        has_bytes = true;
      }
    } else if (key == "pid") {
      if (auto v = parseNumber<int>(value); v && *v > 0) {
        r.pid = *v;
        has_pid = true;
      }
    } else if (key == "run") {
      r.run = std::string(value);
    }
  }
  if (!has_bytes || !has_pid) return std::nullopt;
  return r;
}

}  // namespace

Expected<fs::path> reservationFolder() {
  const std::string why = "oomharness keeps its host-memory reservations only in a private folder: remove it";
  if (::geteuid() == 0) return privateFolder("/run/oomharness", why);
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime)
    return privateFolder(fs::path(runtime) / "oomharness", why);
  return privateFolder("/tmp/oomharness-" + std::to_string(::geteuid()) + "-reservations", why);
}

Expected<HostReservation> HostReservation::create(const fs::path& folder, std::uint64_t reserved_bytes,
                                                  const std::string& run) {
  const std::string text = "reserved_bytes=" + std::to_string(reserved_bytes) + "\npid=" +
                           std::to_string(::getpid()) + "\nrun=" + run + "\n";
  // Written and locked under a name readers do not count, then renamed into place:
  // a reader never sees a reservation half written or not yet locked. A reader that
  // took the lock of the unfinished file first (and removed it) makes us start again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string unfinished = (folder / (std::string(kUnfinishedPrefix) + "XXXXXX")).string();
    const int fd = ::mkostemp(unfinished.data(), O_CLOEXEC);
    if (fd < 0)
      return failSetup(folder.string(), std::string("cannot create a reservation file: ") + std::strerror(errno));
    FileLock lock(fd);
    struct stat st {};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &st) != 0 || st.st_nlink == 0) continue;
    const fs::path file = folder / ("run-" + unfinished.substr(unfinished.size() - 6) + std::string(kSuffix));
    if (!writeAll(fd, text) || ::rename(unfinished.c_str(), file.c_str()) != 0) {
      const int err = errno;
      ::unlink(unfinished.c_str());
      return failSetup(file.string(), std::string("cannot write the reservation: ") + std::strerror(err));
    }
    return HostReservation(file, std::move(lock));
  }
  return failSetup(folder.string(), "could not create and lock a reservation file");
}

HostReservation::~HostReservation() {
  if (!file_.empty()) ::unlink(file_.c_str());
}

std::uint64_t anonymousMemoryOf(pid_t pid) {
  const std::string p = std::to_string(pid);
  std::uint64_t bytes = rssAnonOf(p);
  // qemu and the host tools are children of the oomharness that reserved (one
  // `children` file per thread; CONFIG_PROC_CHILDREN, set in Debian's kernels).
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + p + "/task", ec)) {
    std::istringstream children(readText(task.path() / "children"));
    for (std::string child; children >> child;) bytes += rssAnonOf(child);
  }
  return bytes;
}

std::vector<OtherReservation> liveReservations(const fs::path& folder) {
  std::vector<OtherReservation> live;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    const bool finished = endsWith(name, kSuffix);
    if (!finished && name.rfind(kUnfinishedPrefix, 0) != 0) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    FileLock probe(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
      // Nobody holds it: its run is gone (killed before it could remove it).
      if (st.st_nlink > 0) {
        spdlog::debug("vm: removing {}, left by a run that is gone", e.path().string());
        ::unlink(e.path().c_str());
      }
      continue;
    }
    if (!finished) continue;  // being registered right now
    char buf[4096];
    const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    auto r = parseReservation(n > 0 ? std::string_view(buf, static_cast<std::size_t>(n)) : std::string_view());
    if (!r) {
      spdlog::warn("vm: {} is held but cannot be read as a reservation; not counted", e.path().string());
      continue;
    }
    r->held_bytes = anonymousMemoryOf(r->pid);
    live.push_back(*r);
  }
  return live;
}

}  // namespace oom
