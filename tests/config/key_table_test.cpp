// The key tables are the one description of the pipeline file: their defaults must be what the
// config structs really default to, and their limits must admit their defaults.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "common/time.h"
#include "config/pipeline.h"
#include "config/reader.h"

namespace sluice::config {
namespace {

void check_spec(const KeySpec& key, const std::string& path);

void check_section(const Section& section, const std::string& path) {
  std::set<std::string_view> names;
  for (const auto& key : section.keys) {
    const std::string p = path + "." + std::string(key.name);
    EXPECT_TRUE(names.insert(key.name).second) << p << " is declared twice";
    EXPECT_FALSE(key.description.empty()) << p << " has no description";
    check_spec(key, p);
  }
}

// A default that its own limits would refuse would make the schema contradict itself.
void check_default(const KeySpec& key, const std::string& path) {
  const std::string text(key.default_value);
  switch (key.kind) {
    case Kind::kInteger:
      EXPECT_GE(std::stoll(text), key.min) << path;
      EXPECT_LE(std::stoll(text), key.max) << path;
      break;
    case Kind::kSize:
      ASSERT_TRUE(parse_size(text)) << path;
      EXPECT_GE(*parse_size(text), static_cast<uint64_t>(key.min)) << path;
      EXPECT_LE(*parse_size(text), static_cast<uint64_t>(key.max)) << path;
      break;
    case Kind::kDuration:
      ASSERT_TRUE(parse_duration(text)) << path;
      EXPECT_LE(parse_duration(text)->count(), key.max) << path;
      EXPECT_GE(parse_duration(text)->count(), key.min) << path;
      break;
    case Kind::kEnum:
      EXPECT_THAT(key.values, ::testing::Contains(key.default_value)) << path;
      break;
    case Kind::kBoolean:
      EXPECT_TRUE(text == "true" || text == "false") << path;
      break;
    default:
      break;
  }
}

void check_spec(const KeySpec& key, const std::string& path) {
  if (!key.pattern.empty()) {
    EXPECT_NO_THROW(std::regex{std::string(key.pattern)}) << path;
  }
  if (!key.default_value.empty()) check_default(key, path);
  if (key.kind == Kind::kInteger || key.kind == Kind::kSize || key.kind == Kind::kDuration) {
    EXPECT_LE(key.min, key.max) << path;
  }
  if (key.kind == Kind::kEnum) {
    EXPECT_FALSE(key.values.empty()) << path;
  }
  if (key.kind == Kind::kMapping || key.kind == Kind::kEntries) {
    ASSERT_NE(key.section, nullptr) << path;
    check_section(*key.section, key.kind == Kind::kEntries ? path + ".NAME" : path);
  }
  if (key.kind == Kind::kList) {
    ASSERT_EQ(key.items.size(), 1u) << path;
  }
  if (key.kind == Kind::kAnyOf) {
    ASSERT_GE(key.items.size(), 2u) << path;
  }
  for (const auto& item : key.items) check_spec(item, path + "[]");
}

TEST(ConfigKeyTable, EveryKeyIsDescribedAndItsDefaultIsWithinItsLimits) {
  check_section(pipeline_section(), "");
}

// Every key with a default written out, as a flow mapping; keys whose default depends on the file
// (errors/NAME/, s3://FIRST-BUCKET/...) are left out.
std::string defaults_of(const Section& section, const std::string& extra = "") {
  std::vector<std::string> parts;
  if (!extra.empty()) parts.push_back(extra);
  for (const auto& key : section.keys) {
    std::string value;
    if (key.kind == Kind::kMapping && key.section) {
      value = defaults_of(*key.section, key.name == "pagination" ? "type: page" : "");
      if (value == "{}") continue;
    } else if (key.default_value.empty() ||
               key.default_value.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos) {
      continue;
    } else {
      value = key.kind == Kind::kInteger || key.kind == Kind::kBoolean
                  ? std::string(key.default_value)
                  : nlohmann::json(std::string(key.default_value)).dump();
    }
    parts.push_back(std::string(key.name) + ": " + value);
  }
  std::string out = "{";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out + "}";
}

TEST(ConfigKeyTable, TheDefaultsItStatesAreTheConfigStructsDefaults) {
  const Section& root = pipeline_section();
  const std::string yaml =
      "buckets: [raw]\nserver: " + defaults_of(*root["server"].section) +
      "\nsources: {s: " + defaults_of(*root["sources"].section, "url: http://x/, to: s3://raw/k") +
      "}\nstreams: {st: " + defaults_of(*root["streams"].section) +
      "}\ndeliveries: {d: " + defaults_of(*root["deliveries"].section, "stream: st, to: s3://raw/p/") +
      "}\ncrawlers: {c: " + defaults_of(*root["crawlers"].section, "database: db, targets: [s3://raw/]") +
      "}\nquery: " + defaults_of(*root["query"].section) + "\n";
  SCOPED_TRACE(yaml);
  const Pipeline p = parse_pipeline(yaml, "p.yaml");
  EXPECT_TRUE(p.written("sources.s.retry.max_attempts"));  // the defaults were written out
  const ServerConfig server;
  EXPECT_EQ(p.server.host, server.host);
  EXPECT_EQ(p.server.port, server.port);
  EXPECT_EQ(p.server.max_connections, server.max_connections);
  EXPECT_EQ(p.server.max_connections_per_client, server.max_connections_per_client);
  EXPECT_EQ(p.server.handler_threads, server.handler_threads);
  EXPECT_EQ(p.server.header_timeout, server.header_timeout);
  EXPECT_EQ(p.server.body_timeout, server.body_timeout);
  EXPECT_EQ(p.server.idle_timeout, server.idle_timeout);
  EXPECT_EQ(p.server.write_timeout, server.write_timeout);
  const extract::SourceConfig source;
  const auto& s = p.sources.at(0);
  EXPECT_EQ(s.connect_timeout, source.connect_timeout);
  EXPECT_EQ(s.total_timeout, source.total_timeout);
  EXPECT_EQ(s.retry.max_attempts, source.retry.max_attempts);
  EXPECT_EQ(s.retry.base_delay, source.retry.base_delay);
  EXPECT_EQ(s.retry.max_delay, source.retry.max_delay);
  EXPECT_EQ(s.retry.max_retry_after, source.retry.max_retry_after);
  EXPECT_EQ(s.pagination.page_param, source.pagination.page_param);
  EXPECT_EQ(s.pagination.limit_param, source.pagination.limit_param);
  EXPECT_EQ(s.pagination.first_page, source.pagination.first_page);
  EXPECT_EQ(s.pagination.limit, source.pagination.limit);
  EXPECT_EQ(s.pagination.max_pages, source.pagination.max_pages);
  EXPECT_EQ(s.max_response_bytes, source.max_response_bytes);
  EXPECT_EQ(s.max_total_bytes, source.max_total_bytes);
  const stream::StreamConfig stream;
  const auto& st = p.streams.at(0);
  EXPECT_EQ(st.shards, stream.shards);
  EXPECT_EQ(st.fsync, stream.fsync);
  EXPECT_EQ(st.fsync_interval, stream.fsync_interval);
  EXPECT_EQ(st.retention, stream.retention);
  EXPECT_EQ(st.segment_bytes, stream.segment_bytes);
  EXPECT_EQ(st.max_pending_bytes, stream.max_pending_bytes);
  EXPECT_EQ(st.min_free_bytes, stream.min_free_bytes);
  const delivery::DeliveryConfig delivery;
  const auto& d = p.deliveries.at(0);
  EXPECT_EQ(d.error_prefix, delivery.error_prefix);
  EXPECT_EQ(d.buffer_bytes, delivery.buffer_bytes);
  EXPECT_EQ(d.buffer_interval, delivery.buffer_interval);
  EXPECT_EQ(d.compression, delivery.compression);
  EXPECT_EQ(d.delimiter, delivery.delimiter);
  EXPECT_EQ(p.crawlers.at(0).on_change, catalog::CrawlerConfig{}.on_change);
  const query::QueryConfig query;
  EXPECT_EQ(p.query.threads, query.threads);
  EXPECT_EQ(p.query.timeout, query.timeout);
  EXPECT_EQ(p.query.max_inline_rows, query.max_inline_rows);
  EXPECT_EQ(p.query.max_sql_bytes, query.max_sql_bytes);
}

}  // namespace
}  // namespace sluice::config
