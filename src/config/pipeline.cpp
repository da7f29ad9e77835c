#include "config/pipeline.h"

#include <algorithm>

#include "catalog/crawler_config_parser.h"
#include "common/fs.h"
#include "config/node.h"
#include "config/reader.h"
#include "config/validators.h"
#include "dashboard/dashboard_config_parser.h"
#include "delivery/delivery_config_parser.h"
#include "extract/source_config_parser.h"
#include "process/processor_config_parser.h"
#include "query/query_config_parser.h"
#include "storage/storage_config_parser.h"
#include "stream/stream_config_parser.h"

namespace sluice::config {
namespace {

// A pipeline file is a page or two of YAML; a cap keeps a mistaken or hostile file (50 MB took 8 s
// and 1.3 GB to parse) from taking the machine.
constexpr size_t kMaxPipelineBytes = 1 << 20;

std::string too_large_message(uintmax_t size) {
  return "the pipeline file is " + std::to_string(size) + " bytes; the limit is 1 MiB (" +
         std::to_string(kMaxPipelineBytes) + " bytes)";
}

const Section& bucket_entry_section() {
  static const Section section{{
      {.name = "name", .description = "the bucket's name", .required = true},
  }};
  return section;
}

constexpr std::string_view kBucketPattern = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$";

// buckets: a list of names (or of mappings with `name`, to leave room for per-bucket settings).
void parse_buckets(Reader& r, const Node& root, Pipeline& pipeline) {
  const Node buckets = root["buckets"];
  if (!buckets) return;
  if (!buckets.is_sequence()) {
    r.error(buckets, "buckets", "expected a list of bucket names, got " + buckets.type_name());
    return;
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    const std::string p = "buckets[" + std::to_string(i) + "]";
    const Node b = buckets.at(i);
    std::string name;
    if (b.is_scalar()) {
      name = b.scalar();
    } else if (b.is_map()) {
      r.check_keys(b, p, bucket_entry_section());
      auto n = r.string(b, bucket_entry_section()["name"], p);
      if (!n) continue;
      name = *n;
    } else {
      r.error(b, p, "expected a bucket name, got " + b.type_name());
      continue;
    }
    if (std::string why = validate_bucket(name); !why.empty()) {
      r.error(b, p, why);
    } else if (!r.declared().buckets.insert(name).second) {
      r.error(b, p, "bucket \"" + name + "\" is declared twice");
    } else {
      pipeline.buckets.push_back(name);
    }
  }
}

void parse_server_and_data_dir(Reader& r, const Node& root, const std::filesystem::path& file,
                               Pipeline& pipeline) {
  const Section& keys = pipeline_section();
  r.integer(root, keys["version"], "");  // optional; 1 is the only one
  const auto base = file.has_parent_path() ? std::filesystem::absolute(file).parent_path()
                                           : std::filesystem::current_path();
  pipeline.data_dir = base / "data";
  if (auto dir = r.string(root, keys["data_dir"], "")) {
    pipeline.data_dir = std::filesystem::path(*dir).is_absolute() ? std::filesystem::path(*dir) : base / *dir;
  }
  pipeline.data_dir = pipeline.data_dir.lexically_normal();
  if (const Node server = root["server"]) parse_server(r, server, pipeline.server);
}

// Sources are parsed before schedules so that targets can be checked; a source writing to an S3
// bucket names a declared one.
void parse_sources(Reader& r, const Node& root, Pipeline& pipeline) {
  for (const auto& entry : r.entries(root, pipeline_section()["sources"])) {
    extract::SourceConfig src;
    extract::parse_source(r, entry, src);
    // Even a `to` that is wrong otherwise ("s3://b/{month}") says which bucket it meant.
    std::string ignored;
    const auto folder = src.to.empty() ? std::nullopt : parse_s3_folder(src.to, &ignored);
    if (folder && !folder->bucket.empty() && !r.declared().buckets.count(folder->bucket)) {
      r.error(entry.value["to"], entry.path + ".to",
              "writes to bucket \"" + folder->bucket +
                  "\", which is not declared under buckets:" + r.declared_buckets_list());
    }
    pipeline.sources.push_back(std::move(src));
  }
}

void parse_streams_and_deliveries(Reader& r, const Node& root, Pipeline& pipeline) {
  for (const auto& entry : r.entries(root, pipeline_section()["streams"])) {
    stream::StreamConfig config;
    stream::parse_stream(r, entry, config);
    r.declared().streams.insert(config.name);
    pipeline.streams.push_back(std::move(config));
  }
  for (const auto& entry : r.entries(root, pipeline_section()["deliveries"])) {
    delivery::DeliveryConfig config;
    delivery::parse_delivery(r, entry, config);
    pipeline.deliveries.push_back(std::move(config));
  }
}

void parse_crawlers_and_query(Reader& r, const Node& root, Pipeline& pipeline) {
  for (const auto& entry : r.entries(root, pipeline_section()["crawlers"])) {
    if (pipeline.find_source(entry.name)) {
      r.error(entry.key, entry.path,
              "a source is also named \"" + entry.name +
                  "\"; sources, crawlers and schedules need distinct names");
    }
    catalog::CrawlerConfig crawler;
    catalog::parse_crawler(r, entry, crawler);
    pipeline.crawlers.push_back(std::move(crawler));
  }
  if (!pipeline.crawlers.empty()) pipeline.query.database = pipeline.crawlers.front().database;
  if (!pipeline.buckets.empty()) {
    pipeline.query.output_bucket = pipeline.buckets.front();
    pipeline.query.output_prefix = "athena/results/";
  }
  if (const Node query = root["query"]) query::parse_query(r, query, pipeline.query);
}

void parse_schedules(Reader& r, const Node& root, Pipeline& pipeline) {
  for (const auto& entry : r.entries(root, pipeline_section()["schedules"])) {
    if (pipeline.find_source(entry.name) || pipeline.find_crawler(entry.name)) {
      // `sluice trigger NAME` takes any of them, so one name must not mean two things.
      r.error(entry.key, entry.path,
              std::string("a ") + (pipeline.find_source(entry.name) ? "source" : "crawler") +
                  " is also named \"" + entry.name +
                  "\"; schedules, sources and crawlers need distinct names");
    }
    if (!r.expect_map(entry.value, entry.path)) continue;
    ScheduleConfig sched;
    schedule::parse_schedule(r, entry, sched);
    const Node targets = entry.value["targets"];
    for (size_t i = 0; i < sched.targets.size(); ++i) {
      if (pipeline.find_source(sched.targets[i]) || pipeline.find_crawler(sched.targets[i])) continue;
      r.error(
          targets.is_sequence() ? targets.at(i) : targets, entry.path + ".targets[" + std::to_string(i) + "]",
          "no source or crawler named \"" + sched.targets[i] + "\" is declared under sources: or crawlers:");
    }
    pipeline.schedules.push_back(std::move(sched));
  }
}

void parse_processors(Reader& r, const Node& root, Pipeline& pipeline) {
  for (const auto& entry : r.entries(root, pipeline_section()["processors"])) {
    process::ProcessorConfig proc;
    process::parse_processor(r, entry, proc, pipeline.step_locations);
    pipeline.processors.push_back(std::move(proc));
  }
}

// What sources say that needs every section read: the stream they write to is declared; their own
// `timezone:` overrides the one they would inherit from their schedule.
void check_sources(Reader& r, const Node& root, Pipeline& pipeline) {
  const Node sources = root["sources"];
  for (const auto& src : pipeline.sources) {
    const StreamName* stream = src.destination ? stream_name(*src.destination) : nullptr;
    if (!stream || pipeline.find_stream(stream->name)) continue;
    r.error(sources[src.name]["to"], "sources." + src.name + ".to",
            "no stream named \"" + stream->name + "\" is declared under streams:");
  }
  for (const auto& src : pipeline.sources) {
    const Node node = sources[src.name];
    if (!node.is_map() || !node["timezone"]) continue;
    const auto tz = r.string(node, extract::source_section()["timezone"], "sources." + src.name);
    if (!tz) continue;
    if (std::string why = validate_timezone(*tz); !why.empty())
      r.error(node["timezone"], "sources." + src.name + ".timezone", why);
    else
      pipeline.source_timezones[src.name] = *tz;
  }
}

Node parse_document(Reader& r, std::string_view yaml_text) {
  if (yaml_text.size() > kMaxPipelineBytes) {
    r.error_at(1, 1, "", too_large_message(yaml_text.size()));
    r.fail();
  }
  Node root;
  try {
    root = Node::parse(std::string(yaml_text));
  } catch (const YamlSyntaxError& e) {
    r.error_at(e.mark.line, e.mark.column, "", "YAML syntax error: " + e.message);
    r.fail();
  }
  if (!root.is_map()) {
    r.error_at(1, 1, "",
               "expected a mapping with keys version, data_dir, server, buckets, schedules, sources");
    r.fail();
  }
  return root;
}

}  // namespace

const Section& pipeline_section() {
  static const Section section{{
      {.name = "version",
       .kind = Kind::kInteger,
       .description = "1 is the only version",
       .default_value = "1",
       .min = 1,
       .max = 1},
      {.name = "data_dir", .description = "relative to the pipeline file", .default_value = "./data"},
      {.name = "server",
       .kind = Kind::kMapping,
       .description = "the daemon's HTTP API",
       .section = &server_section()},
      {.name = "buckets",
       .kind = Kind::kList,
       .description = "S3 bucket names (3-63 characters: a-z 0-9 . -)",
       .items = {{.kind = Kind::kAnyOf,
                  .items = {{.kind = Kind::kString, .pattern = kBucketPattern},
                            {.kind = Kind::kMapping, .section = &bucket_entry_section()}}}}},
      {.name = "storage",
       .kind = Kind::kMapping,
       .description = "where the buckets' objects are kept: the data directory or an S3 endpoint",
       .section = &storage::storage_section()},
      {.name = "schedules",
       .kind = Kind::kEntries,
       .description = "EventBridge-style scheduled rules",
       .hint = "schedule",
       .section = &schedule::schedule_section()},
      {.name = "sources",
       .kind = Kind::kEntries,
       .description = "HTTP sources (the extraction Lambda)",
       .hint = "source",
       .section = &extract::source_section()},
      {.name = "processors",
       .kind = Kind::kEntries,
       .description = "the processing Lambda, on ObjectCreated",
       .hint = "processor",
       .section = &process::processor_section()},
      {.name = "crawlers",
       .kind = Kind::kEntries,
       .description = "the Glue crawler",
       .hint = "crawler",
       .section = &catalog::crawler_section()},
      {.name = "query",
       .kind = Kind::kMapping,
       .description = "Athena-style queries",
       .section = &query::query_section()},
      {.name = "streams",
       .kind = Kind::kEntries,
       .description = "Kinesis Data Streams",
       .hint = "stream",
       .nullable = true,
       .section = &stream::stream_section()},
      {.name = "deliveries",
       .kind = Kind::kEntries,
       .description = "Kinesis Data Firehose",
       .hint = "delivery",
       .section = &delivery::delivery_section()},
      {.name = "dashboards",
       .kind = Kind::kEntries,
       .description = "QuickSight-style dashboards served by the console at /ui/",
       .hint = "dashboard",
       .section = &dashboard::dashboard_section()},
  }};
  return section;
}

Pipeline parse_pipeline(std::string_view yaml_text, const std::filesystem::path& file) {
  Reader r(file.string(), yaml_text);
  Pipeline pipeline;
  pipeline.file = file;
  const Node root = parse_document(r, yaml_text);
  r.check_keys(root, "", pipeline_section());
  parse_server_and_data_dir(r, root, file, pipeline);
  parse_buckets(r, root, pipeline);
  if (const Node storage = root["storage"]) storage::parse_storage(r, storage, pipeline.storage);
  parse_sources(r, root, pipeline);
  parse_streams_and_deliveries(r, root, pipeline);
  parse_crawlers_and_query(r, root, pipeline);
  parse_schedules(r, root, pipeline);
  parse_processors(r, root, pipeline);
  check_sources(r, root, pipeline);
  for (const auto& entry : r.entries(root, pipeline_section()["dashboards"])) {
    dashboard::DashboardConfig config;
    dashboard::parse_dashboard(r, entry, config);
    pipeline.dashboards.push_back(std::move(config));
  }
  if (r.has_errors()) r.fail();
  pipeline.written_paths = r.written();
  return pipeline;
}

Pipeline load_pipeline(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (!ec && size > kMaxPipelineBytes)
    throw ConfigError({Diagnostic{file.string(), 1, 1, "", too_large_message(size)}});
  std::string text;
  try {
    text = fs::read_file(file);
  } catch (const Error& e) {
    throw ConfigError({Diagnostic{file.string(), 0, 0, "", e.what()}});
  }
  return parse_pipeline(text, file);
}

namespace {

template <typename T>
const T* find_named(const std::vector<T>& items, std::string_view name) {
  for (const auto& item : items)
    if (item.name == name) return &item;
  return nullptr;
}

}  // namespace

const ScheduleConfig* Pipeline::find_schedule(std::string_view name) const {
  return find_named(schedules, name);
}
const process::ProcessorConfig* Pipeline::find_processor(std::string_view name) const {
  return find_named(processors, name);
}
const catalog::CrawlerConfig* Pipeline::find_crawler(std::string_view name) const {
  return find_named(crawlers, name);
}
const stream::StreamConfig* Pipeline::find_stream(std::string_view name) const {
  return find_named(streams, name);
}
const extract::SourceConfig* Pipeline::find_source(std::string_view name) const {
  return find_named(sources, name);
}

std::string Pipeline::timezone_for_source(std::string_view source) const {
  if (auto it = source_timezones.find(std::string(source)); it != source_timezones.end()) return it->second;
  for (const auto& s : schedules)
    if (std::find(s.targets.begin(), s.targets.end(), source) != s.targets.end()) return s.timezone;
  return "UTC";
}

bool Pipeline::written(std::string_view dotted_path) const {
  return written_paths.count(std::string(dotted_path)) > 0;
}

std::vector<Diagnostic> check_processors(const Pipeline& pipeline, const InputSample& sample) {
  std::vector<Diagnostic> out;
  for (const auto& proc : pipeline.processors) {
    std::vector<process::StepProblem> problems = process::parse_only_problems(proc);
    std::string shape_source;
    if (problems.empty()) {
      std::vector<sql::Column> shape;
      if (!proc.input_schema.empty()) {
        for (const auto& [name, type] : proc.input_schema)
          shape.push_back(sql::Column{.name = name, .type = type});
        shape_source = "the declared input.schema";
      } else if (auto found = sample ? sample(proc) : std::nullopt) {
        try {
          shape = process::infer_input_shape(proc, found->second, found->first, 10'000);
          shape_source = "the columns of s3://" + proc.bucket + "/" + found->first;
        } catch (const Error&) {
          // An unreadable sample says nothing about the steps: it will be quarantined on its own.
        }
      }
      if (!shape.empty()) problems = process::check_steps(proc, shape);
    }
    for (const auto& problem : problems) {
      auto it = pipeline.step_locations.find(proc.name + "/" + std::to_string(problem.step_index));
      Diagnostic d = it != pipeline.step_locations.end()
                         ? it->second
                         : Diagnostic{pipeline.file.string(), 0, 0, "processors." + proc.name + ".steps", ""};
      d.message = problem.message + (shape_source.empty() ? "" : " (bound against " + shape_source + ")");
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace sluice::config
