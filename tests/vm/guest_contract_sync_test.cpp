// The host-guest contract is written once, in common/include/oom/guest_paths.hpp,
// but the guest's side of it is shell and unit files (vm/guest/oomharness-job,
// vm/units/*, vm/customize.sh) that cannot include a header. These tests read
// those files from the source tree and check, both ways, that every port name,
// disk serial, path, sentinel, variable and flag they use is the constant's value,
// and that every constant they need appears in them; and that the host's own
// spellings (the kernel command line, the job script) use the same constants.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "oom/guest_paths.hpp"
#include "vm/payload.hpp"
#include "vm/qemu.hpp"

namespace oom {
namespace {

namespace fs = std::filesystem;

const fs::path kRecipe = fs::path(OOMHARNESS_SOURCE_DIR) / "vm";

std::string readText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << file;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Every first capture group of `pattern` in `text`.
std::set<std::string> captures(const std::string& text, const std::string& pattern) {
  std::set<std::string> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.insert((*it)[1].str());
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string& wrapper() {
  static const std::string text = readText(kRecipe / "guest" / "oomharness-job");
  return text;
}

TEST(GuestContractSync, TheWrapperOpensExactlyTheFourPorts) {
  EXPECT_EQ(captures(wrapper(), R"(\bport (\S+) \|\|)"),
            (std::set<std::string>{guest::kResultsPort, guest::kControlPort, guest::kOutputPort,
                                   guest::kJournalPort}));
  // No other port name is spelled anywhere in the script.
  for (const auto& name : captures(wrapper(), R"(\b(oomharness\.[a-z]+)\b)"))
    EXPECT_TRUE(name == guest::kResultsPort || name == guest::kControlPort || name == guest::kOutputPort ||
                name == guest::kJournalPort || std::string(guest::kRestorableFlag).rfind(name + "=", 0) == 0)
        << name;
}

TEST(GuestContractSync, TheWrapperEndsTheControlChannelWithTheSentinel) {
  EXPECT_EQ(captures(wrapper(), R"((OOMHARNESS-[A-Z]+))"), std::set<std::string>{guest::kEndSentinel});
  // The sentinel is a line of its own, right after the status line.
  EXPECT_TRUE(contains(wrapper(), std::string("}\\n") + guest::kEndSentinel + "\\n"));
}

TEST(GuestContractSync, TheWrapperFindsTheDisksByTheirSerials) {
  EXPECT_EQ(captures(wrapper(), R"(\bdisk (\S+) \|\|)"),
            (std::set<std::string>{guest::kPayloadSerial, guest::kSwapSerial}));
  EXPECT_EQ(captures(wrapper(), R"(mount -o ro "\$dev" ([^\s;]+))"), std::set<std::string>{guest::kRoot});
  EXPECT_EQ(captures(wrapper(), R"(\[ -e (\S+) \])"), std::set<std::string>{guest::kSwapMarker});
}

TEST(GuestContractSync, TheWrapperWaitsToBeSavedAndSaysWhenItWasRestored) {
  EXPECT_EQ(captures(wrapper(), R"(\*" (\S+) "\*\))"), std::set<std::string>{guest::kRestorableFlag});
  EXPECT_EQ(captures(wrapper(), R"re(\{"([a-z_]+_uptime)")re"),
            (std::set<std::string>{"command_start_uptime", guest::kSaveableKey, guest::kRestoredKey}));
  EXPECT_TRUE(contains(wrapper(), "until disk " + std::string(guest::kPayloadSerial) + ";"));
}

TEST(GuestContractSync, TheWrapperRunsTheJobScriptWithTheResultsVariable) {
  EXPECT_EQ(captures(wrapper(), R"(\bsh (/\S+))"), std::set<std::string>{guest::kJobScript});
  EXPECT_EQ(captures(wrapper(), R"(\b([A-Z_]+)=\$results\b)"), std::set<std::string>{guest::kResultsEnv});
  EXPECT_EQ(captures(wrapper(), R"(\b(OOMHARNESS_[A-Z_]+))"), std::set<std::string>{guest::kResultsEnv});
  // Every guest path it names is one of ours.
  for (const auto& path : captures(wrapper(), R"((/opt/oomharness[^\s";]*))"))
    EXPECT_TRUE(path == guest::kRoot || path == guest::kJobScript || path == guest::kSwapMarker) << path;
}

TEST(GuestContractSync, TheUnitsRunTheWrapperUnderTheTarget) {
  const fs::path units = kRecipe / "units";
  ASSERT_TRUE(fs::exists(units / guest::kJobTarget)) << "vm/units has no " << guest::kJobTarget;
  const std::string job = readText(units / "oomharness-job.service");
  const std::string journal = readText(units / "oomharness-journal.service");
  EXPECT_EQ(captures(job, R"(ExecStart=(.*))"), std::set<std::string>{guest::kJobWrapper});
  EXPECT_EQ(captures(journal, R"(ExecStart=(.*))"),
            std::set<std::string>{std::string(guest::kJobWrapper) + " --journal"});
  const std::string target = readText(units / guest::kJobTarget);
  EXPECT_TRUE(contains(target, "oomharness-job.service"));
  EXPECT_TRUE(contains(target, "oomharness-journal.service"));
  EXPECT_TRUE(contains(wrapper(), "--journal"));
}

TEST(GuestContractSync, TheImageHasTheRootDeviceMountPointsAndWrapper) {
  const std::string customize = readText(kRecipe / "customize.sh");
  EXPECT_EQ(captures(customize, R"(echo "(\S+) / ext4)"), std::set<std::string>{std::string("LABEL=") + guest::kRootLabel});
  const std::string wrapper_dir = fs::path(guest::kJobWrapper).parent_path().string();
  const std::string wrapper_name = fs::path(guest::kJobWrapper).filename().string();
  EXPECT_TRUE(contains(customize, "\"$recipe/guest/" + wrapper_name + "\" \"$root" + wrapper_dir + "/\""))
      << "customize.sh must install the wrapper as " << guest::kJobWrapper;
  EXPECT_TRUE(contains(customize, std::string("\"$root") + guest::kRoot + "\"")) << "mount point " << guest::kRoot;
  EXPECT_TRUE(contains(customize, std::string("\"$root") + guest::kCheckpointDir + "\""))
      << "checkpoint folder " << guest::kCheckpointDir;
  EXPECT_TRUE(contains(customize, "\"$recipe\"/units/*"));
}

TEST(GuestContractSync, TheHostSpellsTheSameNames) {
  QemuConfig c;
  const std::string line = kernelCommandLine(c);
  EXPECT_TRUE(contains(" " + line + " ", std::string(" root=") + guest::kRootDevice + " ")) << line;
  EXPECT_TRUE(contains(" " + line + " ", std::string(" systemd.unit=") + guest::kJobTarget + " ")) << line;
  EXPECT_FALSE(contains(line, guest::kRestorableFlag));
  c.start = GuestStart::save;
  EXPECT_TRUE(contains(" " + kernelCommandLine(c) + " ", std::string(" ") + guest::kRestorableFlag + " "));
  EXPECT_TRUE(contains(" " + kernelCommandLine(c) + " ", std::string(" root=LABEL=") + guest::kRootLabel + " "));
  EXPECT_TRUE(contains(jobScript({"true"}), std::string("cd ") + guest::kPayloadDir + " "));
  EXPECT_EQ(std::string(guest::kJobScript), std::string(guest::kJobDir) + "/run.sh");
  EXPECT_EQ(std::string(guest::kPlanPath), std::string(guest::kRoot) + "/" + guest::kPlanPayloadName);
}

// A scenario may not name a service after a unit the recipe installs.
TEST(GuestContractSync, TheRecipesServicesAreTheGuestsOwn) {
  std::size_t services = 0;
  for (const auto& entry : fs::directory_iterator(kRecipe / "units")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".service") continue;
    ++services;
    EXPECT_TRUE(guest::isGuestService(name)) << name << " is not in guest_paths.hpp's kGuestServices";
  }
  EXPECT_GE(services, 2u);
  EXPECT_FALSE(guest::isGuestService("api.service"));
  EXPECT_FALSE(guest::isGuestService("dbus-worker"));
  EXPECT_TRUE(guest::isGuestService("dbus"));
}

}  // namespace
}  // namespace oom
