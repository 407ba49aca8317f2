#pragma once
// systemd unit files and their drop-ins, read as systemd reads them, without a
// running systemd: the syntax of systemd.syntax(7) and the drop-in order of
// systemd.unit(5) (docs/lint-rules.md#how-files-are-read). Used by `oomharness lint` and by
// scenarios that take real unit files.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

// One "Key=value" line. `line` is where it starts (a continued line spans more).
struct UnitAssignment {
  std::string section;  // "Service"
  std::string key;      // "OOMScoreAdjust"
  std::string value;    // whitespace around it removed; continuations joined with a space
  std::string file;
  unsigned line = 0;
};

// Where an assignment is, as every message cites it: "units/api.service:12".
inline std::string placeOf(const UnitAssignment& a) { return a.file + ":" + std::to_string(a.line); }

// "# oomharness-lint: disable=rule-a,rule-b reason..." in a unit file. Before the
// first section header it covers the whole file; elsewhere the next assignment.
struct LintSuppression {
  std::vector<std::string> rules;
  std::string reason;       // empty: a finding of its own (suppression-without-reason)
  unsigned line = 0;        // where the comment is
  unsigned applies_to = 0;  // the assignment's line; 0 = the whole file
};

// A line systemd would log and ignore ("Missing '='", "Invalid section header").
struct UnitSyntaxProblem {
  unsigned line = 0;
  std::string message;
};

struct UnitFileText {
  std::string path;
  std::vector<UnitAssignment> assignments;  // in file order
  std::vector<LintSuppression> suppressions;
  std::vector<UnitSyntaxProblem> problems;
  bool foreign = false;  // stopped: too many lines were not systemd syntax
};

// A file is read by a harness that runs as root and prints what it finds wrong,
// so a problem never carries a whole line: at most kUnitExcerptBytes of it,
// escaped. After kMaxForeignLines lines that are not systemd syntax (no '=', a
// broken section header) the file "does not look like a unit file": parsing stops
// there, so the rest of, say, a credential file is never reported line by line.
inline constexpr std::size_t kUnitExcerptBytes = 40;
inline constexpr std::size_t kMaxForeignLines = 3;

// `text` for a message (unquoted): its first kUnitExcerptBytes (cut at a character
// boundary, "..." when cut), control characters and bytes that are not UTF-8 escaped.
std::string unitTextExcerpt(std::string_view text);

// Parses the text of one unit file or drop-in; `path` names it in every location.
UnitFileText parseUnitFile(std::string_view text, const std::string& path);

// A unit as systemd loads it: its own file (if given), then its drop-ins
// ("NAME.d/*.conf") in lexical order of their file names.
struct UnitSources {
  std::string name;  // "api.service"
  std::optional<UnitFileText> unit_file;
  std::vector<UnitFileText> drop_ins;  // sorted by file name, as systemd applies them

  // The files in the order systemd applies them.
  std::vector<const UnitFileText*> files() const;
  // "service", "slice", "scope", ... (the name's suffix).
  std::string type() const;
};

// The value a single-value directive ends up with, and every assignment that led there.
struct EffectiveSetting {
  const UnitAssignment* winner = nullptr;      // nullptr: reset by an empty assignment
  std::vector<const UnitAssignment*> history;  // in the order applied
};

// Single-value directives: the last assignment wins; an empty value resets to the default.
// Key = "Section.Key" ("Service.OOMScoreAdjust"). Assignments `accepted` refuses are skipped,
// as systemd skips a value it cannot parse (the earlier value stays).
std::map<std::string, EffectiveSetting> effectiveSettings(
    const UnitSources& unit, const std::function<bool(const UnitAssignment&)>& accepted = {});

// True for the suffixes systemd gives unit files ("api.service", "user.slice").
bool isUnitFileName(std::string_view name);

// The drop-in folders systemd reads for `unit`, least specific first: the type's
// ("service.d"), each dash prefix ("a-.service.d", "a-b-.service.d"), then the
// unit's own ("a-b-c.service.d"). Drop-ins from all of them are applied together in
// file-name order; of two with the same file name, the more specific folder's wins
// (systemd.unit(5); TEST-15-DROPIN's hierarchical drop-ins).
std::vector<std::string> dropInFolderNames(const std::string& unit);
// Its position in dropInFolderNames(unit), or -1 if `folder` is none of them.
int dropInSpecificity(const std::string& unit, const std::string& folder);

inline constexpr std::uint64_t kMaxUnitFileBytes = 1024 * 1024;

// A link to /dev/null: systemd skips the unit or drop-in (it is masked).
bool isMasked(const std::filesystem::path& p);

// A unit file's bytes: a regular text file (no NUL byte) of at most kMaxUnitFileBytes;
// the error names the file and what is wrong. For a path the user named; files found
// inside a folder are read below it (oom/confined.hpp).
Expected<std::string> readUnitFileBytes(const std::filesystem::path& file);

// The drop-ins found in a folder are listed and read below it (oom/confined.hpp), by
// scenario/unit_sources.cpp and scenario/lint_inputs.cpp.

}  // namespace oom
