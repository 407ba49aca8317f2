#pragma once
// Shared by the check files: what every check needs, and the check functions.
#include <string>
#include <vector>

#include "checks/timeline_index.hpp"
#include "checks/verdict.hpp"

namespace oom {

struct CheckContext {
  const Scenario& scenario;
  const TimelineIndex& index;
  bool pressure_observed = false;   // memory actually grew or a kill happened

  // An expected kill that did not come is a failure only if pressure happened.
  CheckOutcome missingKill() const { return pressure_observed ? CheckOutcome::fail : CheckOutcome::inconclusive; }
};

using Checks = std::vector<CheckResult>;

// kill_checks.cpp: who the kernel killed.
void checkFirstKilled(const CheckContext& ctx, Checks& out);
void checkKillOrder(const CheckContext& ctx, Checks& out);
void checkNeverKilled(const CheckContext& ctx, Checks& out);
void checkOomKills(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void checkConstraint(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void noteUnexpectedKills(const CheckContext& ctx, Checks& out);

// unit_checks.cpp: how systemd reacted.
void checkResult(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void checkRestarts(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void checkCleanRestart(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void checkActiveAtEnd(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void checkHalfAlive(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void checkResumesFromCheckpoint(const CheckContext& ctx, const std::string& service, const UnitExpectation& e, Checks& out);
void crossCheckKernelAndSystemd(const CheckContext& ctx, Checks& out);

}  // namespace oom
