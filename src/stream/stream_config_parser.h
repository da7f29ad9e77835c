// The `streams:` section of the pipeline file: its key table (for the parser and the JSON Schema)
// and its parser. The limits of StreamConfig that the stream itself checks (stream/stream.h:
// kMaxShards, kMinSegmentBytes) are used here as they are; the others only bound what a file may say.
#pragma once

#include <chrono>
#include <cstdint>

#include "config/keys.h"
#include "config/reader.h"
#include "stream/stream.h"

namespace sluice::stream {

inline constexpr std::chrono::milliseconds kMaxFsyncInterval = std::chrono::minutes(10);
inline constexpr std::chrono::milliseconds kMaxRetention = std::chrono::hours(24 * 365);
inline constexpr uint64_t kMaxSegmentBytes = uint64_t{1} << 32;
inline constexpr uint64_t kMinPendingBytesLimit = uint64_t{1} << 20;
inline constexpr uint64_t kMaxPendingBytesLimit = uint64_t{1} << 34;
inline constexpr uint64_t kMaxMinFreeBytes = uint64_t{1} << 50;

// The keys of one stream (streams.NAME).
const config::Section& stream_section();

// Fills `stream` from one entry of streams: (nothing: every default), recording every problem in
// `reader`. Throws only ConfigError past the reader's limit of problems.
void parse_stream(config::Reader& reader, const config::Reader::Entry& entry, StreamConfig& stream);

}  // namespace sluice::stream
