#include "vm/saved_guest.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "oom/fnv.hpp"
#include "oom/guest_paths.hpp"
#include "oom/shell.hpp"
#include "oom/utc.hpp"
#include "vm/process.hpp"

namespace fs = std::filesystem;
using SaveClock = std::chrono::steady_clock;

namespace oom {
namespace {

// Bumped when the guest's side of saving changes in a way the command line does not show.
constexpr const char* kSavedGuestFormat = "saved-guest 1";

bool wholeSave(const fs::path& dir, const std::string& key) {
  std::ifstream in(dir / "saved.json");
  const auto j = nlohmann::json::parse(in, nullptr, false);
  std::error_code ec;
  return j.is_object() && j.value("key", std::string()) == key && fs::is_regular_file(dir / "state", ec) &&
         fs::is_regular_file(dir / "root.qcow2", ec);
}

// The run's disks into the machine's empty slots, then on: swap first, since the
// wrapper looks for it only once the payload is mounted.
Expected<void> plugDisksAndGo(QmpClient& qmp, const QemuConfig& config) {
  auto plug = [&qmp](const char* serial, const char* slot) {
    return qmp.execute("device_add", {{"driver", "virtio-blk-pci"}, {"drive", serial}, {"serial", serial},
                                      {"bus", slot}, {"id", std::string(serial) + "-disk"}});
  };
  if (!config.swap_disk.empty())
    if (auto plugged = plug(guest::kSwapSerial, kSwapSlot); !plugged) return tl::unexpected(plugged.error());
  if (auto plugged = plug(guest::kPayloadSerial, kPayloadSlot); !plugged) return tl::unexpected(plugged.error());
  if (auto going = qmp.execute("cont"); !going) return tl::unexpected(going.error());
  return {};
}

}  // namespace

GuestSave::GuestSave(GuestSave&& other) noexcept
    : lock(std::move(other.lock)), key(std::move(other.key)), dir(std::move(other.dir)), tmp(std::move(other.tmp)),
      qemu_version(std::move(other.qemu_version)) {
  other.tmp.clear();
}

GuestSave::~GuestSave() {
  std::error_code ec;
  if (!tmp.empty()) fs::remove_all(tmp, ec);  // gone already when the save was put in place
}

std::string savedGuestKey(const QemuConfig& machine, const std::string& qemu_version) {
  QemuConfig c = machine;
  c.name.clear();
  c.start = GuestStart::save;
  c.rootfs = "ROOT";
  c.console_log = "CONSOLE";
  c.qmp_socket = "QMP";
  c.payload_disk.clear();
  c.swap_disk.clear();
  for (auto& [name, file] : c.ports) file = "PORT";
  Fnv1a64 h;
  h.field(kSavedGuestFormat).field(qemu_version);
  for (const auto& word : qemuCommand(c)) h.field(word);
  return h.hex().substr(0, 12);
}

QemuConfig savedGuestMachine(const GuestImage& image, QemuConfig machine) {
  machine.start = GuestStart::save;
  machine.kernel = image.kernel();
  machine.initrd = image.initrd();
  return machine;
}

std::optional<SavedGuest> findSavedGuest(const GuestImage& image, const QemuConfig& machine,
                                         const std::string& qemu_version) {
  SavedGuest saved;
  saved.key = savedGuestKey(machine, qemu_version);
  saved.dir = image.dir / "saved" / saved.key;
  if (!wholeSave(saved.dir, saved.key)) return std::nullopt;
  std::ifstream in(saved.dir / "saved.json");
  const auto j = nlohmann::json::parse(in, nullptr, false);
  saved.boot_sec = j.value("boot_sec", 0.0);
  saved.save_sec = j.value("save_sec", 0.0);
  markUsed(saved.dir);
  return saved;
}

Expected<GuestSave> beginGuestSave(const GuestImage& image, const QemuConfig& machine, const std::string& qemu_version) {
  std::error_code ec;
  if (!fs::is_regular_file(image.initrd(), ec))
    return failSetup(image.dir.string(), "the image has no initrd.img (built before oomharness saved guests)");
  if (findProgram("qemu-img").empty()) return failSetup("qemu-img", "not found (Debian package qemu-utils)");
  GuestSave save;
  save.key = savedGuestKey(machine, qemu_version);
  save.qemu_version = qemu_version;
  const fs::path saved_root = image.dir / "saved";
  save.dir = saved_root / save.key;
  fs::create_directories(saved_root, ec);
  if (ec) return failSetup(saved_root.string(), "cannot create: " + ec.message());
  // One harness saves it; one that finds it being saved boots cold rather than wait.
  auto lock = tryLock(saved_root / (save.key + ".lock"), LOCK_EX);
  if (!lock) return failSetup(save.dir.string(), "another oomharness is saving this guest right now");
  save.lock = std::move(*lock);
  save.tmp = saved_root / (save.key + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(save.tmp, ec);
  fs::create_directories(save.tmp, ec);
  if (ec) return failSetup(save.tmp.string(), "cannot create: " + ec.message());
  auto made = runTool({"qemu-img", "create", "-q", "-f", "qcow2", "-b", fs::absolute(image.rootfs()).string(), "-F",
                       "raw", save.root().string()});
  if (made.status != 0) {
    fs::remove_all(save.tmp, ec);
    return failSetup("qemu-img create", made.output);
  }
  return save;
}

Expected<SavedGuest> saveAndGoOn(QmpClient& qmp, const QemuConfig& running, GuestSave& save, const fs::path& overlay,
                                 double boot_sec) {
  const auto started = SaveClock::now();
  auto failed = [&save](const Error& e) -> Expected<SavedGuest> {
    std::error_code ec;
    fs::remove_all(save.tmp, ec);
    return tl::unexpected(e);
  };
  if (auto paused = qmp.execute("stop"); !paused) return failed(paused.error());
  // From here on the run writes its own overlay; root.qcow2 stays as saved.
  if (auto moved = qmp.execute("blockdev-snapshot-sync",
                               {{"device", "root"}, {"snapshot-file", overlay.string()}, {"format", "qcow2"}});
      !moved)
    return failed(moved.error());
  const fs::path state = save.tmp / "state";
  if (auto begun = qmp.execute("migrate", {{"uri", "exec:cat > " + shellQuote(state.string())}}); !begun)
    return failed(begun.error());
  if (auto done = qmp.awaitMigration(std::chrono::seconds(120)); !done) return failed(done.error());
  SavedGuest saved;
  saved.key = save.key;
  saved.dir = save.dir;
  saved.boot_sec = boot_sec;
  saved.save_sec = std::chrono::duration<double>(SaveClock::now() - started).count();
  QemuConfig shown = running;
  shown.rootfs = "root.qcow2";
  shown.payload_disk.clear();
  shown.swap_disk.clear();
  std::error_code ec;
  const nlohmann::json facts = {{"key", save.key},
                                {"format", kSavedGuestFormat},
                                {"qemu_version", save.qemu_version},
                                {"command", qemuCommand(shown)},
                                {"saved_at", utcNow()},
                                {"boot_sec", saved.boot_sec},
                                {"save_sec", saved.save_sec},
                                {"state_bytes", fs::file_size(state, ec)}};
  std::ofstream(save.tmp / "saved.json") << facts.dump(2) << "\n";
  fs::remove_all(save.dir, ec);  // a save that died half-way, or one a restore failed on
  fs::rename(save.tmp, save.dir, ec);
  if (ec) return failed(Error{save.dir.string(), "cannot put the saved guest in place: " + ec.message(), ErrorKind::setup});
  save.lock = FileLock();
  spdlog::info("vm: saved this guest for later runs in {} (boot {:.1f} s, save {:.1f} s)", save.dir.string(),
               saved.boot_sec, saved.save_sec);
  for (const auto& gone : pruneSavedGuests(save.dir.parent_path(), kSavedGuestsKept, kSavedGuestInUse))
    spdlog::info("vm: removed the saved guest {} (more than {} kept, restored least recently)", gone,
                 kSavedGuestsKept);
  // A migrated-away guest may go on (its disks come back with `cont`).
  if (auto going = plugDisksAndGo(qmp, running); !going) return tl::unexpected(going.error());
  return saved;
}

Expected<void> resumeSavedGuest(QmpClient& qmp, const QemuConfig& restore, const SavedGuest& saved) {
  if (auto begun = qmp.execute("migrate-incoming", {{"uri", "exec:cat " + shellQuote(saved.state().string())}}); !begun)
    return tl::unexpected(begun.error());
  if (auto done = qmp.awaitMigration(std::chrono::seconds(60)); !done) return tl::unexpected(done.error());
  return plugDisksAndGo(qmp, restore);
}

std::vector<std::string> pruneSavedGuests(const fs::path& saved_root, std::size_t keep, std::chrono::minutes in_use) {
  std::error_code ec;
  std::vector<fs::path> folders;  // read whole first: nothing is removed while the folder is listed
  for (fs::directory_iterator it(saved_root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) folders.push_back(it->path());
  std::vector<std::string> removed;
  auto removeUnlocked = [&](const std::string& key, const fs::path& dir) {
    auto lock = tryLock(saved_root / (key + ".lock"), LOCK_EX);
    if (!lock) return;  // being saved (or forgotten) right now
    std::error_code gone;
    fs::remove_all(dir, gone);
    if (!gone) removed.push_back(dir.filename().string());
  };
  struct Whole {
    fs::path dir;
    fs::file_time_type used;
  };
  std::vector<Whole> whole;
  for (const auto& dir : folders) {
    const std::string name = dir.filename().string();
    if (const auto tmp = name.find(".tmp-"); tmp != std::string::npos) {
      removeUnlocked(name.substr(0, tmp), dir);
      continue;
    }
    // A restore's mark, else when it was saved; a folder with neither, oldest of all.
    whole.push_back({dir, lastUsed(dir, "saved.json").value_or(fs::file_time_type::min())});
  }
  std::sort(whole.begin(), whole.end(), [](const Whole& a, const Whole& b) { return a.used > b.used; });
  const auto recent = fs::file_time_type::clock::now() - in_use;
  for (std::size_t i = keep; i < whole.size(); ++i)
    if (whole[i].used < recent) removeUnlocked(whole[i].dir.filename().string(), whole[i].dir);
  std::sort(removed.begin(), removed.end());
  return removed;
}

void forgetSavedGuest(const SavedGuest& saved) {
  auto lock = tryLock(saved.dir.parent_path() / (saved.key + ".lock"), LOCK_EX);
  if (!lock) return;  // someone is saving it again already
  std::error_code ec;
  fs::remove_all(saved.dir, ec);
}

}  // namespace oom
