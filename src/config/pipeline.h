// The pipeline file: the one document a user writes. Each component owns its config struct, its
// limits, its key table and its section parser (extract/source_config_parser.h, ...); this header
// gathers them into Pipeline and defines the loader, which reads the YAML (config/node.h,
// config/reader.h), runs the section parsers in order, checks what crosses sections (targets exist,
// buckets and streams are declared, names are distinct) and reports every problem with
// file:line:column before anything runs. The JSON Schema of the file is config/schema.h.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/crawler.h"
#include "common/error.h"
#include "config/diagnostic.h"
#include "config/keys.h"
#include "config/server_config.h"
#include "dashboard/dashboard_config.h"
#include "delivery/delivery.h"
#include "extract/source_config.h"
#include "process/processor.h"
#include "query/engine.h"
#include "schedule/schedule.h"
#include "schedule/schedule_config.h"
#include "storage/storage_config_parser.h"
#include "stream/stream.h"

namespace sluice::config {

using CatchUp = schedule::CatchUp;
// An EventBridge-style scheduled rule: when it fires, every target (a source or crawler) runs.
using ScheduleConfig = schedule::ScheduleConfig;

struct Pipeline {
  std::filesystem::path file;      // where it was loaded from
  std::filesystem::path data_dir;  // absolute; `data_dir:` is relative to the pipeline file
  ServerConfig server;
  std::vector<std::string> buckets;
  storage::StorageConfig storage;  // where the buckets live: the data directory or S3
  std::vector<ScheduleConfig> schedules;
  std::vector<extract::SourceConfig> sources;
  std::vector<process::ProcessorConfig> processors;
  std::vector<catalog::CrawlerConfig> crawlers;
  std::vector<stream::StreamConfig> streams;
  std::vector<delivery::DeliveryConfig> deliveries;
  std::vector<dashboard::DashboardConfig> dashboards;  // QuickSight's dashboards, as code
  query::QueryConfig
      query;  // default database: the first crawler's; results: s3://FIRST-BUCKET/athena/results/
  std::map<std::string, std::string> source_timezones;  // a source's own `timezone:`, when it sets one
  // Where each processor step is written, for problems found after loading (check_processors):
  // key "PROCESSOR/INDEX".
  std::map<std::string, Diagnostic> step_locations;
  // The dotted paths of every key the file wrote ("server.port", "sources.users",
  // "sources.users.retry.max_attempts"): what is not here is a default (an exporter writes only these).
  std::set<std::string> written_paths;

  const ScheduleConfig* find_schedule(std::string_view name) const;
  const extract::SourceConfig* find_source(std::string_view name) const;
  const process::ProcessorConfig* find_processor(std::string_view name) const;
  const catalog::CrawlerConfig* find_crawler(std::string_view name) const;
  const stream::StreamConfig* find_stream(std::string_view name) const;
  // The zone in which a source's key template is evaluated: its own `timezone:`, else that of the
  // first schedule targeting it, or UTC when none does.
  std::string timezone_for_source(std::string_view source) const;
  // True when the file wrote the key at `dotted_path` (see written_paths). Never throws.
  bool written(std::string_view dotted_path) const;
};

// The keys of the whole file: the root of the key table that the parsers and the JSON Schema
// (config/schema.h) read.
const Section& pipeline_section();

// Reads and checks `file`. Throws ConfigError with every problem found (one line each; a file that
// cannot be read, or is over 1 MiB, is one problem).
Pipeline load_pipeline(const std::filesystem::path& file);

// Checks `yaml_text` as the file `file`; `file` is used for messages and to resolve a relative
// data_dir. Throws ConfigError with every problem found.
Pipeline parse_pipeline(std::string_view yaml_text, const std::filesystem::path& file);

// The SQL of every processor's steps, checked before any data arrives (sluice validate and the
// daemon's start): always parsed; bound against the input's columns when they are known — declared
// (input.schema), or inferred by `sample` from an existing input object (it returns the object's
// key and bytes, or nullopt). Returns the problems at the steps' file:line:column; empty when fine.
// Throws SystemError when DuckDB cannot run.
using InputSample =
    std::function<std::optional<std::pair<std::string, std::string>>(const process::ProcessorConfig&)>;
std::vector<Diagnostic> check_processors(const Pipeline& pipeline, const InputSample& sample);

}  // namespace sluice::config
