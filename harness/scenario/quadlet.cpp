// A Quadlet `.container` file in a scenario (docs/containers.md, "From a Quadlet
// file"): read as a unit file, its [Container] section read for podman run's settings.
#include "scenario/quadlet.hpp"

#include <algorithm>
#include <cctype>

#include "oom/guest_paths.hpp"
#include "oom/text.hpp"
#include "systemd/unit_file.hpp"

namespace oom {
namespace {

// [Container] keys the harness drop-in sets: what the file says is shown as
// neutralized, with why (unit_install.cpp's describeUnitFiles).
// Network= and PublishPort= are the file's (a probe reaches the container through them);
// without either the drop-in gives it none, as a podman run service has by default.
const char* const kHarnessContainerKeys[] = {"Image", "Exec", "Notify", "Pull"};

bool setByHarness(const std::string& key) {
  return std::any_of(std::begin(kHarnessContainerKeys), std::end(kHarnessContainerKeys),
                     [&](const char* k) { return key == k; });
}

// One podman run option of PodmanArgs=, "--memory=96m" or "--memory" "96m": its value.
struct Option {
  std::string name;   // "--memory"
  std::string value;
};
std::vector<Option> podmanOptions(std::string_view args, const char* const* known, std::size_t n_known) {
  std::vector<Option> out;
  const auto w = words(args);
  for (std::size_t i = 0; i < w.size(); ++i) {
    std::string word(w[i]);
    if (word == "-m") word = "--memory";
    else if (startsWith(word, "-m") && word.size() > 2 && word[2] != '-') word = "--memory=" + word.substr(2);
    const auto eq = word.find('=');
    const std::string name = word.substr(0, eq);
    if (std::none_of(known, known + n_known, [&](const char* k) { return name == k; })) continue;
    if (eq != std::string::npos) out.push_back({name, word.substr(eq + 1)});
    else if (i + 1 < w.size()) out.push_back({name, std::string(w[++i])});
    else out.push_back({name, ""});
  }
  return out;
}

// A PodmanArgs= option that would change what oomharness plans and checks behind its
// back: the network (read from Network= and PublishPort=, compared with Podman's record),
// the command (the harness's drop-in sets Exec=), a pod. Why it is refused, or nullopt.
std::optional<std::string> unreadPodmanArg(std::string_view args) {
  for (const auto word : words(args)) {
    const std::string w(word);
    const auto is = [&](std::string_view name) { return w == name || startsWith(w, std::string(name) + "="); };
    const std::string shown = "PodmanArgs= " + unitTextExcerpt(w) + ": ";
    if (is("--network") || is("--net") || is("--publish") || is("--publish-all") || w == "-P" ||
        startsWith(w, "-p"))
      return shown + "the network is [Container]'s Network= and PublishPort=, which oomharness reads, plans and "
                     "checks against Podman's record; expected it there";
    if (is("--entrypoint"))
      return shown + "oomharness runs its load as the container's command (its drop-in's Exec=), which "
                     "--entrypoint would replace; expected no --entrypoint";
    if (is("--pod"))
      return shown + "a pod is not set up by oomharness; expected the container on its own";
  }
  return std::nullopt;
}

}  // namespace

Expected<std::uint64_t> parsePodmanSize(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  const std::string number(text.substr(0, i));
  std::string_view rest = text.substr(i);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::string unit;
  if (!rest.empty() && std::string_view("kKmMgGtTpP").find(rest.front()) != std::string_view::npos) {
    unit = static_cast<char>(std::toupper(static_cast<unsigned char>(rest.front())));
    rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == 'i' || rest.front() == 'I')) rest.remove_prefix(1);
  }
  if (!rest.empty() && (rest.front() == 'b' || rest.front() == 'B')) rest.remove_prefix(1);
  if (number.empty() || !rest.empty() || unit == "P")
    return fail(std::string(text), "expected a size as Podman reads it, such as 96m or 1g (binary multiples)");
  return parseSize(number + unit);
}

std::string quadletFilePath(const std::string& service) {
  return std::string(guest::kQuadletDir) + "/" + service + ".container";
}
std::string quadletDropInPath(const std::string& service) {
  return std::string(guest::kQuadletDir) + "/" + service + ".container.d/" + kHarnessDropInName;
}

