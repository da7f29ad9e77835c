#include "cli/commands.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/metastore_catalog.h"
#include "cli/embedded_example.h"
#include "cli/terminal.h"
#include "common/display_width.h"
#include "common/error.h"
#include "common/fs.h"
#include "config/pipeline.h"
#include "config/schema.h"
#include "daemon/api.h"
#include "daemon/backends.h"
#include "daemon/daemon.h"
#include "daemon/runtime.h"
#include "daemon/scheduler.h"
#include "dashboard/check.h"
#include "export/terraform.h"
#include "extract/http_client.h"
#include "fixture/fixture_api.h"
#include "ingest/ingest.h"
#include "metastore/metastore.h"
#include "metastore/run_log.h"
#include "process/processor.h"
#include "query/engine.h"
#include "storage/object_store.h"

namespace sluice::cli {
namespace {

config::Pipeline load(const Options& opt) {
  config::Pipeline pipeline = config::load_pipeline(opt.pipeline);
  if (!opt.data_dir.empty()) pipeline.data_dir = std::filesystem::absolute(opt.data_dir).lexically_normal();
  return pipeline;
}

std::string time_or_dash(const std::optional<TimePoint>& t) { return t ? format_iso8601_utc(*t) : "-"; }

// Succeeded runs go to stdout; failed ones to stderr, one line each (in one write) with the reason.
void print_summaries(const std::vector<daemon::RunSummary>& runs) {
  for (const auto& r : runs) {
    const bool ok = r.status == metastore::RunStatus::kSucceeded;
    std::ostringstream line;
    line << "run " << r.run_id << " " << r.name << ": " << metastore::to_string(r.status);
    if (ok) line << ", " << r.records << " records, " << r.bytes << " bytes -> " << r.object;
    if (!r.error.empty()) line << ": " << r.error;
    line << '\n';
    (ok ? std::cout : std::cerr) << line.str();
  }
}

// A progress line "WHAT: running" for work whose amount is known only at its end (a trigger, a crawl,
// processing), shown on a terminal only.
Progress running(const std::string& what) {
  return Progress([what] { return what + ": running"; });
}

// A plain text table: columns as wide as their widest value (capped), NULL shown as NULL. Widths are
// terminal columns (display width), so that accents, CJK and emoji do not shift the columns after them.
constexpr size_t kMaxCellWidth = 48;

std::string table_cell(const std::optional<std::string>& v) {
  std::string text = v ? printable_utf8(*v) : "NULL";
  if (display_width(text) > kMaxCellWidth) text = truncate_to_width(text, kMaxCellWidth - 3) + "...";
  return text;
}

// Column widths for a table of `rows` under `header`.
std::vector<size_t> table_widths(const std::vector<std::string>& header,
                                 const std::vector<std::vector<std::optional<std::string>>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = std::min(kMaxCellWidth, display_width(header[i]));
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], display_width(table_cell(row[i])));
  return width;
}

// Prints `rows` (after the header when `with_header`) in columns of `width`, each line in one write.
void print_table_rows(const std::vector<std::string>& header,
                      const std::vector<std::vector<std::optional<std::string>>>& rows,
                      const std::vector<size_t>& width, bool with_header) {
  auto line = [&](const std::vector<std::string>& values) {
    std::string out;
    for (size_t i = 0; i < values.size(); ++i) {
      const bool last = i + 1 == values.size() || i + 1 >= width.size();
      out += last ? values[i] : pad_to_width(values[i], width[i] + 2);
      if (last) break;
    }
    out += '\n';
    std::cout << out;
  };
  if (with_header) {
    std::vector<std::string> names;
    for (const auto& h : header) names.push_back(truncate_to_width(printable_utf8(h), kMaxCellWidth));
    line(names);
  }
  for (const auto& row : rows) {
    std::vector<std::string> values;
    for (const auto& v : row) values.push_back(table_cell(v));
    line(values);
  }
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::optional<std::string>>>& rows) {
  print_table_rows(header, rows, table_widths(header, rows), true);
}

bool all_succeeded(const std::vector<daemon::RunSummary>& runs) {
  for (const auto& r : runs)
    if (r.status != metastore::RunStatus::kSucceeded) return false;
  return true;
}

}  // namespace

