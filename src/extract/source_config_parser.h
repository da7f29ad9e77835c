// The `sources:` section of the pipeline file: its key table (for the parser and the JSON Schema)
// and its parser. The checks that need other sections (declared buckets and streams, the source's
// timezone against its schedules) are the composition's (config/pipeline.cpp).
#pragma once

#include "config/keys.h"
#include "config/reader.h"
#include "extract/source_config.h"

namespace sluice::extract {

// The keys of one source (sources.NAME).
const config::Section& source_section();

// Fills `source` from one entry of sources:, recording every problem in `reader`. Throws only
// ConfigError past the reader's limit of problems.
void parse_source(config::Reader& reader, const config::Reader::Entry& entry, SourceConfig& source);

}  // namespace sluice::extract
