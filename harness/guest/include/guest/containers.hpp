#pragma once
// Podman in the guest (docs/containers.md): the built-in image the containers run,
// and what Podman and the kernel say of a service's containers. Pure parts (the
// parser, the comparison) are separate from the ones that run podman, for tests.
#include <string>
#include <string_view>
#include <vector>

#include "live/sysfs.hpp"
#include "oom/expected.hpp"
#include "plan/guest_plan.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// The shell command that imports guest::kContainerImage from the agent's own static
// oomstress (a tar of that one file; no registry, no network).
std::string importImageCommand();

// The shell command that loads a user's image from its docker-archive in the payload
// (podman load) and prints the ID Podman gives `image`: it fails, with Podman's words,
// when the archive cannot be loaded or does not hold `image` by that name.
std::string loadImageCommand(const std::string& archive, const std::string& image);

// The shell command that prints `podman inspect` of every container of `service` (by
// its label, the exited ones too), or "[]" when it has none.
std::string inspectContainersCommand(const std::string& service);

// `podman inspect`'s JSON array -> one record per container: Podman's fields only
// (t, when, service, unit and the kernel's view are the caller's).
Expected<std::vector<ContainerRecord>> parsePodmanInspect(std::string_view json);

// The kernel's view of a running container: its main process's cgroup and that
// cgroup's memory.max, and conmon's and the main process's oom_score_adj.
void readContainerProcesses(const SysFs& fs, ContainerRecord& c);

// What the plan asked of the container against what Podman and the kernel show:
// sentences, empty when everything applied.
// The ports Podman publishes, as -p spells them: "127.0.0.1:8080:8080, 9000:9000".
std::string publishedText(const ContainerRecord& c);
std::vector<std::string> containerMismatches(const PlannedContainer& asked, const ContainerRecord& seen);

// One line for people: "container 65be4d12df41 running in /machine.slice/libpod-....scope/container
// (memory.max 100663296, --memory 96MiB); conmon pid 247 oom_score_adj -1000; oomstress pid 249
// oom_score_adj 0".
std::string containerSetupText(const ContainerRecord& c);

// The scope unit Podman's --cgroups=enabled puts a container in: "libpod-<id>.scope"
// (the observer watches and samples it as a unit of its own under this name).
inline std::string containerScopeUnit(const std::string& id) { return "libpod-" + id + ".scope"; }

// Quadlet's generator in dry run, as daemon-reload will run it: its messages only
// (the units it would write are dropped), then a last line "exit N".
std::string quadletDryRunCommand();

// What the generator refuses of the Quadlet file at `guest_path` (each message that
// names it, other than "Loading source"); when it failed without refusing any file
// by name, that failure: sentences, empty when it converts.
std::vector<std::string> quadletProblems(std::string_view output, const std::string& guest_path);

// How a unit_setup record names where a Quadlet unit came from, after its FragmentPath:
// "(written by Quadlet from /etc/containers/systemd/worker.container)". The agent
// writes it; the host looks for it.
inline std::string writtenByQuadletFrom(const std::string& source) {
  return "(written by Quadlet from " + source + ")";
}

// The container id a cgroup path names ("/machine.slice/libpod-<id>.scope/container",
// "/system.slice/x.service/libpod-payload-<id>"), or "".
std::string containerIdInCgroup(std::string_view cgroup);

}  // namespace oom