namespace {

// For checking a processor's steps: the last (by key) existing object it would take, up to 16 MiB,
// from the data directory when there is one. Nothing is written or recovered.
config::InputSample input_sample(const config::Pipeline& pipeline) {
  return [&pipeline](
             const process::ProcessorConfig& proc) -> std::optional<std::pair<std::string, std::string>> {
    const auto root = pipeline.data_dir / "objects";
    if (!std::filesystem::is_directory(root / proc.bucket)) return std::nullopt;
    auto backends = daemon::backends_for(pipeline);
    auto owned_store = backends.object_store(pipeline, nullptr, /*owner=*/false);  // recovers nothing
    storage::ObjectStore& store = *owned_store;
    storage::ListRequest request;
    request.prefix = proc.prefix;
    std::optional<storage::ObjectInfo> last;
    for (int pages = 0; pages < 10; ++pages) {
      auto page = store.list(proc.bucket, request);
      for (const auto& o : page.objects)
        if (process::matches(proc, proc.bucket, o.key) && o.size > 0 && o.size <= (16u << 20)) last = o;
      if (!page.is_truncated) break;
      request.continuation_token = page.next_continuation_token;
    }
    if (!last) return std::nullopt;
    return std::make_pair(last->key, store.get(proc.bucket, last->key));
  };
}

// Loads the pipeline and checks its processors' SQL as well; throws ConfigError with every problem.
config::Pipeline load_checked(const Options& opt) {
  config::Pipeline pipeline = load(opt);
  auto problems = config::check_processors(pipeline, input_sample(pipeline));
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return pipeline;
}

}  // namespace

int cmd_schema(const Options&) {
  std::cout << config::pipeline_json_schema_text();
  return 0;
}

// The dashboards' SQL bound against the data directory's catalog when there is one (parsed only
// otherwise). Only validate binds: a daemon starts before its tables are first crawled.
void check_dashboards(const config::Pipeline& pipeline) {
  if (pipeline.dashboards.empty()) return;
  const auto file = pipeline.data_dir / "metastore.db";
  std::unique_ptr<metastore::Metastore> db;
  std::unique_ptr<catalog::MetastoreCatalog> catalog;
  if (std::filesystem::exists(file)) {
    db = std::make_unique<metastore::Metastore>(file);
    catalog = std::make_unique<catalog::MetastoreCatalog>(*db);
  }
  auto problems = dashboard::check_dashboards(pipeline.dashboards, catalog.get(), pipeline.query.database);
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
}

int cmd_validate(const Options& opt) {
  config::Pipeline p = load_checked(opt);
  check_dashboards(p);
  std::cout << opt.pipeline << ": ok (" << p.buckets.size() << " buckets, " << p.schedules.size()
            << " schedules, " << p.sources.size() << " sources, " << p.processors.size() << " processors, "
            << p.crawlers.size() << " crawlers, " << p.streams.size() << " streams, " << p.deliveries.size()
            << " deliveries, " << p.dashboards.size() << " dashboards)\n";
  return 0;
}

int cmd_trigger(const Options& opt) {
  line_buffer_stdout();  // background work logs to stderr: between printed lines, never inside one
  daemon::Runtime runtime(load(opt));
  std::vector<daemon::RunSummary> runs;
  {
    auto progress = running("trigger " + opt.name);
    runs = runtime.trigger(opt.name);
  }
  print_summaries(runs);
  // What the runs wrote flows on to the processors, as the daemon would do.
  std::vector<daemon::RunSummary> processed;
  {
    auto progress = running("processing what " + opt.name + " wrote");
    processed = runtime.process_pending();
  }
  print_summaries(processed);
  return all_succeeded(runs) && all_succeeded(processed) ? 0 : 1;
}

int cmd_reprocess(const Options& opt) {
  line_buffer_stdout();  // background work logs to stderr: between printed lines, never inside one
  config::Pipeline pipeline = load(opt);
  if (!pipeline.find_processor(opt.name)) {
    throw Error("no processor named \"" + opt.name + "\" in " + pipeline.file.string());
  }
  daemon::Runtime runtime(std::move(pipeline));
  if (opt.list) {
    const auto failed = runtime.quarantined(opt.name);
    for (const auto& f : failed)
      std::cout << "s3://" << f.event.bucket << "/" << f.event.key << "\t" << f.reason << '\n';
    std::cerr << failed.size() << " quarantined inputs of processor " << opt.name << '\n';
    return 0;
  }
  const auto reopened = runtime.reprocess(opt.name, opt.args);
  for (const auto& input : reopened) std::cout << "reprocess " << input << '\n';
  if (!runtime.owner()) {
    // A daemon owns the data directory: its processing loop takes the reopened inputs at once.
    std::cerr << reopened.size() << " inputs handed to the running daemon; `sluice runs` shows the outcome\n";
    return 0;
  }
  std::vector<daemon::RunSummary> processed;
  {
    auto progress = running("reprocess " + opt.name);
    processed = runtime.process_pending();
  }
  print_summaries(processed);
  return all_succeeded(processed) ? 0 : 1;
}

