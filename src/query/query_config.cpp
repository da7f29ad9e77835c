#include "catalog/crawler_config_parser.h"
#include "config/destination.h"
#include "query/query_config_parser.h"

namespace sluice::query {

using config::Kind;
using config::Node;
using config::Reader;
using config::Section;

const Section& query_section() {
  static const Section section{{
      {.name = "database",
       .description = "for unqualified table names; default: the first crawler's",
       .pattern = catalog::kDatabaseNamePattern},
      {.name = "output_location",
       .description = "s3://BUCKET/PREFIX/ where results are saved as CSV",
       .default_value = "s3://FIRST-BUCKET/athena/results/",
       .pattern = "^s3://[^/]+"},
      {.name = "threads",
       .kind = Kind::kInteger,
       .description = "DuckDB threads (0: one per core)",
       .default_value = "0",
       .min = 0,
       .max = kMaxThreads},
      {.name = "memory_limit", .description = "DuckDB's memory limit, e.g. 2GB; default: DuckDB's"},
      {.name = "timeout",
       .kind = Kind::kDuration,
       .description = "a query running longer is interrupted",
       .default_value = "5m",
       .max = kMaxTimeout.count()},
      {.name = "max_inline_rows",
       .kind = Kind::kInteger,
       .description = "rows answered inline",
       .default_value = "1000",
       .min = 0,
       .max = kMaxInlineRowsLimit},
      {.name = "max_sql_bytes",
       .kind = Kind::kSize,
       .description = "longer SQL is refused before it is parsed",
       .default_value = "1MiB",
       .min = kMinSqlBytesLimit,
       .max = kMaxSqlBytesLimit},
  }};
  return section;
}

void parse_query(Reader& r, const Node& node, QueryConfig& query) {
  const Section& keys = query_section();
  if (!r.expect_map(node, "query")) return;
  r.check_keys(node, "query", keys);
  if (auto db = r.string(node, keys["database"], "query")) {
    if (!catalog::valid_database_name(*db))
      r.error(node["database"], "query.database", catalog::database_name_problem(*db));
    query.database = *db;
  }
  if (auto out = r.string(node, keys["output_location"], "query")) {
    std::string why;
    if (const auto folder = config::parse_s3_folder_slash(*out, &why)) {
      r.check_bucket_declared(node["output_location"], "query.output_location", folder->bucket);
      query.output_bucket = folder->bucket;
      query.output_prefix = folder->key;
    } else {
      r.error(node["output_location"], "query.output_location", why);
    }
  }
  if (auto t = r.integer(node, keys["threads"], "query")) query.threads = static_cast<int>(*t);
  if (auto m = r.string(node, keys["memory_limit"], "query")) query.memory_limit = *m;
  if (auto t = r.duration(node, keys["timeout"], "query")) query.timeout = *t;
  if (auto n = r.integer(node, keys["max_inline_rows"], "query"))
    query.max_inline_rows = static_cast<size_t>(*n);
  if (auto n = r.size(node, keys["max_sql_bytes"], "query")) query.max_sql_bytes = static_cast<size_t>(*n);
}

}  // namespace sluice::query
