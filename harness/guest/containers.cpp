#include "guest/containers.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "oom/guest_paths.hpp"
#include "oom/shell.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "scenario/image_archive.hpp"

namespace oom {

std::string importImageCommand() {
  // A folder of its own under /tmp, removed afterwards whatever happens.
  return std::string("set -e; d=$(mktemp -d); trap 'rm -rf \"$d\"' EXIT; mkdir \"$d/root\"; cp ") +
         shellQuote(guest::kStressorPath) + " \"$d/root\"" + guest::kContainerStressorPath +
         "; tar -C \"$d/root\" -cf \"$d/image.tar\" .; " + guest::kPodmanPath + " import --quiet \"$d/image.tar\" " +
         shellQuote(guest::kContainerImage);
}

std::string loadImageCommand(const std::string& archive, const std::string& image) {
  // podman load names what it loaded on stdout ("Loaded image: ...", even with --quiet on
  // 4.3): the output is the ID alone, errors and warnings aside (they go to stderr).
  return std::string("set -e; ") + guest::kPodmanPath + " load --input " + shellQuote(archive) + " >/dev/null; " +
         guest::kPodmanPath + " image inspect --format '{{.Id}}' " + shellQuote(image);
}

std::string inspectContainersCommand(const std::string& service) {
  const std::string label = shellQuote(std::string("label=") + guest::kContainerServiceLabel + "=" + service);
  return std::string("ids=$(") + guest::kPodmanPath + " ps --all --quiet --no-trunc --filter " + label +
         "); if [ -z \"$ids\" ]; then echo '[]'; else " + guest::kPodmanPath + " inspect $ids; fi";
}

std::string quadletDryRunCommand() {
  return std::string(guest::kQuadletGenerator) + " -dryrun -no-kmsg-log 2>&1 >/dev/null; echo \"exit $?\"";
}

std::vector<std::string> quadletProblems(std::string_view output, const std::string& guest_path) {
  std::vector<std::string> lines;
  for (const auto line : splitLines(output))
    if (!line.empty()) lines.emplace_back(line);
  const std::string file_name = std::filesystem::path(guest_path).filename().string();
  std::string exit_line = lines.empty() ? "" : lines.back();
  if (!lines.empty()) lines.pop_back();
  std::vector<std::string> out;
  for (const auto& l : lines)
    if ((l.find(guest_path) != std::string::npos || l.find("\"" + file_name + "\"") != std::string::npos) &&
        l.find("Loading source") == std::string::npos)
      out.push_back("Quadlet: " + printable(l));
  // A refusal of another file is that file's; a failure that names none is everyone's.
  const bool names_a_file = std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("converting \"") != std::string::npos;
  });
  if (out.empty() && exit_line != "exit 0" && !names_a_file) {
    std::string said;
    for (std::size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i)
      said += (said.empty() ? "" : "; ") + printable(lines[i]);
    out.push_back(std::string("Quadlet's generator ") + guest::kQuadletGenerator + " ended with " +
                  (exit_line.empty() ? std::string("no status") : exit_line) +
                  (exit_line == "exit 127" ? " (not in the guest: Podman before 4.4 has no Quadlet)" : "") +
                  (said.empty() ? "" : ": " + said));
  }
  return out;
}

namespace {

template <typename T>
T get(const nlohmann::json& object, const char* key, T fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return fallback;
  }
}

}  // namespace

