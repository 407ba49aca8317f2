#pragma once
// `capture --units DIR`: the unit files and drop-ins systemd says produced each
// captured service's settings (FragmentPath, DropInPaths), copied into DIR laid
// out as /etc/systemd/system, so `oomharness lint DIR` and a scenario's unit
// tree can read exactly them. The host is only read.
#include <filesystem>
#include <string>
#include <vector>

#include "capture/capture.hpp"
#include "live/sysfs.hpp"
#include "oom/expected.hpp"

namespace oom {

struct UnitFileCopy {
  std::string unit;      // "api.service"
  std::string source;    // "/etc/systemd/system/api.service.d/10-oom.conf"
  std::string relative;  // "api.service.d/10-oom.conf", under DIR
};

struct UnitCopyPlan {
  std::vector<UnitFileCopy> copies;
  std::vector<std::string> not_copied;  // "x.service: masked (FragmentPath /dev/null)", ...
};

// The unit file goes to DIR/<its file name>, a drop-in to DIR/<its folder's
// name>/<its file name> (api.service.d/, service.d/, foo@.service.d/). A unit
// masked or with no file is named in not_copied; a file two units share is
// copied once; two different files for one place: the first wins, the other is named.
UnitCopyPlan planUnitCopies(const std::vector<CapturedService>& services);

// Copies each file (read under `fs`'s root) into dir, creating folders; never
// replaces a file already there (an error naming it). Returns the files written.
Expected<std::vector<std::string>> copyUnitFiles(const UnitCopyPlan& plan, const SysFs& fs,
                                                 const std::filesystem::path& dir);

}  // namespace oom
