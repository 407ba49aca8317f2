#include "run/recorded_timeline.hpp"

#include <string>

#include "oom/files.hpp"
#include "oom/text.hpp"

namespace oom {

Expected<RecordedTimeline> readTimelineFile(const std::filesystem::path& file) {
  auto bytes = readRegularFile(file, kMaxTimelineFileBytes, "timeline file (observer JSON lines)");
  if (!bytes) return tl::unexpected(bytes.error());
  RecordedTimeline out;
  for (const auto line : splitLines(*bytes))
    if (!line.empty() && !applyStreamLine(out.timeline, std::string(line))) ++out.lines_ignored;
  return out;
}

}  // namespace oom
