#pragma once
// Where oomharness finds its own files: relative to the running binary, so one
// build works from its build tree and from any install prefix (or a .deb):
//
//   build tree   build/bin/oomharness     build/bin/{oomstress,oomharness-guest}
//                build/share/oomharness/vm/    (a copy of the source's vm/, made by the build)
//   installed    PREFIX/bin/oomharness    PREFIX/libexec/oomharness/{oomstress,oomharness-guest}
//                PREFIX/share/oomharness/vm/
#include <filesystem>
#include <string_view>

#include "oom/expected.hpp"

namespace oom {

std::filesystem::path selfExecutable();  // /proc/self/exe, resolved

// A binary shipped with oomharness (oomstress, oomharness-guest): the first of
// <bin>/../libexec/oomharness/NAME and <bin>/NAME that exists; a setup error
// naming both places otherwise.
Expected<std::filesystem::path> helperBinary(std::string_view name);

// The guest image recipe: $OOMHARNESS_RECIPE_DIR when set, else
// <bin>/../share/oomharness/vm.
std::filesystem::path recipeDir();

}  // namespace oom
