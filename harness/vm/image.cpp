#include "vm/image.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "oom/utc.hpp"
#include "vm/data_dir.hpp"
#include "vm/process.hpp"

namespace fs = std::filesystem;

namespace oom {
namespace {

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trimmed(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

// Build progress: one rewritten status line on a terminal, plain step lines otherwise.
class BuildProgress {
 public:
  BuildProgress() : tty_(::isatty(STDERR_FILENO) == 1), started_(std::chrono::steady_clock::now()) {}
  void step(const std::string& text) {
    clear();
    std::fprintf(stderr, "vm build: %s\n", text.c_str());
  }
  void detail(const std::string& line) {  // a tool's output line; shown on terminals only
    if (!tty_) return;
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::fprintf(stderr, "\r\033[K  %3.0fs %.70s", t, line.c_str());
    shown_ = true;
  }
  ~BuildProgress() { clear(); }

 private:
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point started_;
};

std::string lastLines(const std::string& text, int n) {
  std::size_t pos = text.size();
  for (int i = 0; i <= n && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

std::vector<std::string> readPackages(const fs::path& recipe_dir) {
  std::vector<std::string> packages;
  std::ifstream in(recipe_dir / "packages.txt");
  for (std::string line; std::getline(in, line);) {
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty() && line[0] != '#') packages.push_back(line);
  }
  return packages;
}

// Holds an exclusive lock on the cache so parallel runs build an image once.
class CacheLock {
 public:
  explicit CacheLock(const fs::path& file) : fd_(::open(file.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~CacheLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;

 private:
  int fd_;
};

bool hasMountsUnder(const fs::path& dir) {
  std::ifstream mounts("/proc/self/mounts");
  const std::string prefix = dir.string() + "/";
  for (std::string device, target, rest; mounts >> device >> target && std::getline(mounts, rest);)
    if (target.rfind(prefix, 0) == 0) return true;
  return false;
}

// Images of this release built from an older recipe are dead weight (about 1.5 GiB
// each), but another checkout or a run that is about to boot may still use one:
// only those unused for a day go (ensureImage stamps "last-used").
void removeOutdatedImages(const fs::path& current, const std::string& release) {
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& e : fs::directory_iterator(current.parent_path())) {
    const auto name = e.path().filename().string();
    if (e.path() == current || name.rfind(release + "-", 0) != 0 ||
        name.find(".tmp-") != std::string::npos || !fs::exists(e.path() / "image.json"))
      continue;
    std::error_code ec;
    const fs::path stamp = fs::exists(e.path() / "last-used") ? e.path() / "last-used" : e.path() / "image.json";
    const auto used = fs::last_write_time(stamp, ec);
    if (ec || used > cutoff) continue;
    spdlog::info("vm build: removing the outdated image {} (unused for a day)", name);
    fs::remove_all(e.path(), ec);
  }
}

Expected<GuestImage> buildImage(const ImageRequest& request, const fs::path& final_dir) {
  const auto started = std::chrono::steady_clock::now();
  if (::geteuid() != 0)
    return fail("vm build", "building the guest image needs root (mmdebstrap, chroot); run as root");
  for (const char* tool : {"mmdebstrap", "mkfs.ext4", "dpkg-query"})
    if (findProgram(tool).empty())
      return failSetup("vm build", std::string(tool) + " not found; run scripts/bootstrap first");

  // Built beside its final place and renamed when complete: an interrupted build
  // never leaves a half image (the next build, holding the lock, sweeps its rest).
  const fs::path tmp = final_dir.string() + ".tmp-" + std::to_string(::getpid());
  for (const auto& e : fs::directory_iterator(final_dir.parent_path())) {
    if (e.path().filename().string().find(".tmp-") == std::string::npos) continue;
    if (hasMountsUnder(e.path()))  // never recurse into a live /proc, /sys or /dev
      return failSetup(e.path().string(), "an interrupted build left file systems mounted here; "
                                     "unmount them (findmnt -R " + e.path().string() + ") and retry");
    fs::remove_all(e.path());
  }
  fs::create_directories(tmp);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmp};

  const auto packages = readPackages(request.recipe_dir);
  std::string include;
  for (const auto& p : packages) include += (include.empty() ? "" : ",") + p;
  const fs::path root = tmp / "root";
  const std::string hook = "\"" + (request.recipe_dir / "customize.sh").string() + "\" \"$1\"";
  BuildProgress progress;
  progress.step("[1/3] mmdebstrap " + request.release + " (" + std::to_string(packages.size()) +
                " packages; about 30 to 90 s)");
  auto debootstrap = runTool({"mmdebstrap", "--variant=apt", "--include=" + include,
                              "--customize-hook=" + hook, request.release, root.string(),
                              request.mirror},
                             [&progress](const std::string& line) { progress.detail(line); });
  if (debootstrap.status != 0) {
    const bool network = debootstrap.output.find("Failed to fetch") != std::string::npos ||
                         debootstrap.output.find("Could not resolve") != std::string::npos ||
                         debootstrap.output.find("Temporary failure resolving") != std::string::npos ||
                         debootstrap.output.find("Unable to connect") != std::string::npos;
    return failSetup("vm build", std::string(network ? "cannot reach the Debian mirror " +
                                                      request.mirror + " for " + request.release
                                                : "mmdebstrap failed") +
                                " (exit " + std::to_string(debootstrap.status) + "):\n" +
                                lastLines(debootstrap.output, 15));
  }

  GuestImage image;
  image.release = request.release;
  image.recipe_hash = recipeHash(request.recipe_dir, request.release);
  for (const auto& entry : fs::directory_iterator(root / "boot")) {
    const auto name = entry.path().filename().string();
    if (name.rfind("vmlinuz-", 0) == 0) {
      image.kernel_version = name.substr(8);
      fs::copy_file(entry.path(), tmp / "vmlinuz", fs::copy_options::overwrite_existing);
    }
  }
  if (image.kernel_version.empty()) return failSetup("vm build", "no kernel in the guest's /boot");
  auto version = runTool({"dpkg-query", "--admindir=" + (root / "var/lib/dpkg").string(), "-W",
                          "-f=${Version}", "systemd"});
  image.systemd_version = trimmed(version.output);

  progress.step("[2/3] mkfs.ext4 rootfs.img");
  auto mkfs = runTool({"mkfs.ext4", "-q", "-F", "-d", root.string(), "-L", "root",
                       (tmp / "rootfs.img").string(), "1536M"});
  if (mkfs.status != 0) return failSetup("vm build", "mkfs.ext4 failed: " + mkfs.output);
  fs::remove_all(root);

  image.built_at = utcNow();
  image.build_sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::ofstream(tmp / "image.json") << nlohmann::json(image).dump(2) << "\n";
  progress.step("[3/3] cached at " + final_dir.string());
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  image.dir = final_dir;
  removeOutdatedImages(final_dir, request.release);
  return image;
}

}  // namespace

fs::path defaultCacheRoot() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "oomharness";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/root") / ".cache" / "oomharness";
}

std::string recipeHash(const fs::path& recipe_dir, const std::string& release) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(recipe_dir))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), recipe_dir));
  std::sort(files.begin(), files.end());
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // separator, so "ab"+"c" != "a"+"bc"
  };
  mix(release);
  for (const auto& f : files) {
    mix(f.string());
    mix(readFile(recipe_dir / f));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 12);
}

