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

#include "oom/fnv.hpp"
#include "oom/guest_paths.hpp"
#include "oom/releases.hpp"
#include "oom/text.hpp"
#include "oom/utc.hpp"
#include "vm/data_dir.hpp"
#include "vm/lock.hpp"
#include "vm/process.hpp"
#include "vm/temp_dir.hpp"

namespace fs = std::filesystem;

namespace oom {
namespace {

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
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

// The dpkg version of each package installed in root, by name (one not installed,
// such as a virtual package, is left out).
std::map<std::string, std::string> installedVersions(const fs::path& root, const std::vector<std::string>& packages) {
  std::map<std::string, std::string> versions;
  if (packages.empty()) return versions;
  std::vector<std::string> argv = {"dpkg-query", "--admindir=" + (root / "var/lib/dpkg").string(), "-W",
                                   "-f=${Package}\t${Version}\n"};
  argv.insert(argv.end(), packages.begin(), packages.end());
  const std::string output = runTool(argv).output;  // splitLines views into it
  for (const auto line : splitLines(output))
    if (const auto tab = line.find('\t'); tab != std::string_view::npos && tab + 1 < line.size())
      versions[std::string(line.substr(0, tab))] = std::string(trim(line.substr(tab + 1)));
  return versions;
}

// The root file system's size: 1536M (the base image is about 350M), or more when
// the extra packages need it. Links are not followed (they point into the guest).
std::uintmax_t rootfsMiB(const fs::path& root) {
  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->symlink_status(ec).type() == fs::file_type::regular) bytes += it->file_size(ec);
  return std::max<std::uintmax_t>(1536, bytes / MiB * 2 + 256);
}

Expected<GuestImage> buildImage(const ImageRequest& request, const fs::path& final_dir) {
  const fs::path images = final_dir.parent_path();
  const std::string name = final_dir.filename().string();
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
      if (!fs::exists(dir, ec)) return;
      if (hasMountsUnder(dir)) {  // mmdebstrap did not get to unmount: never recurse into them
        spdlog::error("vm build: {} still has file systems mounted under it; unmount them "
                      "(findmnt -R {}) and remove it", dir.string(), dir.string());
        return;
      }
      fs::remove_all(dir, ec);
    }
  } cleanup{tmp};

  auto packages = readPackages(request.recipe_dir);
  packages.insert(packages.end(), request.packages.begin(), request.packages.end());
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
  if (debootstrap.interrupted)
    return failInterrupted("vm build", "interrupted by a signal: mmdebstrap stopped (exit " +
                                           std::to_string(debootstrap.status) + "), the partial image removed");
  if (debootstrap.status != 0) {
    if (const auto missing = unavailablePackage(debootstrap.output); !missing.empty())
      return fail("guest.packages", "the Debian mirror " + request.mirror + " has no package \"" + missing +
                                        "\" for " + request.release + "; expected the name of a package of " +
                                        request.release + " (https://packages.debian.org/" + request.release + ")");
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
  image.recipe_hash = recipeHash(request.recipe_dir, request.release, request.packages);
  for (const auto& entry : fs::directory_iterator(root / "boot")) {
    const auto name = entry.path().filename().string();
    if (name.rfind("vmlinuz-", 0) == 0) {
      image.kernel_version = name.substr(8);
      fs::copy_file(entry.path(), tmp / "vmlinuz", fs::copy_options::overwrite_existing);
    }
  }
  if (image.kernel_version.empty()) return failSetup("vm build", "no kernel in the guest's /boot");
  // A saved guest boots with it (its root on virtio-blk); without one, guests boot cold.
  if (const fs::path initrd = root / "boot" / ("initrd.img-" + image.kernel_version); fs::exists(initrd))
    fs::copy_file(initrd, tmp / "initrd.img", fs::copy_options::overwrite_existing);
  auto version = runTool({"dpkg-query", "--admindir=" + (root / "var/lib/dpkg").string(), "-W",
                          "-f=${Version}", "systemd"});
  image.systemd_version = std::string(trim(version.output));
  image.packages = installedVersions(root, request.packages);
  auto units = extractPackageUnits(root, request.packages, tmp / kPackageUnitsDir);
  if (!units) return tl::unexpected(units.error());
  image.package_units = std::move(*units);
  image.package_units_extracted = true;

  progress.step("[2/3] mkfs.ext4 rootfs.img");
  auto mkfs = runTool({"mkfs.ext4", "-q", "-F", "-d", root.string(), "-L", guest::kRootLabel,
                       (tmp / "rootfs.img").string(), std::to_string(rootfsMiB(root)) + "M"});
  if (mkfs.interrupted) return failInterrupted("vm build", "interrupted by a signal: the partial image removed");
  if (mkfs.status != 0) return failSetup("vm build", "mkfs.ext4 failed: " + mkfs.output);
  fs::remove_all(root);

  image.built_at = utcNow();
  image.build_sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::ofstream(tmp / "image.json") << nlohmann::json(image).dump(2) << "\n";
  progress.step("[3/3] cached at " + final_dir.string());
  // A new version beside the old one, then the name swapped over to it: a guest
  // booting from the old one keeps it (removeUnusedImages waits for its lease).
  const std::string version_dir = name + ".v" + utcNow(kCompactUtc) + "-" + std::to_string(::getpid());
  fs::rename(tmp, images / version_dir);
  if (auto installed = installImageVersion(images, name, version_dir); !installed)
    return tl::unexpected(installed.error());
  image.dir = images / version_dir;
  return image;
}

}  // namespace

