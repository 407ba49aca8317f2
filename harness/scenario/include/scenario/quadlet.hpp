#pragma once
// A service's container from a Quadlet `.container` file (Podman 4.4 and later:
// trixie's guest): the shape a team deploys, tested as it is (docs/containers.md,
// "From a Quadlet file"). The file is read below the scenario's folder like a unit
// file; its [Service] settings are merged and cited with file and line as a unit
// file's are; its [Container] section is read for what podman run is given
// (PodmanArgs=, CgroupsMode=). In the guest it goes to guest::kQuadletDir, and
// Quadlet's own generator writes the unit at daemon-reload. The harness adds one
// Quadlet drop-in, last: the built-in image runs oomstress with the scenario's load.
#include <filesystem>
#include <string>
#include <vector>

#include "scenario/scenario.hpp"
#include "scenario/unit_sources.hpp"

namespace oom {

// Reads `file` (relative to `base`, read below it) as the Quadlet file of `service`:
// out.files gets it, installed at guest::kQuadletDir/NAME.container, and its merged
// [Service] settings; out.unit the table directives; `c` what its [Container] gives
// podman run, with where each came from. Every problem names the file and line.
ServiceFilesResult readQuadletFile(const std::string& service, const std::filesystem::path& base,
                                   const std::filesystem::path& file, const std::string& where,
                                   UnitFileBudget& budget, ContainerSpec& c);

// The harness's Quadlet drop-in, NAME.container.d/zz-oomharness.conf: the built-in
// image with `exec` (oomstress and the load), the service's label (how the agent finds
// its containers), no network unless the file sets Network= or PublishPort=, no pull,
// and Notify=true (READY=1 comes from oomstress once its baseline is held).
std::string quadletDropIn(const std::string& service, const std::vector<std::string>& exec,
                          bool file_sets_network);

// Where it goes in the guest.
std::string quadletFilePath(const std::string& service);
std::string quadletDropInPath(const std::string& service);

// A size as Podman reads it (go-units RAMInBytes): digits, an optional k, m, g, t or
// p in either case, optional "i" and "b"; binary multiples ("96m" is 96 MiB).
Expected<std::uint64_t> parsePodmanSize(std::string_view text);

}  // namespace oom
