#pragma once
// What a suite says about its cells: agreement between the repeats of each
// scenario x release (a check that disagrees is flaky), the suite's verdict and
// exit status, its junit.xml (one testsuite per scenario x release, one testcase
// per check) and the summary printed at the end. Pure functions of the index and
// the finished runs' checks, so they are unit-tested without a guest.
#include <map>
#include <string>
#include <vector>

#include "checks/verdict.hpp"
#include "suite/index.hpp"

namespace oom {

// A finished cell's verdict and checks, as its result.json has them.
struct FinishedRun {
  int repeat = 1;
  std::string verdict;  // pass, fail, inconclusive
  std::vector<CheckResult> checks;
};

// The repeats of one scenario x release. A check's status is its outcome when
// every finished repeat has it with the same outcome, else "flaky" (a check
// missing from a repeat counts as disagreeing; notes are never flaky). The
// group is flaky when a check is, or when the runs' verdicts differ.
SuiteGroup agreeAcrossRepeats(const std::string& scenario, const std::string& release,
                              const std::vector<FinishedRun>& runs);

// Suite verdict and exit status: 130 when interrupted; else fail (1) when any
// group failed or is flaky; else inconclusive (3) when any group was
// inconclusive or any cell did not finish; else pass (0). `reason`: one sentence.
struct SuiteOutcome {
  std::string verdict;
  int exit_status = 0;
  std::string reason;
};
SuiteOutcome suiteOutcome(const SuiteIndex& index, bool interrupted);

// runs: keyed by the cell's folder. A group with cells that ended without a
// result (or never ran) gets a testcase `run` with an error saying which.
std::string suiteJunitXml(const SuiteIndex& index, const std::map<std::string, FinishedRun>& runs);

// The suite summary: one line per scenario x release (verdict, runs that agreed,
// duration, folder), each flaky check with its outcome per run, then the totals.
std::string suiteSummary(const SuiteIndex& index);

}  // namespace oom