fs::path imageDir(const ImageRequest& r) {
  return r.cache_root / "images" / (r.release + "-" + recipeHash(r.recipe_dir, r.release));
}

Expected<GuestImage> readImageJson(const fs::path& dir) {
  const auto j = nlohmann::json::parse(readFile(dir / "image.json"), nullptr, false);
  if (j.is_discarded()) return failSetup((dir / "image.json").string(), "missing or not JSON");
  GuestImage image;
  try {
    image = j.get<GuestImage>();
  } catch (const nlohmann::json::exception& e) {
    return failSetup((dir / "image.json").string(), e.what());
  }
  image.systemd_version = trimmed(image.systemd_version);  // images built before the fix kept a newline
  if (image.release.empty() || image.kernel_version.empty())
    return failSetup((dir / "image.json").string(), "no release or kernel_version");
  image.dir = dir;
  return image;
}

Expected<GuestImage> ensureImage(ImageRequest request) {
  if (request.recipe_dir.empty()) request.recipe_dir = recipeDir();
  if (request.cache_root.empty()) request.cache_root = defaultCacheRoot();
  if (request.mirror.empty()) {
    const char* env = std::getenv("OOMHARNESS_MIRROR");
    request.mirror = env && *env ? env : "http://deb.debian.org/debian";
  }
  if (request.release.empty() ||
      request.release.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos)
    return fail("--release", "'" + request.release + "': expected a Debian codename (bookworm, trixie)");
  if (!fs::exists(request.recipe_dir / "customize.sh"))
    return failSetup(request.recipe_dir.string(), "not a guest recipe folder (no customize.sh)");
  const fs::path dir = imageDir(request);
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (ec) return failSetup(dir.parent_path().string(), "cannot create the image cache: " + ec.message());
  CacheLock lock(dir.parent_path() / ".lock");
  if (!request.force && fs::exists(dir / "image.json")) {
    auto cached = readImageJson(dir);
    if (cached && fs::exists(cached->rootfs()) && fs::exists(cached->kernel())) {
      std::ofstream(dir / "last-used") << utcNow() << "\n";
      return cached;
    }
    spdlog::warn("vm: the cached image in {} is incomplete; rebuilding", dir.string());
  }
  try {
    return buildImage(request, dir);
  } catch (const fs::filesystem_error& e) {  // disk full, permissions: nothing half-built stays
    return failSetup("vm build", e.what());
  }
}

}  // namespace oom