fs::path defaultCacheRoot() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "oomharness";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/root") / ".cache" / "oomharness";
}

std::string unavailablePackage(std::string_view output) {
  // apt: "E: Unable to locate package foo" / "E: Package 'foo' has no installation candidate"
  auto word = [](std::string_view rest) {
    const auto end = rest.find_first_of(" '\t\r\n");
    return std::string(rest.substr(0, end));
  };
  constexpr std::string_view kLocate = "Unable to locate package ";
  if (const auto at = output.find(kLocate); at != std::string_view::npos) return word(output.substr(at + kLocate.size()));
  constexpr std::string_view kCandidate = "' has no installation candidate";
  if (const auto at = output.find(kCandidate); at != std::string_view::npos) {
    const auto open = output.rfind("Package '", at);
    if (open != std::string_view::npos) return std::string(output.substr(open + 9, at - open - 9));
  }
  return "";
}

std::string recipeHash(const fs::path& recipe_dir, const std::string& release, std::vector<std::string> packages) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(recipe_dir))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), recipe_dir));
  std::sort(files.begin(), files.end());
  Fnv1a64 h;
  const auto mix = [&h](const std::string& s) { h.field(s); };
  mix(release);
  for (const auto& f : files) {
    mix(f.string());
    mix(readFile(recipe_dir / f));
  }
  // Mixed in only when there are some: the base image keeps the key it always had.
  std::sort(packages.begin(), packages.end());
  if (!packages.empty()) mix("packages");
  for (const auto& p : packages) mix(p);
  return h.hex().substr(0, 12);
}

fs::path imageDir(const ImageRequest& r) {
  return r.cache_root / "images" / recipeName(r.release, recipeHash(r.recipe_dir, r.release, r.packages));
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
  image.systemd_version = std::string(trim(image.systemd_version));  // images built before the fix kept a newline
  image.package_units_extracted = j.contains("package_units");
  if (image.release.empty() || image.kernel_version.empty())
    return failSetup((dir / "image.json").string(), "no release or kernel_version");
  image.dir = dir;
  return image;
}

std::string rootfsDamage(std::string_view sb, std::uint64_t file_bytes) {
  auto le = [&sb](std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(static_cast<unsigned char>(sb[at + i])) << (8 * i);
    return v;
  };
  if (sb.size() < 0x154 || le(0x38, 2) != 0xEF53)
    return "no ext4 file system in it (" + std::to_string(file_bytes) + " bytes)";
  const std::uint64_t log_block = le(0x18, 4);
  if (log_block > 6) return "its ext4 superblock is garbled (block size 1024 << " + std::to_string(log_block) + ")";
  std::uint64_t blocks = le(0x04, 4);
  if (le(0x60, 4) & 0x80) blocks |= le(0x150, 4) << 32;  // INCOMPAT_64BIT
  const std::uint64_t fs_bytes = blocks * (1024ull << log_block);
  if (file_bytes < fs_bytes)
    return "truncated: " + std::to_string(file_bytes) + " bytes of the " + std::to_string(fs_bytes) +
           " its file system needs";
  return "";
}