int cmd_runs(const Options& opt) {
  config::Pipeline pipeline = load(opt);
  const auto db_path = pipeline.data_dir / "metastore.db";
  if (!std::filesystem::exists(db_path)) {
    throw Error("no run history yet: " + db_path.string() + " does not exist");
  }
  metastore::Metastore db(db_path);
  metastore::RunLog log(db);
  auto runs = log.list(opt.limit);
  if (opt.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : runs) out.push_back(daemon::run_to_json(r));
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  // Columns by display width: a source name or an error may hold any UTF-8.
  std::cout << pad_to_width("RUN", 6) << pad_to_width("STARTED", 25) << pad_to_width("ENDED", 25)
            << pad_to_width("STATUS", 12) << pad_to_width("TRIGGER", 10) << pad_to_width("SOURCE", 14)
            << pad_left_to_width("RECORDS", 9) << pad_left_to_width("BYTES", 10) << "  OBJECT / ERROR\n";
  for (const auto& r : runs) {
    std::string line =
        pad_to_width(std::to_string(r.id), 6) + pad_to_width(format_iso8601_utc(r.started), 25) +
        pad_to_width(time_or_dash(r.ended), 25) +
        pad_to_width(std::string(metastore::to_string(r.status)), 12) +
        pad_to_width(printable_utf8(r.trigger), 10) + pad_to_width(printable_utf8(r.name), 14) +
        pad_left_to_width(std::to_string(r.records), 9) + pad_left_to_width(std::to_string(r.bytes), 10) +
        "  " + printable_utf8(r.error.empty() ? r.object : r.error) + '\n';
    std::cout << line;
  }
  return 0;
}

namespace {
// Blocks SIGINT and SIGTERM in this thread and every thread it starts, so that they are taken only by
// wait_for_stop_signal() and never interrupt work in the middle.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int wait_for_stop_signal(const sigset_t& signals) {
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

// A stop signal if one arrives within `wait`, else 0.
int stop_signal_within(const sigset_t& signals, std::chrono::milliseconds wait) {
  timespec timeout{static_cast<time_t>(wait.count() / 1000),
                   static_cast<long>(wait.count() % 1000) * 1'000'000};
  const int received = sigtimedwait(&signals, nullptr, &timeout);
  return received > 0 ? received : 0;
}

// HOST:PORT of --listen into the pipeline's server: (nothing when empty).
void apply_listen(const std::string& listen, config::Pipeline& pipeline) {
  if (listen.empty()) return;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw Error("--listen expects HOST:PORT, got \"" + listen + "\"");
  pipeline.server.host = listen.substr(0, colon);
  try {
    pipeline.server.port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    throw Error("--listen expects HOST:PORT with a numeric port, got \"" + listen + "\"");
  }
}
}  // namespace

int cmd_fixture(const Options& opt) {
  const sigset_t signals = block_stop_signals();
  fixture::FixtureApi api(fixture::embedded_jsonplaceholder_db(), static_cast<uint16_t>(opt.port));
  api.start();
  std::cout << "http://127.0.0.1:" << api.port() << std::endl;
  wait_for_stop_signal(signals);
  api.stop();
  return 0;
}

int cmd_run(const Options& opt) {
  config::Pipeline pipeline = load_checked(opt);
  apply_listen(opt.listen, pipeline);

  const sigset_t signals = block_stop_signals();
  daemon::Daemon daemon(std::move(pipeline));
  spdlog::info("sluice: data directory {}, HTTP API on http://{}:{}",
               daemon.runtime().pipeline().data_dir.string(), daemon.runtime().pipeline().server.host,
               daemon.port());
  daemon.start();
  const int received = wait_for_stop_signal(signals);
  spdlog::info("sluice: {} received, stopping", received == SIGINT ? "SIGINT" : "SIGTERM");
  daemon.stop();
  spdlog::info("sluice: stopped");
  return 0;
}

