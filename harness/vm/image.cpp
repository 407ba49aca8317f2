#include "vm/image.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

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

std::string utcNow() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

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

Expected<GuestImage> buildImage(const ImageRequest& request, const fs::path& final_dir) {
  const auto started = std::chrono::steady_clock::now();
  if (::geteuid() != 0)
    return fail("vm build", "building the guest image needs root (mmdebstrap, chroot); run as root");
  for (const char* tool : {"mmdebstrap", "mkfs.ext4", "dpkg-query"})
    if (findProgram(tool).empty())
      return fail("vm build", std::string(tool) + " not found; run scripts/bootstrap first");

  const fs::path tmp = final_dir.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
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
  spdlog::info("vm build: [1/3] mmdebstrap {} ({} packages; about 30 to 90 s)", request.release,
               packages.size());
  auto debootstrap = runTool({"mmdebstrap", "--variant=apt", "--include=" + include,
                              "--customize-hook=" + hook, request.release, root.string(),
                              request.mirror});
  if (debootstrap.status != 0) {
    const bool network = debootstrap.output.find("Failed to fetch") != std::string::npos ||
                         debootstrap.output.find("Could not resolve") != std::string::npos ||
                         debootstrap.output.find("Temporary failure resolving") != std::string::npos ||
                         debootstrap.output.find("Unable to connect") != std::string::npos;
    return fail("vm build", std::string(network ? "cannot reach the Debian mirror " +
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
  if (image.kernel_version.empty()) return fail("vm build", "no kernel in the guest's /boot");
  auto version = runTool({"dpkg-query", "--admindir=" + (root / "var/lib/dpkg").string(), "-W",
                          "-f=${Version}", "systemd"});
  image.systemd_version = version.output.substr(0, version.output.find_last_not_of("\n") + 1);

  spdlog::info("vm build: [2/3] mkfs.ext4 rootfs.img");
  auto mkfs = runTool({"mkfs.ext4", "-q", "-F", "-d", root.string(), "-L", "root",
                       (tmp / "rootfs.img").string(), "1536M"});
  if (mkfs.status != 0) return fail("vm build", "mkfs.ext4 failed: " + mkfs.output);
  fs::remove_all(root);

  image.built_at = utcNow();
  image.build_sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::ofstream(tmp / "image.json") << nlohmann::json(image).dump(2) << "\n";
  spdlog::info("vm build: [3/3] cached at {}", final_dir.string());
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  image.dir = final_dir;
  return image;
}

}  // namespace

fs::path defaultRecipeDir() {
  if (const char* env = std::getenv("OOMHARNESS_RECIPE_DIR")) return env;
  return OOMHARNESS_SOURCE_DIR "/vm";
}

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
  if (j.is_discarded()) return fail((dir / "image.json").string(), "missing or not JSON");
  auto image = j.get<GuestImage>();
  image.dir = dir;
  return image;
}

Expected<GuestImage> ensureImage(ImageRequest request) {
  if (request.recipe_dir.empty()) request.recipe_dir = defaultRecipeDir();
  if (request.cache_root.empty()) request.cache_root = defaultCacheRoot();
  if (request.mirror.empty()) {
    const char* env = std::getenv("OOMHARNESS_MIRROR");
    request.mirror = env && *env ? env : "http://deb.debian.org/debian";
  }
  if (!fs::exists(request.recipe_dir / "customize.sh"))
    return fail(request.recipe_dir.string(), "not a guest recipe folder (no customize.sh)");
  const fs::path dir = imageDir(request);
  fs::create_directories(dir.parent_path());
  CacheLock lock(dir.parent_path() / ".lock");
  if (!request.force && fs::exists(dir / "image.json")) return readImageJson(dir);
  return buildImage(request, dir);
}

}  // namespace oom
