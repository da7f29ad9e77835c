// The Glue Data Catalog wire API (JSON 1.1, X-Amz-Target "AWSGlue.*") over catalog::Catalog and the
// crawlers of the pipeline file.
//
// Operations: GetDatabases, GetDatabase, CreateDatabase, GetTables (Expression: Hive's table-name
// pattern: alternatives separated by '|', '*' for any characters, '.' for any one), GetTable
// (StorageDescriptor with Glue/Hive column types, Location, and the InputFormat/OutputFormat/SerdeInfo a Glue
// crawler reports for JSON, Parquet and CSV; PartitionKeys; Parameters.classification), GetPartitions
// (Expression: a conjunction of comparisons on partition keys), GetCrawler, GetCrawlers, StartCrawler (a real
// crawl, in the background), GetCrawlerMetrics. Errors: EntityNotFoundException, InvalidInputException,
// AlreadyExistsException, CrawlerRunningException. Page tokens are opaque to clients: for databases and
// tables the last name returned, for partitions and crawlers an offset.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/crawler.h"
#include "common/time.h"
#include "server/router.h"

namespace sluice::aws {

inline constexpr std::string_view kGlueTargetPrefix = "AWSGlue";

// One crawl of a crawler, as its run history has it.
struct CrawlRecord {
  std::string status;  // running | succeeded | failed | interrupted
  std::string error;   // why it failed (or the warnings of one that succeeded)
  TimePoint started{};
  std::optional<TimePoint> ended;
};

// A crawler of the pipeline file, and the schedule that fires it (empty: none).
struct GlueCrawler {
  catalog::CrawlerConfig config;
  std::string schedule_expression;  // "cron(00 10 * * ? *)"
};

// What the Glue API works on. Every member is required.
struct GlueBackend {
  catalog::Catalog* catalog = nullptr;
  std::vector<GlueCrawler> crawlers;
  // Starts a full crawl of the crawler `name` in the background and returns true; false (nothing
  // started) when a crawl of it started this way is running.
  std::function<bool(const std::string& name)> start_crawl;
  // Whether a crawl of `name` started by start_crawl runs now, and since when.
  std::function<std::optional<TimePoint>(const std::string& name)> crawl_started;
  // The crawls of `name` (any trigger), newest first, at most `limit`.
  std::function<std::vector<CrawlRecord>(const std::string& name, int limit)> crawls;
};

// Registers the Glue operations on `group` (an aws_json_errors() group). Throws
// std::invalid_argument when a member of `backend` is missing.
void add_glue_routes(server::RouteGroup& group, GlueBackend backend);

// Whether a partition with `values` (in the order of `keys`) satisfies Glue's GetPartitions
// `expression`: comparisons "key OP literal" (OP one of = <> != < <= > >=, the literal 'quoted' or a
// number; numbers compare numerically with numeric values), "key IN (lit, ...)", "key BETWEEN a AND
// b", joined by AND (case-insensitive). An empty expression matches everything. Throws sluice::Error
// saying what was expected when the expression is malformed or names a key that is not one of `keys`.
bool partition_matches(std::string_view expression, const std::vector<std::string>& keys,
                       const std::vector<std::string>& values);

}  // namespace sluice::aws
