#include <algorithm>

#include "catalog/crawler_config_parser.h"
#include "config/destination.h"

namespace sluice::catalog {

using config::Kind;
using config::Node;
using config::Reader;
using config::Section;

bool valid_database_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxDatabaseNameBytes &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::string database_name_problem(std::string_view name) {
  return "database names use lower-case letters, digits and '_' (as in Glue), got \"" + std::string(name) +
         "\"";
}

const Section& crawler_section() {
  static const Section section{{
      {.name = "database",
       .description = "the catalog database its tables go to",
       .required = true,
       .pattern = kDatabaseNamePattern},
      {.name = "targets",
       .kind = Kind::kNames,
       .description = "s3://BUCKET/PREFIX/ folders of declared buckets",
       .required = true,
       .hint = "s3://BUCKET/PREFIX/ folders",
       .pattern = "^s3://[^/]+"},
      {.name = "table_prefix", .description = "prepended to every table name it creates"},
      {.name = "on_change",
       .kind = Kind::kBoolean,
       .description = "also catalogue each object as it lands",
       .default_value = "true"},
  }};
  return section;
}

void parse_crawler(Reader& r, const Reader::Entry& entry, CrawlerConfig& crawler) {
  const Section& keys = crawler_section();
  const Node& node = entry.value;
  const std::string& path = entry.path;
  crawler.name = entry.name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, keys);
  if (auto db = r.string(node, keys["database"], path)) {
    if (!valid_database_name(*db)) r.error(node["database"], path + ".database", database_name_problem(*db));
    crawler.database = *db;
  }
  const auto targets = r.names(node, keys["targets"], path);
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string p = path + ".targets[" + std::to_string(i) + "]";
    const Node t = node["targets"].is_sequence() ? node["targets"].at(i) : node["targets"];
    std::string why;
    const auto folder = config::parse_s3_folder_slash(targets[i], &why);
    if (!folder) {
      r.error(t, p, why);
      continue;
    }
    r.check_bucket_declared(t, p, folder->bucket);
    crawler.targets.push_back({folder->bucket, folder->key});
  }
  if (auto prefix = r.string(node, keys["table_prefix"], path)) crawler.table_prefix = *prefix;
  if (auto on_change = r.boolean(node, keys["on_change"], path)) crawler.on_change = *on_change;
}

}  // namespace sluice::catalog
