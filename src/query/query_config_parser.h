// The `query:` section of the pipeline file: its key table (for the parser and the JSON Schema),
// its limits and its parser. The results location's bucket is checked against buckets: where it is
// read; the defaults that depend on other sections (the first crawler's database, the first bucket)
// are set by the composition before this parser runs.
#pragma once

#include <chrono>
#include <cstdint>

#include "config/keys.h"
#include "config/reader.h"
#include "query/engine.h"

namespace sluice::query {

inline constexpr int kMaxThreads = 256;
inline constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(24);
inline constexpr int64_t kMaxInlineRowsLimit = 100'000;
inline constexpr int64_t kMinSqlBytesLimit = 1024;
inline constexpr int64_t kMaxSqlBytesLimit = 64 << 20;

// The keys of the query: section.
const config::Section& query_section();

// Fills `query` from the query: section `node`, recording every problem in `reader`. Throws only
// ConfigError past the reader's limit of problems.
void parse_query(config::Reader& reader, const config::Node& node, QueryConfig& query);

}  // namespace sluice::query