namespace {

// The demo's directory: --data-dir, or a temporary one (returned in `temporary` to remove at the end).
std::filesystem::path demo_directory(const Options& opt, std::optional<std::filesystem::path>& temporary) {
  if (!opt.data_dir.empty()) {
    auto dir = std::filesystem::absolute(opt.data_dir);
    fs::create_directories_durable(dir);
    return dir;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-demo-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw Error("cannot create a temporary directory for the demo");
  temporary = tmpl;
  return tmpl;
}

// The demo's batch part: the first schedule's sources, processing, the objects, the catalog, queries.
// Returns whether every run succeeded.
bool demo_batch(daemon::Runtime& runtime, const config::Pipeline& pipeline) {
  const auto& schedule = pipeline.schedules.at(0);
  std::cout << "Triggering schedule " << schedule.name << " (" << schedule.expression << " "
            << schedule.timezone << ") -> sources";
  for (const auto& t : schedule.targets) std::cout << ' ' << t;
  std::cout << "\n";
  auto runs = runtime.trigger(schedule.name);
  print_summaries(runs);
  std::cout << "\nProcessing the ObjectCreated events of what landed:\n";
  auto processed = runtime.process_pending();
  print_summaries(processed);

  const std::string bucket = pipeline.buckets.at(0);
  std::cout << "\nObjects in s3://" << bucket << "/:\n";
  auto listing = runtime.objects().list(bucket, {});
  for (const auto& o : listing.objects) {
    std::cout << "  " << pad_to_width(printable_utf8(o.key), 72)
              << pad_left_to_width(std::to_string(o.size), 9) << " bytes  etag " << o.etag << '\n';
  }
  auto show = [&](const std::string& prefix, int max_lines) {
    for (const auto& o : listing.objects) {
      if (o.key.rfind(prefix, 0) != 0) continue;
      std::cout << "\nFirst lines of " << o.key << ":\n";
      std::istringstream lines(runtime.objects().get(bucket, o.key));
      std::string line;
      for (int i = 0; i < max_lines && std::getline(lines, line); ++i) std::cout << "  " << line << '\n';
      return;
    }
  };
  show("raw/users/", 12);
  show("processed/users/", 4);
  return all_succeeded(runs) && all_succeeded(processed);
}

// The demo's catalog and two queries (one over a partitioned table).
void demo_queries(daemon::Runtime& runtime, const config::Pipeline& pipeline) {
  std::cout << "\nCatalog (the crawler ran after each processed object): database " << pipeline.query.database
            << "\n";
  for (const auto& t : runtime.catalog().tables(pipeline.query.database)) {
    std::string keys;
    for (const auto& k : t.partition_keys) keys += (keys.empty() ? "" : ",") + k;
    std::cout << "  " << pad_to_width(printable_utf8(t.name), 10)
              << pad_to_width(catalog::classification(t.format), 9)
              << pad_to_width(std::to_string(t.columns.size()), 4) << "columns  "
              << (keys.empty() ? "" : "partitioned by " + keys + "  ") << t.location() << '\n';
  }
  const std::string sql = "SELECT id, name, email, address_city, company_catchphrase FROM " +
                          pipeline.query.database + ".users ORDER BY id";
  std::cout << "\nsluice query \"" << sql << "\"\n";
  auto result = runtime.query(sql);
  print_table(result.columns, result.rows);
  std::cout << "(" << result.row_count << " rows, " << result.bytes_scanned << " bytes scanned; saved as "
            << result.output << ")\n";
  auto partitioned = runtime.query("SELECT dt, count(*) AS comments FROM comments GROUP BY dt");
  std::cout << "\nsluice query \"SELECT dt, count(*) AS comments FROM comments GROUP BY dt\"\n";
  print_table(partitioned.columns, partitioned.rows);
}

// The near-real-time path: random users into the stream, delivered, processed, catalogued, queried.
void demo_streaming(daemon::Runtime& runtime, const config::Pipeline& pipeline) {
  if (!pipeline.find_source("random-users") || pipeline.deliveries.empty()) return;
  std::cout << "\nNear-real-time: source random-users -> stream GETrandomUserAPI -> delivery -> "
               "raw/random_users/ -> processor -> catalog\n";
  print_summaries(runtime.trigger("random-users"));
  const uint64_t delivered = runtime.deliver(now_ms(), true);  // the demo does not wait out the buffer
  std::cout << "delivered " << delivered << " records from the stream\n";
  print_summaries(runtime.process_pending());
  const std::string nrt =
      "SELECT name_first, name_last, location_country, email FROM random_users ORDER BY email";
  std::cout << "\nsluice query \"" << nrt << "\"\n";
  auto random = runtime.query(nrt);
  print_table(random.columns, random.rows);
}

// sluice demo --serve: the daemon on the demo's data, with the console, while random users arrive every
// few seconds (so the live sheet of the example dashboard moves), until SIGINT or SIGTERM.
void demo_serve(config::Pipeline pipeline, const std::string& listen, const sigset_t& signals) {
  for (auto& d : pipeline.deliveries) d.buffer_interval = std::chrono::seconds(2);  // not a minute's wait
  apply_listen(listen, pipeline);
  daemon::Daemon daemon(std::move(pipeline));
  daemon.start();
  const auto& server = daemon.runtime().pipeline().server;
  std::cout << "\nConsole: http://" << server.host << ":" << daemon.port()
            << "/ui/ — random users arrive every 3 s; Ctrl-C stops\n";
  std::cout.flush();
  while (!stop_signal_within(signals, std::chrono::seconds(3))) {
    try {
      daemon.runtime().trigger("random-users");
    } catch (const Error& e) {
      spdlog::warn("demo: random-users: {}", e.what());
    }
  }
  daemon.stop();
}

}  // namespace

int cmd_demo(const Options& opt) {
  // Signals are taken by the serving loop only; they must be blocked before any thread starts.
  std::optional<sigset_t> signals;
  if (opt.serve) signals = block_stop_signals();
  fixture::FixtureApi api(fixture::embedded_jsonplaceholder_db());
  api.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(api.port());
  std::optional<std::filesystem::path> temporary;
  const std::filesystem::path dir = demo_directory(opt, temporary);

  // The example pipeline, pointed at the loopback stand-in for jsonplaceholder.typicode.com.
  std::string yaml(embedded_example_pipeline());
  for (const std::string real : {"https://jsonplaceholder.typicode.com", "https://randomuser.me"}) {
    for (size_t at = yaml.find(real); at != std::string::npos; at = yaml.find(real, at))
      yaml.replace(at, real.size(), base);
  }
  const auto file = dir / "pipeline.yaml";
  fs::write_file_atomic(file, yaml);
  config::Pipeline pipeline = config::parse_pipeline(yaml, file);
  pipeline.data_dir = dir / "data";

  // The log of the demo's background work goes to a file: printed to the console it would land in the
  // middle of a record; its warnings and errors are shown between sections.
  line_buffer_stdout();
  const auto log_file = dir / "demo.log";
  LogToFile log(log_file);
  std::cout << "sluice demo\n"
            << "  fixture API (stands in for https://jsonplaceholder.typicode.com): " << base << "\n"
            << "  pipeline: " << file.string() << " (examples/jsonplaceholder/pipeline.yaml)\n"
            << "  data directory: " << pipeline.data_dir.string() << "\n"
            << "  log: " << log_file.string() << "\n\n";
  bool ok = true;
  {
    daemon::Runtime runtime(pipeline);
    ok = demo_batch(runtime, pipeline);
    log.print_new_problems();
    demo_queries(runtime, pipeline);
    log.print_new_problems();
    demo_streaming(runtime, pipeline);
  }
  log.print_new_problems();
  std::cout << "\nRun history (sluice runs --data-dir " << pipeline.data_dir.string() << "):\n";
  Options runs_opt = opt;
  runs_opt.pipeline = file.string();
  runs_opt.data_dir = pipeline.data_dir.string();
  std::cout.flush();
  cmd_runs(runs_opt);
  if (signals) demo_serve(std::move(pipeline), opt.listen, *signals);
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(*temporary, ec);
    std::cout << "\n(demo data removed; pass --data-dir DIR to keep it)\n";
  }
  api.stop();
  return ok ? 0 : 1;
}

}  // namespace sluice::cli

