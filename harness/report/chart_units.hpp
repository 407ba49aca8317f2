#pragma once
// The chart's units and their colours, shared by the chart and its legend (timeline_chart.cpp).
#include <cstddef>
#include <string>
#include <vector>

#include "report/report.hpp"

namespace oom {

// Units in plan order, then any other unit the guest reported.
std::vector<std::string> chartUnits(const RunReport& report);

// The colour of the unit at `index` in chartUnits(); a second round of the
// palette draws its lines dashed (chartUnitDashed).
const char* chartUnitColour(std::size_t index);
bool chartUnitDashed(std::size_t index);

}  // namespace oom
