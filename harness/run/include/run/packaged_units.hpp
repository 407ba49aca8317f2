#pragma once
// Where a scenario's packaged unit files ("unit_file": {"package": "nginx"}) are
// read from: the guest image its guest.packages are installed in, whose build
// copied them out (vm/package_units.hpp). `run` builds that image first when it is
// missing (or was built before the copies were made); `check`, `plan` and
// `evaluate` only read a cached one, and say how to build it otherwise: they never
// pass a unit file they did not read.
#include <functional>
#include <string>

#include "oom/expected.hpp"
#include "scenario/scenario.hpp"
#include "scenario/unit_sources.hpp"
#include "vm/image.hpp"

namespace oom {

enum class ImageUse { cached_only, build };

// For ScenarioSources::packaged_units. `release`, when set, replaces the scenario's
// guest.release (`run --release`).
std::function<Expected<PackagedUnits>(const GuestSpec&)> packagedUnitsFromImage(ImageUse use,
                                                                               std::string release = "");

// Whether a scenario read without a packaged-unit source left such a unit unread.
bool readsPackagedUnits(const Scenario& scenario);

// The packaged units of a built image, their texts read from its units/ folder.
Expected<PackagedUnits> packagedUnitsOf(const GuestImage& image);

}  // namespace oom
