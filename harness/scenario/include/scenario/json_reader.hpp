#pragma once
// A file's bytes -> a JSON tree, with limits enforced while parsing, before a deep
// or ambiguous tree exists: nesting depth, duplicate keys, numbers too large for a
// double and, for scenario files, control characters in strings and keys.
// nlohmann's SAX parser is iterative; this handler builds the tree itself and
// keeps the JSON path of the value being read, so every error names it.
// Scenario files (parse.cpp) and the files runs leave (result.json, index.json:
// report/limits.hpp, suite/limits.hpp) are read with it: one reader, their own rules.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"
#include "scenario/limits.hpp"

namespace oom {

using ScenarioJson = nlohmann::ordered_json;

// JSON paths as errors show them: $.services[0].unit.OOMPolicy, $.expect.units['a b'].
// Keys that are not plain words are quoted with their control characters escaped
// and cut to 40 bytes.
std::string jsonPathKey(const std::string& path, std::string_view key);
std::string jsonPathIndex(const std::string& path, std::size_t index);

// Errors of one file, at most limits::kMaxErrorsListed of them; the rest are counted.
class ErrorList {
 public:
  void add(Error e);
  bool empty() const { return list_.empty(); }
  // The errors, plus one "N more errors not listed" naming `source` if any were dropped.
  std::vector<Error> take(const std::string& source);

 private:
  std::vector<Error> list_;
  std::size_t dropped_ = 0;
};

// What a document is held to while it is parsed. A deeper document is refused
// before its tree exists: 47 million nested arrays in a 95 MiB file took 3.7 GB.
struct JsonReadRules {
  std::size_t max_depth = limits::kMaxDepth;
  std::string depth_note = "a scenario needs 5";  // why the limit is enough, said with it
  bool printable_text = true;                     // refuse control characters in strings and keys
  // What the file should be, for text that is not JSON at all: "expected JSON (WHAT)".
  std::string what = "a scenario";
  // A bound on the magnitude of numbers written with a fraction or an exponent, or
  // 0 for none. The readers of result.json and index.json read such numbers into
  // int fields too, and a double out of an int's range is undefined behaviour
  // there (fuzz_index found 1e60 as a suite's repeat): refused while parsing.
  double max_float_magnitude = 0;
  // Whether such a number may be negative: index.json has none, and one read into
  // an unsigned field is undefined behaviour.
  bool negative_floats = true;
};

// Parses `text` into `doc`. Each problem goes to `errors` with where = "source: $.path"
// (invalid JSON: "source:LINE:COLUMN: $.path"). Returns true when there was none;
// otherwise `doc` is incomplete and must not be used. Duplicate keys are refused.
bool readLimitedJson(std::string_view text, const std::string& source, const JsonReadRules& rules,
                     nlohmann::json& doc, ErrorList& errors);
bool readLimitedJson(std::string_view text, const std::string& source, const JsonReadRules& rules,
                     nlohmann::ordered_json& doc, ErrorList& errors);

// The same, for a reader that stops at the first error (result.json, index.json).
Expected<nlohmann::json> readLimitedJson(std::string_view text, const std::string& source,
                                         const JsonReadRules& rules);

// A scenario file: limits::kMaxDepth, control characters refused.
bool readScenarioJson(std::string_view text, const std::string& source, ScenarioJson& doc,
                      ErrorList& errors);

}  // namespace oom