namespace sluice::cli {
namespace {

// Queries and catalog reads run beside a daemon without taking over the data directory.
daemon::Runtime open_client(const Options& opt) {
  config::Pipeline pipeline = load(opt);
  if (!std::filesystem::exists(pipeline.data_dir / "metastore.db")) {
    throw Error("no data yet: " + (pipeline.data_dir / "metastore.db").string() + " does not exist");
  }
  return daemon::Runtime(std::move(pipeline), daemon::Ownership::kClient);
}

}  // namespace

namespace {

// Prints a query's rows as they arrive, so that memory does not grow with the result: CSV (Athena's)
// and JSON line by line; the table from widths measured on its first kTableSample rows.
class QueryPrinter : public query::RowSink {
 public:
  explicit QueryPrinter(std::string format) : format_(std::move(format)) {}

  void begin(const std::string& query_id, const std::vector<std::string>& columns,
             const std::vector<std::string>& types) override {
    columns_ = columns;
    if (format_ == "csv") {
      std::cout << query::athena_csv(columns, {});
    } else if (format_ == "json") {
      nlohmann::json described = nlohmann::json::array();
      for (size_t i = 0; i < columns.size(); ++i)
        described.push_back({{"name", columns[i]}, {"type", types[i]}});
      std::cout << "{\"query_id\": " << nlohmann::json(query_id).dump()
                << ",\n \"columns\": " << described.dump() << ",\n \"rows\": [";
    }
  }

  void rows(const query::RowChunk& chunk) override {
    std::vector<std::optional<std::string>> row(chunk.column_count());
    for (size_t r = 0; r < chunk.row_count(); ++r) {
      for (size_t c = 0; c < row.size(); ++c) {
        auto v = chunk.value(r, c);
        row[c] = v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
      }
      print(std::move(row));
      row.assign(chunk.column_count(), std::nullopt);
    }
  }

  // Ends the output with what is known only at the end (row count, timings).
  void finish(const query::QueryResult& result) {
    if (format_ == "table") {
      flush_table_sample();
      std::cerr << "(" << result.row_count << " rows; query " << result.query_id << "; "
                << result.bytes_scanned << " bytes scanned; " << result.planning_ms + result.execution_ms
                << " ms" << (result.output.empty() ? "" : "; result " + result.output) << ")\n";
    } else if (format_ == "json") {
      std::cout << "],\n \"database\": " << nlohmann::json(result.database).dump()
                << ",\n \"row_count\": " << result.row_count
                << ",\n \"bytes_scanned\": " << result.bytes_scanned
                << ",\n \"output\": " << nlohmann::json(result.output).dump()
                << ",\n \"planning_ms\": " << result.planning_ms
                << ",\n \"execution_ms\": " << result.execution_ms << "}\n";
    }
  }

 private:
  static constexpr size_t kTableSample = 1000;

  void print(std::vector<std::optional<std::string>> row) {
    if (format_ == "csv") {
      std::string line = query::athena_csv({}, {row});
      std::cout << line.substr(1);  // without the empty header line
    } else if (format_ == "json") {
      nlohmann::json values = nlohmann::json::array();
      for (auto& v : row) values.push_back(v ? nlohmann::json(std::move(*v)) : nlohmann::json(nullptr));
      std::cout << (printed_++ ? ",\n  " : "\n  ") << values.dump();
    } else if (!widths_) {
      sample_.push_back(std::move(row));
      if (sample_.size() == kTableSample) flush_table_sample();
    } else {
      print_table_rows(columns_, {row}, *widths_, false);
    }
  }

