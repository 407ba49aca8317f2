#pragma once
// A unit's state as systemd reports it, assembled from D-Bus property values
// (PropertiesChanged payloads or Get replies). Kept as a cache per unit because
// a signal carries only one interface's properties, and a stopped transient
// unit can be garbage-collected before anyone asks again.
#include <string>
#include <string_view>

#include "live/bus.hpp"  // hexBytes
#include "systemd/directives.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// Applies one property if it is part of UnitStateChange. Returns true when it is
// one of ours (whether or not the value changed). InvocationID arrives as hex.
bool applyUnitProperty(UnitStateChange& state, std::string_view name, const DbusValue& value);

// Same ActiveState, SubState, Result, NRestarts, MainPID, InvocationID, ExecMain*.
bool sameUnitState(const UnitStateChange& a, const UnitStateChange& b);


}  // namespace oom
