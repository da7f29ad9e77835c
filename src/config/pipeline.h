// The pipeline file: the one document a user writes. Each component's config struct is the contract
// of that component (extract::SourceConfig, ...); this header gathers them and defines the loader,
// which checks the whole file and reports every problem with file:line:column before anything runs.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/crawler.h"
#include "common/error.h"
#include "delivery/delivery.h"
#include "extract/source_config.h"
#include "process/processor.h"
#include "query/engine.h"
#include "schedule/schedule.h"
#include "stream/stream.h"

namespace sluice::config {

struct ServerConfig {
  std::string host = "127.0.0.1";  // loopback by default; another address needs token_env
  int port = 9870;
  // When set, the name of an environment variable holding a bearer token that every request but
  // GET /v1/health must present (Authorization: Bearer TOKEN). Required to listen beyond loopback.
  std::string token_env;
  // Connection limits (see the README's limit table); the HTTP server's own defaults otherwise.
  int max_connections = 512;
  int max_connections_per_client = 64;  // 0: no per-client cap
  int handler_threads = 16;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
};

using CatchUp = schedule::CatchUp;

// An EventBridge-style scheduled rule: when it fires, every target (a source name) runs.
struct ScheduleConfig {
  std::string name;
  std::string expression;        // "cron(00 10 * * ? *)" or "rate(5 minutes)"
  std::string timezone = "UTC";  // IANA zone in which cron fields and key templates are evaluated
  CatchUp catch_up = CatchUp::kLatest;
  std::vector<std::string> targets;  // sources and crawlers, run in this order
};

// One problem in the file, rendered as "FILE:LINE:COLUMN: PATH: MESSAGE" (1-based line and column).
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;  // e.g. "sources.users.timeout.total"
  std::string message;
  std::string to_string() const;
};

struct Pipeline {
  std::filesystem::path file;      // where it was loaded from
  std::filesystem::path data_dir;  // absolute; `data_dir:` is relative to the pipeline file
  ServerConfig server;
  std::vector<std::string> buckets;
  std::vector<ScheduleConfig> schedules;
  std::vector<extract::SourceConfig> sources;
  std::vector<process::ProcessorConfig> processors;
  std::vector<catalog::CrawlerConfig> crawlers;
  std::vector<stream::StreamConfig> streams;
  std::vector<delivery::DeliveryConfig> deliveries;
  query::QueryConfig
      query;  // default database: the first crawler's; results: s3://FIRST-BUCKET/athena/results/
  std::map<std::string, std::string> source_timezones;  // a source's own `timezone:`, when it sets one
  // Where each processor step is written, for problems found after loading (check_processors):
  // key "PROCESSOR/INDEX".
  std::map<std::string, Diagnostic> step_locations;

  const ScheduleConfig* find_schedule(std::string_view name) const;
  const extract::SourceConfig* find_source(std::string_view name) const;
  const process::ProcessorConfig* find_processor(std::string_view name) const;
  const catalog::CrawlerConfig* find_crawler(std::string_view name) const;
  const stream::StreamConfig* find_stream(std::string_view name) const;
  // The zone in which a source's key template is evaluated: that of the first schedule targeting it,
  // or UTC when none does.
  std::string timezone_for_source(std::string_view source) const;
};

// Thrown by load/parse with every diagnostic found (not just the first); what() is all of them,
// one per line.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

Pipeline load_pipeline(const std::filesystem::path& file);

// The SQL of every processor's steps, checked before any data arrives (sluice validate and the
// daemon's start): always parsed; bound against the input's columns when they are known — declared
// (input.schema), or inferred by `sample` from an existing input object (it returns the object's
// key and bytes, or nullopt). Returns the problems at the steps' file:line:column; empty when fine.
using InputSample =
    std::function<std::optional<std::pair<std::string, std::string>>(const process::ProcessorConfig&)>;
std::vector<Diagnostic> check_processors(const Pipeline& pipeline, const InputSample& sample);
// `file` is used for messages and to resolve a relative data_dir.
Pipeline parse_pipeline(std::string_view yaml_text, const std::filesystem::path& file);

}  // namespace sluice::config
