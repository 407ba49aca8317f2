// The scenario tests' view of errors: every error's text, one per line, which is what
// a failed expectation prints and what the tests search.
#pragma once

#include <string>
#include <vector>

#include "scenario/parse.hpp"

namespace oomtest {

inline std::string all(const std::vector<oom::Error>& errors) {
  std::string text;
  for (const auto& e : errors) text += e.str() + "\n";
  return text;
}

inline std::string errorsOf(const oom::ScenarioCheck& check) { return all(check.errors); }

}  // namespace oomtest
