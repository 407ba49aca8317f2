#include "vm/saved_guest.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "oom/fnv.hpp"
#include "oom/guest_paths.hpp"
#include "oom/shell.hpp"
#include "oom/text.hpp"
#include "oom/utc.hpp"
#include "vm/channel.hpp"
#include "vm/lock.hpp"
#include "vm/process.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;
using SaveClock = std::chrono::steady_clock;

namespace oom {
namespace {

// Bumped when the guest's side of saving changes in a way the command line does not show.
constexpr const char* kSavedGuestFormat = "saved-guest 1";
// What the saving boot may write on each channel: it is kept only for a failure's reason.
constexpr std::uint64_t kSaveBootChannelCap = 1 * MiB;

double secondsSince(SaveClock::time_point t0) {
  return std::chrono::duration<double>(SaveClock::now() - t0).count();
}

std::string lastLinesOf(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 600) text = text.substr(text.size() - 600);
  return printable(text);
}

// Boots `machine` (GuestStart::save) until the guest says it can be saved, then
// saves it into `into` (root.qcow2 already there) and stops qemu.
Expected<void> bootAndSave(const QemuConfig& machine, const fs::path& into, const fs::path& work, SavedGuest& saved) {
  QemuConfig c = machine;
  c.name = "oomharness:saving " + into.filename().string();
  c.rootfs = into / "root.qcow2";
  c.qmp_socket = work / "save.qmp";
  c.console_log = work / "save-console";
  bool saveable = false;
  std::vector<ChannelRelay> relays;
  auto open = [&](const fs::path& fifo, const fs::path& file, LineSink sink) -> Expected<void> {
    auto relay = ChannelRelay::open(fifo, file, kSaveBootChannelCap, std::move(sink));
    if (!relay) return tl::unexpected(relay.error());
    relays.push_back(std::move(*relay));
    return {};
  };
  if (auto opened = open(c.console_log, into / "console.log", {}); !opened) return opened;
  for (const char* port : {guest::kControlPort, guest::kResultsPort, guest::kOutputPort, guest::kJournalPort}) {
    const fs::path fifo = work / (std::string("save-") + port);
    c.ports[port] = fifo;
    LineSink sink;
    if (std::string(port) == guest::kControlPort)
      sink = [&saveable](const std::string& line) {
        if (line.find(guest::kSaveableKey) != std::string::npos) saveable = true;
      };
    if (auto opened = open(fifo, work / (std::string("save-") + port + ".log"), sink); !opened) return opened;
  }
  const auto argv = qemuCommand(c);
  spdlog::debug("vm: saving a guest: {}", fmt::join(argv, " "));
  const auto started = SaveClock::now();
  bp::child qemu(findProgram(argv[0]).string(), bp::args(std::vector<std::string>(argv.begin() + 1, argv.end())),
                 (bp::std_out & bp::std_err) > (work / "save-qemu.log").string(), bp::std_in < bp::null,
                 bp::extend::on_exec_setup = [](auto&) { prepareChild(SIGKILL); });
  auto stop = [&](const std::string& why) -> Expected<void> {
    if (qemu.running()) signalGroup(qemu.id(), SIGKILL);
    qemu.wait();
    for (auto& r : relays) r.finish();
    return failSetup("saving a guest", why);
  };
  auto qmp = QmpClient::connect(c.qmp_socket, std::chrono::seconds(10));
  if (!qmp) return stop(qmp.error().message);
  while (!saveable) {
    for (auto& r : relays) r.poll();
    if (saveable) break;
    if (!qemu.running())
      return stop("the guest stopped before it could be saved; its console: " + lastLinesOf(into / "console.log"));
    if (interruptRequested()) return stop("interrupted by a signal");
    if (secondsSince(started) > static_cast<double>(kSaveBootLimit.count()))
      return stop("the guest did not come up to be saved within " + std::to_string(kSaveBootLimit.count()) +
                  " s; its console: " + lastLinesOf(into / "console.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  saved.boot_sec = secondsSince(started);
  const auto saving = SaveClock::now();
  const std::string state = (into / "state").string();
  if (auto paused = qmp->execute("stop"); !paused) return stop(paused.error().message);
  if (auto begun = qmp->execute("migrate", {{"uri", "exec:cat > " + shellQuote(state)}}); !begun)
    return stop(begun.error().message);
  if (auto done = qmp->awaitMigration(std::chrono::seconds(120)); !done) return stop(done.error().message);
  saved.save_sec = secondsSince(saving);
  (void)qmp->execute("quit");
  for (int i = 0; i < 100 && qemu.running(); ++i) {
    for (auto& r : relays) r.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (qemu.running()) signalGroup(qemu.id(), SIGKILL);
  qemu.wait();
  for (auto& r : relays) r.finish();
  return {};
}

bool complete(const fs::path& dir, const std::string& key) {
  std::ifstream in(dir / "saved.json");
  const auto j = nlohmann::json::parse(in, nullptr, false);
  std::error_code ec;
  return j.is_object() && j.value("key", std::string()) == key && fs::is_regular_file(dir / "state", ec) &&
         fs::is_regular_file(dir / "root.qcow2", ec);
}

SavedGuest readSaved(const fs::path& dir, const std::string& key) {
  std::ifstream in(dir / "saved.json");
  const auto j = nlohmann::json::parse(in, nullptr, false);
  SavedGuest saved;
  saved.dir = dir;
  saved.key = key;
  if (j.is_object()) {
    saved.boot_sec = j.value("boot_sec", 0.0);
    saved.save_sec = j.value("save_sec", 0.0);
  }
  return saved;
}

}  // namespace

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

Expected<SavedGuest> ensureSavedGuest(const GuestImage& image, QemuConfig machine, const std::string& qemu_version,
                                      const fs::path& work) {
  machine.start = GuestStart::save;
  machine.kernel = image.kernel();
  machine.initrd = image.initrd();
  std::error_code ec;
  if (!fs::is_regular_file(machine.initrd, ec))
    return failSetup(image.dir.string(), "the image has no initrd.img (built before oomharness saved guests)");
  if (findProgram("qemu-img").empty()) return failSetup("qemu-img", "not found (Debian package qemu-utils)");
  for (const char* port : {guest::kControlPort, guest::kResultsPort, guest::kOutputPort, guest::kJournalPort})
    machine.ports[port] = "PORT";
  const std::string key = savedGuestKey(machine, qemu_version);
  const fs::path saved_root = image.dir / "saved";
  const fs::path dir = saved_root / key;
  if (complete(dir, key)) return readSaved(dir, key);
  fs::create_directories(saved_root, ec);
  if (ec) return failSetup(saved_root.string(), "cannot create: " + ec.message());
  // One harness saves it; one that finds it being saved boots cold rather than wait.
  auto lock = tryLock(saved_root / (key + ".lock"), LOCK_EX);
  if (!lock) return failSetup(dir.string(), "another oomharness is saving this guest right now");
  if (complete(dir, key)) return readSaved(dir, key);
  const fs::path tmp = saved_root / (key + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  fs::remove_all(dir, ec);  // incomplete: a save that died half-way
  fs::create_directories(tmp);
  auto cleanup = [&tmp](Error e) -> Expected<SavedGuest> {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return tl::unexpected(std::move(e));
  };
  auto made = runTool({"qemu-img", "create", "-q", "-f", "qcow2", "-b", fs::absolute(image.rootfs()).string(), "-F",
                       "raw", (tmp / "root.qcow2").string()});
  if (made.status != 0) return cleanup(Error{"qemu-img create", made.output, ErrorKind::setup});
  SavedGuest saved;
  saved.key = key;
  saved.saved_now = true;
  if (auto done = bootAndSave(machine, tmp, work, saved); !done) return cleanup(done.error());
  nlohmann::json facts = {{"key", key},
                          {"format", kSavedGuestFormat},
                          {"qemu_version", qemu_version},
                          {"command", qemuCommand([&] {
                             QemuConfig shown = machine;
                             shown.rootfs = "root.qcow2";
                             return shown;
                           }())},
                          {"saved_at", utcNow()},
                          {"boot_sec", saved.boot_sec},
                          {"save_sec", saved.save_sec},
                          {"state_bytes", fs::file_size(tmp / "state", ec)}};
  std::ofstream(tmp / "saved.json") << facts.dump(2) << "\n";
  fs::rename(tmp, dir, ec);
  if (ec) return cleanup(Error{dir.string(), "cannot rename the saved guest in: " + ec.message(), ErrorKind::setup});
  saved.dir = dir;
  spdlog::info("vm: saved a booted guest for later runs in {} (boot {:.1f} s, save {:.1f} s)", dir.string(),
               saved.boot_sec, saved.save_sec);
  return saved;
}

void forgetSavedGuest(const SavedGuest& saved) {
  auto lock = tryLock(saved.dir.parent_path() / (saved.key + ".lock"), LOCK_EX);
  if (!lock) return;  // someone is saving it again already
  std::error_code ec;
  fs::remove_all(saved.dir, ec);
}

Expected<void> resumeSavedGuest(QmpClient& qmp, const QemuConfig& restore, const SavedGuest& saved) {
  if (auto begun = qmp.execute("migrate-incoming", {{"uri", "exec:cat " + shellQuote(saved.state().string())}}); !begun)
    return tl::unexpected(begun.error());
  if (auto done = qmp.awaitMigration(std::chrono::seconds(60)); !done) return tl::unexpected(done.error());
  // Swap first: the wrapper looks for it only once the payload is mounted.
  auto plug = [&qmp](const char* serial, const char* slot) {
    return qmp.execute("device_add", {{"driver", "virtio-blk-pci"}, {"drive", serial}, {"serial", serial},
                                      {"bus", slot}, {"id", std::string(serial) + "-disk"}});
  };
  if (!restore.swap_disk.empty())
    if (auto plugged = plug(guest::kSwapSerial, kSwapSlot); !plugged) return tl::unexpected(plugged.error());
  if (auto plugged = plug(guest::kPayloadSerial, kPayloadSlot); !plugged) return tl::unexpected(plugged.error());
  if (auto going = qmp.execute("cont"); !going) return tl::unexpected(going.error());
  return {};
}

}  // namespace oom
