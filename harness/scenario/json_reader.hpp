#pragma once
// The scenario file's bytes -> a JSON tree, with the limits of scenario/limits.hpp
// enforced while parsing, before a deep or ambiguous tree exists: nesting depth,
// duplicate keys, numbers too large for a double, control characters in strings
// and keys. nlohmann's SAX parser is iterative; this handler builds the tree
// itself and keeps the JSON path of the value being read, so every error names it.
// Private to the scenario stage (parse.cpp is its only user).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"

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

// Parses `text` into `doc`. Each problem goes to `errors` with where = "source: $.path"
// (invalid JSON: "source:LINE:COLUMN: $.path"). Returns true when there was none;
// otherwise `doc` is incomplete and must not be used.
bool readScenarioJson(std::string_view text, const std::string& source, ScenarioJson& doc,
                      ErrorList& errors);

}  // namespace oom