namespace {

std::string rootfsDamageOf(const fs::path& rootfs) {
  std::ifstream in(rootfs, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(rootfs, ec);
  if (!in || ec) return "cannot be read";
  std::string sb(1024, '\0');
  in.seekg(1024);
  in.read(sb.data(), static_cast<std::streamsize>(sb.size()));
  sb.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return rootfsDamage(sb, size);
}

}  // namespace

Expected<void> installImageVersion(const fs::path& images, const std::string& name, const std::string& version) {
  const fs::path link = images / name;
  const fs::path tmp_link = images / (name + ".link-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove(tmp_link, ec);
  fs::create_directory_symlink(version, tmp_link, ec);
  if (ec) return failSetup(tmp_link.string(), "cannot create the image link: " + ec.message());
  // A folder left by an older oomharness cannot be replaced atomically: it moves
  // aside first (a guest booting from it keeps it open), and goes once unused.
  if (fs::is_directory(fs::symlink_status(link, ec))) {
    fs::rename(link, images / (name + ".old-" + utcNow(kCompactUtc) + "-" + std::to_string(::getpid())), ec);
    if (ec) return failSetup(link.string(), "cannot move the previous image aside: " + ec.message());
  }
  fs::rename(tmp_link, link, ec);  // rename(2) over a symlink: atomic
  if (ec) return failSetup(link.string(), "cannot point the image at " + version + ": " + ec.message());
  return {};
}

void markUsed(const fs::path& dir) { std::ofstream(dir / "last-used") << utcNow() << "\n"; }

std::optional<fs::file_time_type> lastUsed(const fs::path& dir, const std::string& made) {
  std::error_code ec;
  const fs::path stamp = fs::exists(dir / "last-used", ec) ? dir / "last-used" : dir / made;
  const auto used = fs::last_write_time(stamp, ec);
  if (ec) return std::nullopt;
  return used;
}

void removeUnusedImages(const fs::path& images, const std::string& release, const std::string& name) {
  std::error_code ec;
  const fs::path link = images / name;
  const std::string current = fs::is_symlink(link, ec) ? fs::read_symlink(link, ec).filename().string() : name;
  const auto day_ago = fs::file_time_type::clock::now() - std::chrono::hours(24);
  auto removable = [&](const fs::directory_entry& e) {
    const auto n = e.path().filename().string();
    if (n.rfind(release + "-", 0) != 0 || n == current || n == name || e.is_symlink(ec) ||
        !e.is_directory(ec) || n.find(".tmp-") != std::string::npos)
      return false;
    // Superseded versions of this image go as soon as no guest holds them; images
    // of another recipe (another checkout may still boot them) only after a day unused.
    if (n.rfind(name + ".", 0) == 0) return true;
    const auto used = lastUsed(e.path(), "image.json");
    return used && *used < day_ago;
  };
  for (const auto& e : fs::directory_iterator(images, ec)) {
    if (!removable(e)) continue;
    auto lock = tryLock(e.path(), LOCK_EX);
    if (!lock || hasMountsUnder(e.path())) continue;  // a guest boots from it: later
    spdlog::info("vm: removing the unused image {}", e.path().filename().string());
    fs::remove_all(e.path(), ec);
  }
  // Links left pointing at nothing.
  for (const auto& e : fs::directory_iterator(images, ec)) {
    const auto n = e.path().filename().string();
    if (n.rfind(release + "-", 0) == 0 && e.is_symlink(ec) && !fs::exists(e.path(), ec)) fs::remove(e.path(), ec);
  }
}

namespace {

std::string quotedPackage(const std::string& name) { return "'" + printable(name) + "'"; }

}  // namespace

namespace {

// The request's defaults filled in and its names checked.
Expected<ImageRequest> completeRequest(ImageRequest request) {
  if (request.recipe_dir.empty()) request.recipe_dir = recipeDir();
  if (request.cache_root.empty()) request.cache_root = defaultCacheRoot();
  if (request.mirror.empty()) {
    const char* env = std::getenv("OOMHARNESS_MIRROR");
    request.mirror = env && *env ? env : "http://deb.debian.org/debian";
  }
  if (request.release.empty() ||
      request.release.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos)
    return fail("--release", "'" + printable(request.release) + "': expected a Debian codename (" +
                                 supportedReleasesText() + ")");
  for (const auto& p : request.packages)
    if (!isDebianPackageName(p))
      return fail("guest.packages", quotedPackage(p) + ": expected a Debian package name ([a-z0-9][a-z0-9+.-]+)");
  if (!fs::exists(request.recipe_dir / "customize.sh"))
    return failSetup(request.recipe_dir.string(), "not a guest recipe folder (no customize.sh)");
  return request;
}

}  // namespace

Expected<GuestImage> cachedImage(ImageRequest request) {
  auto complete = completeRequest(std::move(request));
  if (!complete) return tl::unexpected(complete.error());
  const fs::path dir = imageDir(*complete);
  std::error_code ec;
  if (!fs::exists(dir / "image.json", ec))
    return failSetup(dir.string(), "the guest image is not built");
  return readImageJson(fs::canonical(dir, ec));
}

Expected<GuestImage> ensureImage(ImageRequest given, FileLock* lease) {
  auto complete = completeRequest(std::move(given));
  if (!complete) return tl::unexpected(complete.error());
  ImageRequest request = std::move(*complete);
  const fs::path dir = imageDir(request);
  const fs::path images = dir.parent_path();
  const std::string name = dir.filename().string();
  std::error_code ec;
  fs::create_directories(images, ec);
  if (ec) return failSetup(images.string(), "cannot create the image cache: " + ec.message());
  // One at a time: parallel harnesses build an image once, and never see one half-swapped.
  auto lock = acquireLock(images / ".lock", LOCK_EX, kImageLockTimeout, "using the image cache");
  if (!lock) return tl::unexpected(lock.error());
  lock->note("checking the " + request.release + " image");
  // Taken while the cache is locked, so no build can remove the folder in between.
  auto holdImage = [&](const GuestImage& image) {
    if (!lease) return;
    if (auto held = tryLock(image.dir, LOCK_SH)) *lease = std::move(*held);
  };
  std::string damage;  // why the cached image is rebuilt
  if (!request.force && fs::exists(dir / "image.json")) {
    const fs::path real = fs::canonical(dir, ec);
    auto cached = readImageJson(real);
    std::string why;
    if (!cached) why = cached.error().message;
    else if (!fs::exists(cached->kernel())) why = "no vmlinuz";
    else if (const auto d = rootfsDamageOf(cached->rootfs()); !d.empty()) why = "rootfs.img: " + d;
    if (why.empty() && request.need_package_units && !cached->package_units_extracted) {
      // Not damaged: built before the unit files were copied out. Built again, once.
      spdlog::warn("vm: the cached image {} was built before oomharness copied its packages' unit files out; "
                   "building it again", real.string());
      request.force = true;
    } else if (why.empty()) {
      markUsed(cached->dir);
      holdImage(*cached);
      removeUnusedImages(images, request.release, name);
      return cached;
    }
    if (!why.empty()) {
      damage = "the cached image in " + real.string() + " is damaged (" + why + ")";
      spdlog::warn("vm: {}; rebuilding", damage);
    }
  }
  lock->note("building the " + request.release + " image");
  try {
    auto built = buildImage(request, dir);
    if (!built && !damage.empty()) built.error().message += " (rebuilding because " + damage + ")";
    if (!built) return built;
    holdImage(*built);
    removeUnusedImages(images, request.release, name);
    return built;
  } catch (const fs::filesystem_error& e) {  // disk full, permissions: nothing half-built stays
    return failSetup("vm build", e.what());
  }
}

}  // namespace oom
