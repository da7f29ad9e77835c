// The `processors:` section of the pipeline file: its key table (for the parser and the JSON Schema)
// and its parser. Buckets it names are checked against buckets: where they are read.
#pragma once

#include <map>
#include <string>

#include "config/keys.h"
#include "config/reader.h"
#include "process/processor.h"

namespace sluice::process {

// The keys of one processor (processors.NAME).
const config::Section& processor_section();

// Where each step is written, for problems found after loading: key "PROCESSOR/INDEX".
using StepLocations = std::map<std::string, config::Diagnostic>;

// Fills `processor` from one entry of processors:, recording every problem in `reader` and each
// step's place in `locations`. Throws only ConfigError past the reader's limit of problems.
void parse_processor(config::Reader& reader, const config::Reader::Entry& entry, ProcessorConfig& processor,
                     StepLocations& locations);

}  // namespace sluice::process