Expected<std::vector<ContainerRecord>> parsePodmanInspect(std::string_view json) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return fail("podman inspect", "expected a JSON array; got " + printable(std::string(json.substr(0, 200))));
  std::vector<ContainerRecord> out;
  for (const auto& c : doc) {
    if (!c.is_object()) continue;
    ContainerRecord r;
    r.id = get<std::string>(c, "Id", "");
    r.name = get<std::string>(c, "Name", "");
    r.restart_count = get<unsigned>(c, "RestartCount", 0);
    const auto state = c.value("State", nlohmann::json::object());
    r.status = get<std::string>(state, "Status", "");
    r.pid = get<int>(state, "Pid", 0);
    r.conmon_pid = get<int>(state, "ConmonPid", 0);
    r.exit_code = get<int>(state, "ExitCode", 0);
    r.oom_killed = get<bool>(state, "OOMKilled", false);
    r.started_at = get<std::string>(state, "StartedAt", "");
    r.finished_at = get<std::string>(state, "FinishedAt", "");
    r.cgroup = get<std::string>(state, "CgroupPath", "");
    r.image = get<std::string>(c, "ImageName", "");
    r.image_id = get<std::string>(c, "Image", "");
    r.user = get<std::string>(c.value("Config", nlohmann::json::object()), "User", "");
    const auto host = c.value("HostConfig", nlohmann::json::object());
    // Podman shows "no limit" as 0 (and a --memory-swap of -1 as -1: unlimited).
    r.memory_bytes = static_cast<std::uint64_t>(std::max<long long>(0, get<long long>(host, "Memory", 0)));
    r.memory_swap_bytes = static_cast<std::uint64_t>(std::max<long long>(0, get<long long>(host, "MemorySwap", 0)));
    r.oom_score_adj = get<int>(host, "OomScoreAdj", 0);
    r.network_mode = get<std::string>(host, "NetworkMode", "");
    // {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}: one -p each.
    const auto bindings = host.value("PortBindings", nlohmann::json::object());
    for (auto it = bindings.begin(); bindings.is_object() && it != bindings.end(); ++it) {
      const std::string inside = it.key().substr(0, it.key().find('/'));
      if (!it.value().is_array()) continue;
      for (const auto& b : it.value()) {
        const std::string ip = get<std::string>(b, "HostIp", "");
        r.published.push_back((ip.empty() || ip == "0.0.0.0" ? "" : ip + ":") + get<std::string>(b, "HostPort", "") +
                              ":" + inside);
      }
    }
    if (!r.id.empty()) out.push_back(std::move(r));
  }
  return out;
}

void readContainerProcesses(const SysFs& fs, ContainerRecord& c) {
  for (int pid : {c.conmon_pid, c.pid}) {
    if (pid <= 0) continue;
    if (auto p = fs.process(pid)) c.processes.push_back(ProcessSetting{pid, p->comm, p->oom_score_adj});
  }
  if (c.pid <= 0) return;
  // cgroup v2: one line, "0::/machine.slice/libpod-<id>.scope/container".
  if (auto text = fs.readFile("proc/" + std::to_string(c.pid) + "/cgroup")) {
    const auto colons = text->find("::");
    if (colons != std::string::npos) c.process_cgroup = std::string(trim(std::string_view(*text).substr(colons + 2)));
  }
  if (!c.process_cgroup.empty())
    if (auto max = fs.cgroupText(c.process_cgroup, "memory.max")) c.memory_max = *max;
}

std::string publishedText(const ContainerRecord& c) {
  std::string text;
  for (const auto& port : c.published) text += (text.empty() ? "" : ", ") + port;
  return text;
}