ServiceFilesResult readQuadletFile(const std::string& service, const std::filesystem::path& base,
                                   const std::filesystem::path& file, const std::string& where,
                                   UnitFileBudget& budget, ContainerSpec& c) {
  ServiceFileRefs refs;
  refs.base = base;
  refs.unit_file = file;
  refs.slice_dirs.push_back(file.parent_path());
  ServiceFilesResult out = readServiceFiles(service, refs, {}, where, budget);
  if (!out.errors.empty() || out.files.files.empty()) return out;
  InstalledFile& installed = out.files.files.front();
  installed.guest_path = quadletFilePath(service);
  c.quadlet = installed.source;
  c.cgroups = kContainerCgroupsSplit;  // Quadlet's default, unlike podman run's
  c.restart = "no";                    // Quadlet's podman run has --rm and no --restart

  // [Container] is Quadlet's, not systemd's: what readServiceFiles passed through
  // from it is sorted again here.
  const UnitFileText parsed = parseUnitFile(installed.text, installed.source);
  std::vector<std::string> container_lines;
  for (const auto& a : parsed.assignments)
    if (a.section == "Container") container_lines.push_back(placeOf(a));
  auto& through = out.files.passed_through;
  through.erase(std::remove_if(through.begin(), through.end(),
                               [&](const SettingOrigin& o) {
                                 return std::find(container_lines.begin(), container_lines.end(), o.where) !=
                                        container_lines.end();
                               }),
                through.end());

  bool has_container = false;
  static const char* const kKnown[] = {"--memory", "--memory-swap", "--oom-score-adj", "--restart", "--cgroups"};
  for (const auto& a : parsed.assignments) {
    if (a.section != "Container") continue;
    has_container = true;
    if (setByHarness(a.key)) {
      out.files.neutralized.push_back(SettingOrigin{a.key, a.value, placeOf(a)});
      continue;
    }
    out.files.quadlet.push_back(SettingOrigin{a.key, a.value, placeOf(a)});
    if (a.key == "CgroupsMode") {
      if (a.value != kContainerCgroupsSplit && a.value != kContainerCgroupsEnabled)
        out.errors.push_back(Error{placeOf(a), "CgroupsMode=" + unitTextExcerpt(a.value) + ": expected split (Quadlet's "
                                          "default) or enabled, the modes oomharness observes"});
      else {
        c.cgroups = a.value;
        c.origins["--cgroups"] = placeOf(a);
      }
      continue;
    }
    if (a.key == "Network") {
      // Podman's default network is named "podman"; a .network unit or another name is
      // a network oomharness does not set up.
      const std::string mode = a.value == "podman" ? kContainerNetworkBridge : a.value;
      if (mode != kContainerNetworkNone && mode != kContainerNetworkHost && mode != kContainerNetworkBridge)
        out.errors.push_back(Error{placeOf(a), "Network=" + unitTextExcerpt(a.value) + ": expected none, host, "
                                          "bridge or podman (Podman's default network), the networks oomharness "
                                          "observes; a .network unit or a network of another name is not set up"});
      else {
        c.network = mode;
        c.origins["--network"] = placeOf(a);
      }
      continue;
    }
    if (a.key == "PublishPort") {
      if (auto port = parsePublishedPort(a.value)) {
        c.publish.push_back(*port);
        c.origins["--publish"] = placeOf(a);
      } else {
        out.errors.push_back(Error{placeOf(a), "PublishPort=" + unitTextExcerpt(a.value) + ": expected " +
                                          kPublishedPortForm});
      }
      continue;
    }
    if (a.key != "PodmanArgs") continue;
    if (auto why = unreadPodmanArg(a.value)) out.errors.push_back(Error{placeOf(a), *why});
    for (const auto& o : podmanOptions(a.value, kKnown, std::size(kKnown))) {
      const std::string shown = o.name + "=" + unitTextExcerpt(o.value);
      if (o.name == "--memory" || o.name == "--memory-swap") {
        auto bytes = parsePodmanSize(o.value);
        if (!bytes) {
          out.errors.push_back(Error{placeOf(a), "PodmanArgs= " + shown + ": " + bytes.error().message});
          continue;
        }
        (o.name == "--memory" ? c.memory_bytes : c.memory_swap_bytes) = *bytes;
      } else if (o.name == "--oom-score-adj") {
        const auto adj = leadingNumber<long long>(o.value);
        if (!adj || std::to_string(*adj) != o.value || *adj < -1000 || *adj > 1000) {
          out.errors.push_back(Error{placeOf(a), "PodmanArgs= " + shown + ": expected an integer from -1000 to 1000"});
          continue;
        }
        c.oom_score_adj = static_cast<int>(*adj);
      } else if (o.name == "--restart") {
        c.restart = o.value;
      } else if (o.name == "--cgroups") {
        out.errors.push_back(Error{placeOf(a), "PodmanArgs= " + shown + ": Quadlet sets --cgroups itself; expected "
                                          "CgroupsMode= in [Container]"});
        continue;
      }
      c.origins[o.name] = placeOf(a);
    }
  }
  // PublishPort= without Network= publishes on Podman's default network, the bridge.
  if (!c.publish.empty() && !c.origins.count("--network")) c.network = kContainerNetworkBridge;
  if (!c.publish.empty() && c.network != kContainerNetworkBridge)
    out.errors.push_back(Error{c.origins.at("--publish"), "PublishPort= publishes on Podman's bridge network only; "
                                                          "expected no Network= or Network=bridge, not Network=" +
                                                              c.network});
  if (!has_container)
    out.errors.push_back(Error{installed.source, "has no [Container] section: Quadlet makes no unit of a "
                                                 ".container file without one"});
  return out;
}

std::string quadletDropIn(const std::string& service, const std::vector<std::string>& exec,
                          bool file_sets_network) {
  std::string command;
  for (const auto& w : exec) command += (command.empty() ? "" : " ") + w;
  return "# Written by oomharness: the test's own Quadlet drop-in, applied last. The\n"
         "# built-in image runs oomstress with the scenario's load instead of the\n"
         "# service's image; READY=1 comes from oomstress once its baseline is held.\n"
         "[Container]\n"
         "Image=" + std::string(guest::kContainerImage) + "\n"
         "Exec=" + command + "\n"
         "Label=" + guest::kContainerServiceLabel + "=" + service + "\n" +
         (file_sets_network ? "" : "Network=none\n") +
         "Pull=never\n"
         "Notify=true\n";
}

}  // namespace oom
