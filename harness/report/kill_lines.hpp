#pragma once
// Lines about one kill that the summary and report.html both print (summary.cpp).
#include <string>

#include "checks/timeline_index.hpp"

namespace oom {

// systemd's side of one kill: "systemd: invocation 01ee15f6 Result=oom-kill, restarted (NRestarts 1), ..."
// (guest text already through printable()).
std::string systemdLine(const TimelineIndex& index, const OomEvent& e, double pressure_t);

}  // namespace oom
