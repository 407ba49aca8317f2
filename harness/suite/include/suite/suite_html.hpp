#pragma once
// index.html of a suite folder: one self-contained page (no script, nothing
// loaded), a row per scenario x release with its verdict and a link to each
// cell's report.html, flaky checks with the outcome of every run. Written with
// index.json while the suite runs, and again by `oomharness report SUITE_DIR`.
#include <filesystem>
#include <string>

#include "suite/index.hpp"

namespace oom {

std::string suiteIndexHtml(const SuiteIndex& index);

// `oomharness report SUITE_DIR`: every finished cell's report.html, summary.txt
// and junit.xml written again from its result.json, then the suite's junit.xml,
// summary.txt and index.html from index.json and those results (index.json itself
// is kept as recorded). Returns the exit status: 0, 2 when the folder is not a
// suite folder or a cell's result.json cannot be read (named on stderr), 3 when a
// file could not be written.
int rewriteSuiteReports(const std::filesystem::path& dir);

// `oomharness show SUITE_DIR`: the suite summary and verdict from index.json.
int showSuite(const std::filesystem::path& dir);

}  // namespace oom