std::vector<std::string> containerMismatches(const PlannedContainer& asked, const ContainerRecord& seen) {
  std::vector<std::string> out;
  const std::string who = "container " + seen.id.substr(0, 12);
  if (seen.status != "running") out.push_back(who + " is " + seen.status + ", not running, before the pressure");
  if (seen.memory_bytes != asked.memory_bytes)
    out.push_back(who + ": Podman shows Memory " + std::to_string(seen.memory_bytes) + ", asked " +
                  std::to_string(asked.memory_bytes) + " (--memory)");
  if (seen.status == "running") {
    const std::string want = asked.memory_bytes ? std::to_string(asked.memory_bytes) : "max";
    if (seen.memory_max.empty())
      out.push_back(who + ": memory.max of its cgroup " + (seen.process_cgroup.empty() ? "(unknown)" : seen.process_cgroup) +
                    " could not be read");
    else if (asked.memory_bytes && seen.memory_max != want)
      out.push_back(who + ": memory.max of " + seen.process_cgroup + " is " + seen.memory_max + ", asked " + want);
  }
  // Agents before the image was recorded ran only the built-in one (the plan's command
  // line says so): an unrecorded image is unknown, a mismatch for the user's own.
  const bool unrecorded_builtin = seen.image.empty() && asked.image == guest::kContainerImage;
  // Podman spells a short name in full ("web:1.4" is localhost/web:1.4).
  const bool same_image = !seen.image.empty() && normalizedImageName(seen.image) == normalizedImageName(asked.image);
  if (!asked.image.empty() && !unrecorded_builtin && !same_image)
    out.push_back(who + ": Podman shows image " + (seen.image.empty() ? std::string("(none recorded)") : seen.image) +
                  ", asked " + asked.image);
  // Plans made before the network was planned ask none of it. Agents before it recorded
  // no NetworkMode, and ran every container with --network=none (the plan's command line,
  // bound to the recording): an unrecorded mode is unknown, a mismatch for any other network.
  const bool unrecorded_none = seen.network_mode.empty() && asked.network == "none";
  if (!asked.network.empty() && !unrecorded_none && seen.network_mode != asked.network)
    out.push_back(who + ": Podman shows NetworkMode " +
                  (seen.network_mode.empty() ? std::string("(none recorded)") : seen.network_mode) + ", asked " +
                  asked.network + " (--network)");
  for (const auto& port : asked.publish)
    if (std::find(seen.published.begin(), seen.published.end(), port) == seen.published.end())
      out.push_back(who + ": Podman publishes " + (seen.published.empty() ? std::string("no port") : publishedText(seen)) +
                    ", asked " + port + " (--publish)");
  if (!asked.oom_score_adj.empty()) {
    bool found = false;
    for (const auto& p : seen.processes)
      if (p.pid == seen.pid) {
        found = true;
        if (std::to_string(p.oom_score_adj) != asked.oom_score_adj)
          out.push_back(who + ": its process " + std::to_string(p.pid) + " (" + p.comm + ") has oom_score_adj " +
                        std::to_string(p.oom_score_adj) + ", asked " + asked.oom_score_adj + " (--oom-score-adj)");
      }
    if (!found && seen.status == "running")
      out.push_back(who + ": the oom_score_adj of its process " + std::to_string(seen.pid) + " could not be read");
  }
  return out;
}

std::string containerSetupText(const ContainerRecord& c) {
  std::string text = "container " + c.id.substr(0, 12) + " " + (c.status.empty() ? "(no status)" : c.status);
  if (!c.process_cgroup.empty()) text += " in " + c.process_cgroup;
  text += " (memory.max " + (c.memory_max.empty() ? std::string("unread") : c.memory_max) + ", --memory " +
          (c.memory_bytes ? formatSize(c.memory_bytes) : std::string("none")) + ")";
  if (!c.image.empty() && c.image != guest::kContainerImage)
    text += ", image " + c.image + (c.user.empty() ? "" : " as user " + c.user);
  if (!c.network_mode.empty())
    text += ", network " + c.network_mode + (c.published.empty() ? "" : " publishing " + publishedText(c));
  for (const auto& p : c.processes)
    text += "; " + p.comm + " pid " + std::to_string(p.pid) + " oom_score_adj " + std::to_string(p.oom_score_adj);
  return text;
}

std::string containerIdInCgroup(std::string_view cgroup) {
  // Podman names the cgroups after the full id: 64 hex digits after "libpod-" (a
  // scope of its own) or "libpod-payload-" (--cgroups=split, below the unit).
  for (std::string_view prefix : {"libpod-payload-", "libpod-"}) {
    for (std::size_t at = cgroup.find(prefix); at != std::string_view::npos; at = cgroup.find(prefix, at + 1)) {
      const std::string_view rest = cgroup.substr(at + prefix.size());
      std::size_t n = 0;
      while (n < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[n]))) ++n;
      if (n == 64 && (n == rest.size() || rest[n] == '.' || rest[n] == '/')) return std::string(rest.substr(0, 64));
    }
  }
  return "";
}

}  // namespace oom
