// The `crawlers:` section of the pipeline file: its key table (for the parser and the JSON Schema)
// and its parser. Target buckets are checked against buckets: where they are read.
#pragma once

#include <string_view>

#include "catalog/crawler.h"
#include "config/keys.h"
#include "config/reader.h"

namespace sluice::catalog {

// Glue's rule for database names: 1..255 of lower-case letters, digits and '_'.
inline constexpr size_t kMaxDatabaseNameBytes = 255;
inline constexpr std::string_view kDatabaseNamePattern = "^[a-z0-9_]{1,255}$";
bool valid_database_name(std::string_view name);
// The message for a database name that breaks that rule.
std::string database_name_problem(std::string_view name);

// The keys of one crawler (crawlers.NAME).
const config::Section& crawler_section();

// Fills `crawler` from one entry of crawlers:, recording every problem in `reader`. Throws only
// ConfigError past the reader's limit of problems.
void parse_crawler(config::Reader& reader, const config::Reader::Entry& entry, CrawlerConfig& crawler);

}  // namespace sluice::catalog