  void flush_table_sample() {
    if (widths_) return;
    widths_ = table_widths(columns_, sample_);
    print_table_rows(columns_, sample_, *widths_, true);
    sample_.clear();
  }

  std::string format_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::optional<std::string>>> sample_;
  std::optional<std::vector<size_t>> widths_;
  size_t printed_ = 0;
};

// Sets `cancel` when SIGINT or SIGTERM arrives while it lives (sluice query on Ctrl-C).
class CancelOnSignal {
 public:
  explicit CancelOnSignal(std::atomic<bool>& cancel) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    watcher_ = std::thread([this, signals, &cancel] {
      const timespec tick{0, 100'000'000};
      while (!done_.load()) {
        if (sigtimedwait(&signals, nullptr, &tick) > 0) {
          cancel.store(true);
          return;
        }
      }
    });
  }
  ~CancelOnSignal() {
    done_.store(true);
    watcher_.join();
  }
  CancelOnSignal(const CancelOnSignal&) = delete;
  CancelOnSignal& operator=(const CancelOnSignal&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

}  // namespace

int cmd_query(const Options& opt) {
  auto runtime = open_client(opt);
  QueryPrinter printer(opt.format);
  std::atomic<bool> cancel{false};
  query::RunOptions options;
  options.database = opt.database;
  options.sink = &printer;
  options.cancel = &cancel;
  options.cancelled_by = "Ctrl-C";
  options.max_inline_rows = 0;  // every row is printed as it comes; none is kept
  query::QueryResult result;
  try {
    CancelOnSignal on_signal(cancel);
    result = runtime.query(opt.sql, options);
  } catch (const query::QueryFailed& e) {
    std::cout.flush();
    std::cerr << "sluice: " << e.what() << " (query " << e.query_id() << ")\n";
    return e.cause() == query::QueryFailed::Cause::kCancelled ? 130 : 1;
  }
  printer.finish(result);
  return 0;
}

int cmd_queries(const Options& opt) {
  auto runtime = open_client(opt);
  auto history = runtime.query_history(opt.limit);
  if (opt.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& q : history) out.push_back(daemon::query_record_to_json(q));
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (const auto& q : history) {
    rows.push_back({q.id, format_iso8601_utc(q.submitted), q.state, std::to_string(q.rows),
                    std::to_string(q.bytes_scanned), std::to_string(q.planning_ms + q.execution_ms),
                    q.error.empty() ? q.sql : q.error});
  }
  print_table({"QUERY", "SUBMITTED", "STATE", "ROWS", "BYTES", "MS", "SQL / ERROR"}, rows);
  return 0;
}

int cmd_catalog(const Options& opt) {
  const std::string action = opt.args.at(0);
  const std::string name = opt.args.size() > 1 ? opt.args[1] : "";
  auto runtime = open_client(opt);
  auto& catalog = runtime.catalog();
  const bool json = opt.format == "json";
  if (action == "databases") {
    const auto dbs = catalog.databases();
    if (json) {
      std::cout << nlohmann::json(dbs).dump(2) << '\n';
    } else {
      for (const auto& db : dbs) std::cout << db << '\n';
    }
    return 0;
  }
  if (action == "tables") {
    const std::string db = name.empty() ? runtime.pipeline().query.database : name;
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (const auto& t : catalog.tables(db)) {
      out.push_back(daemon::table_to_json(catalog, t, false));
      std::string keys;
      for (const auto& k : t.partition_keys) keys += (keys.empty() ? "" : ",") + k;
      rows.push_back({t.name, std::string(catalog::classification(t.format)),
                      std::to_string(t.columns.size()), keys, std::to_string(t.version), t.location()});
    }
    if (json)
      std::cout << out.dump(2) << '\n';
    else
      print_table({"TABLE", "FORMAT", "COLUMNS", "PARTITION KEYS", "VERSION", "LOCATION"}, rows);
    return 0;
  }
  if (action == "describe" || action == "partitions") {
    const auto dot = name.find('.');
    const std::string db = dot == std::string::npos ? runtime.pipeline().query.database : name.substr(0, dot);
    const std::string table_name = dot == std::string::npos ? name : name.substr(dot + 1);
    if (table_name.empty()) throw Error("catalog " + action + " expects DB.TABLE");
    auto table = catalog.table(db, table_name);
    if (!table) throw Error("no table " + db + "." + table_name + " in the catalog");
    if (json) {
      auto full = daemon::table_to_json(catalog, *table, true);
      std::cout << (action == "describe" ? full : full["partitions"]).dump(2) << '\n';
      return 0;
    }
    if (action == "partitions") {
      std::vector<std::vector<std::optional<std::string>>> rows;
      for (const auto& p : catalog.partitions(db, table_name)) {
        std::string values;
        for (size_t i = 0; i < p.values.size(); ++i)
          values += (i ? "/" : "") + table->partition_keys.at(i) + "=" + p.values[i];
        rows.push_back({values, std::to_string(p.files), std::to_string(p.bytes), p.location});
      }
      print_table({"PARTITION", "FILES", "BYTES", "LOCATION"}, rows);
      return 0;
    }
    std::cout << "table      " << db << "." << table_name << "\nlocation   " << table->location()
              << "\nformat     " << catalog::classification(table->format) << " ("
              << catalog::to_string(table->format) << ")\nversion    " << table->version << "\ncrawler    "
              << table->crawler << "\n\n";
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (const auto& c : table->columns) rows.push_back({c.name, catalog::glue_type(c.type), std::string()});
    for (const auto& k : table->partition_keys)
      rows.push_back({k, std::string("string"), std::string("partition key")});
    print_table({"COLUMN", "TYPE", ""}, rows);
    std::cout << "\nschema versions:\n";
    for (const auto& v : catalog.versions(db, table_name)) {
      std::cout << "  v" << v.version << "  " << format_iso8601_utc(v.time) << '\n';
      for (const auto& change : v.changes) std::cout << "      " << change << '\n';
    }
    return 0;
  }
  throw Error("unknown catalog action \"" + action +
              "\"; expected databases, tables, describe or partitions");
}

namespace {

std::string daemon_url(const Options& opt) {
  if (!opt.url.empty()) return opt.url;
  const config::Pipeline pipeline = config::load_pipeline(opt.pipeline);
  return "http://" + pipeline.server.host + ":" + std::to_string(pipeline.server.port);
}

// The Authorization header for the daemon: the token of server.auth.token_env, when the pipeline file
// is there and sets one (SLUICE_TOKEN otherwise, for --url without a pipeline file).
std::vector<std::pair<std::string, std::string>> daemon_auth(const Options& opt) {
  std::string env = "SLUICE_TOKEN";
  if (std::filesystem::exists(opt.pipeline)) {
    const auto name = config::load_pipeline(opt.pipeline).server.token_env;
    if (!name.empty()) env = name;
  }
  const char* token = std::getenv(env.c_str());
  if (!token || !*token) return {};
  return {{"Authorization", std::string("Bearer ") + token}};
}

// The daemon's error for a non-2xx reply, as one line.
[[noreturn]] void fail_reply(const std::string& what, const extract::HttpReply& reply) {
  std::string message = reply.body;
  try {
    message = nlohmann::json::parse(reply.body).value("error", reply.body);
  } catch (const nlohmann::json::exception&) {
  }
  throw Error(what + ": HTTP " + std::to_string(reply.status) + ": " + message);
}

// One request to the daemon; a transport failure becomes one line naming the address.
extract::HttpReply call_daemon(extract::HttpClient& client, const extract::HttpGet& request,
                               const std::string& base) {
  try {
    return client.get(request);
  } catch (const extract::TransportError& e) {
    throw Error("cannot reach the sluice daemon at " + base +
                " (is `sluice run` running there?): " + e.what());
  }
}

}  // namespace

namespace {

// A sequence number belongs to one shard: that shard starts at it, and every other shard at the
// arrival time of its record, so that a multi-shard tail --from SEQ prints what came from then on.
// Positions that are not sequence numbers (trim_horizon, latest, a time) are left as they are.
void start_other_shards_at_its_time(extract::HttpClient& client, const std::string& base, const Options& opt,
                                    const std::vector<std::pair<std::string, std::string>>& auth,
                                    std::map<std::string, std::string>& positions) {
  const std::string from = opt.from;
  std::string sequence = from.rfind("at:", 0) == 0      ? from.substr(3)
                         : from.rfind("after:", 0) == 0 ? from.substr(6)
                                                        : from;
  if (sequence.empty() || !std::all_of(sequence.begin(), sequence.end(),
                                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return;
  for (const auto& [shard, position] : positions) {
    extract::HttpGet request;
    request.headers = auth;
    request.url = extract::append_query(base + "/v1/streams/" + extract::url_encode(opt.name) + "/records",
                                        "shard", shard);
    request.url =
        extract::append_query(extract::append_query(request.url, "from", "at:" + sequence), "limit", "1");
    auto reply = call_daemon(client, request, base);
    if (reply.status != 200) continue;  // not this shard's sequence number
    const auto records = nlohmann::json::parse(reply.body)["records"];
    if (records.empty()) return;
    const std::string arrival = records[0]["arrival"];
    for (auto& [other, other_from] : positions)
      if (other != shard) other_from = arrival;
    return;
  }
}

}  // namespace

int cmd_put(const Options& opt) {
  const std::string base = daemon_url(opt);
  std::string url = base + "/v1/streams/" + extract::url_encode(opt.name) + "/records";
  if (!opt.partition_key.empty()) url = extract::append_query(url, "partition_key", opt.partition_key);
  if (!opt.partition_key_field.empty())
    url = extract::append_query(url, "partition_key_field", opt.partition_key_field);
  extract::HttpClient client;
  const auto auth = daemon_auth(opt);
  uint64_t sent = 0, line_number = 0;
  std::string batch;
  size_t in_batch = 0;
  ingest::BatchPlanner planner;  // Kinesis's request limits: 500 records, 5 MiB
  auto flush = [&] {
    if (in_batch == 0) return;
    for (int attempt = 1;; ++attempt) {
      extract::HttpGet request;
      request.url = url;
      request.post_body = batch;
      request.headers = auth;
      request.headers.emplace_back("Content-Type", "application/x-ndjson");
      extract::HttpReply reply;
      try {
        reply = call_daemon(client, request, base);
      } catch (const Error& e) {
        // What was acknowledged before stays in the stream; say where to resume.
        throw Error(std::string(e.what()) + "; " + std::to_string(sent) + " records were put before line " +
                    std::to_string(line_number - in_batch + 1));
      }
      if (reply.status == 503 && attempt < 30) {  // back-pressure: wait as asked, then again
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      if (reply.status != 200)
        fail_reply("put to " + opt.name + " (records before line " + std::to_string(line_number + 1) + ")",
                   reply);
      break;
    }
    sent += in_batch;
    batch.clear();
    in_batch = 0;
    planner.clear();
  };
  {
    // Ended before the summary line, which it would otherwise erase.
    std::atomic<uint64_t> sent_shown{0}, bytes_read{0};
    Progress progress([&] {
      return "put " + opt.name + ": " + std::to_string(sent_shown.load()) + " records sent, " +
             std::to_string(bytes_read.load() >> 20) + " MiB read";
    });
    for (std::string line; std::getline(std::cin, line);) {
      ++line_number;
      bytes_read += line.size() + 1;
      sent_shown = sent;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (planner.full_before(line.size() + 1)) flush();
      planner.add(line.size() + 1);
      batch += line;
      batch += '\n';
      ++in_batch;
    }
    flush();
  }
  std::cerr << "put " << sent << " records into " << opt.name << '\n';
  return 0;
}

int cmd_tail(const Options& opt) {
  const std::string base = daemon_url(opt);
  extract::HttpClient client;
  const auto auth = daemon_auth(opt);
  extract::HttpGet describe;
  describe.headers = auth;
  describe.url = base + "/v1/streams/" + extract::url_encode(opt.name);
  auto reply = call_daemon(client, describe, base);
  if (reply.status != 200) fail_reply("tail " + opt.name, reply);
  std::map<std::string, std::string> positions;  // shard -> from
  const auto description = nlohmann::json::parse(reply.body);
  for (const auto& shard : description["shards"]) {
    // LATEST is where each shard ends now: what follows is read from there on.
    std::string from = opt.from;
    if (from == "latest")
      from = shard["last_sequence_number"].is_string()
                 ? "after:" + shard["last_sequence_number"].get<std::string>()
                 : "trim_horizon";
    positions[shard["shard_id"]] = from;
  }
  if (positions.size() > 1) start_other_shards_at_its_time(client, base, opt, auth, positions);
  while (true) {
    bool caught_up = true;
    for (auto& [shard, from] : positions) {
      extract::HttpGet request;
      request.headers = auth;
      request.url = extract::append_query(base + "/v1/streams/" + extract::url_encode(opt.name) + "/records",
                                          "shard", shard);
      if (!from.empty()) request.url = extract::append_query(request.url, "from", from);
      if (!opt.consumer.empty()) request.url = extract::append_query(request.url, "consumer", opt.consumer);
      auto page = call_daemon(client, request, base);
      if (page.status != 200) fail_reply("tail " + opt.name + " " + shard, page);
      auto body = nlohmann::json::parse(page.body);
      for (const auto& record : body["records"]) std::cout << record["data"].get<std::string>() << '\n';
      if (!opt.consumer.empty() && !body["records"].empty()) {
        // Printed (and flushed) before it is checkpointed: a crash in between prints it again, never loses
        // it.
        std::cout.flush();
        extract::HttpGet save;
        save.headers = auth;
        save.url = base + "/v1/streams/" + extract::url_encode(opt.name) + "/checkpoints/" +
                   extract::url_encode(opt.consumer);
        save.post_body = nlohmann::json{{"shard_id", shard},
                                        {"sequence_number", body["records"].back()["sequence_number"]}}
                             .dump();
        auto saved = call_daemon(client, save, base);
        if (saved.status != 200) fail_reply("checkpoint " + opt.consumer, saved);
      }
      from = body["next"].get<std::string>();
      if (body["behind_latest"].get<uint64_t>() > 0) caught_up = false;
    }
    std::cout.flush();
    if (caught_up) {
      if (!opt.follow) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

int cmd_export_terraform(const Options& opt) {
  const config::Pipeline pipeline = config::load_pipeline(opt.pipeline);
  const std::vector<std::string> warnings = terraform::write_terraform(pipeline, opt.out_dir);
  for (const auto& warning : warnings) std::cerr << "warning: " << warning << '\n';
  std::cout << (std::filesystem::path(opt.out_dir) / "main.tf.json").string() << ": written ("
            << warnings.size() << " settings not exported, listed above)\n";
  return 0;
}

}  // namespace sluice::cli
