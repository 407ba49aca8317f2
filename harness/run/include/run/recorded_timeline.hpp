#pragma once
// `oomharness evaluate`: a timeline recorded by an earlier run (its results.jsonl,
// the observer's JSON lines), read back to be judged again offline.
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "oom/expected.hpp"
#include "oom/units.hpp"
#include "timeline/limits.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// The largest timeline file evaluate reads (timeline/limits.hpp). A 10-minute run with 20 units sampled
// every 0.5 s writes 600 s / 0.5 s * 20 = 24,000 sample lines. In the recorded
// three-services run a sample line is 371 bytes with 2 processes, each further
// process adding about 100 bytes, and the other 53 records took 13.7 KB. 32 MiB
// is 33,554,432 / 24,000 = 1,398 bytes per sample line: about 12 processes per
// unit, with room left for the other records. It is also twice the results
// channel's 16 MiB cap (vm/boot.hpp), so every results.jsonl a run kept is read.
inline constexpr std::uint64_t kMaxTimelineFileBytes = timeline_limits::kMaxTimelineFileBytes;

struct RecordedTimeline {
  Timeline timeline;
  std::size_t lines_ignored = 0;  // non-empty lines that were not a record understood
};

// The records of `file`, which must be a regular file of at most
// kMaxTimelineFileBytes: a folder, a FIFO, a device or a larger file is refused
// (ErrorKind::input, naming the file and what was expected) before it is read.
Expected<RecordedTimeline> readTimelineFile(const std::filesystem::path& file);

}  // namespace oom
