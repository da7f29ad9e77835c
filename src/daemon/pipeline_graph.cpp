#include "daemon/pipeline_graph.h"

#include <set>

#include "daemon/http_json.h"
#include "daemon/json_shapes.h"
#include "daemon/runtime_metrics.h"
#include "schedule/schedule.h"

namespace sluice::daemon {
namespace {

using nlohmann::json;

// A key template's fixed part: up to its first expression ({date}, !{timestamp:...}).
std::string fixed_prefix(const std::string& key) {
  const size_t brace = key.find_first_of("{!");
  return key.substr(0, brace == std::string::npos ? key.size() : brace);
}

bool overlaps(const std::string& a, const std::string& b) {
  return a.compare(0, b.size(), b) == 0 || b.compare(0, a.size(), a) == 0;
}

struct Writer {
  std::string id, bucket, prefix;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(Runtime& runtime) : runtime_(runtime) {}

  void node(const std::string& kind, const std::string& name, std::string state, json detail) {
    nodes_.push_back({{"id", kind + ":" + name},
                      {"kind", kind},
                      {"name", name},
                      {"state", std::move(state)},
                      {"detail", std::move(detail)}});
  }
  void edge(const std::string& from, const std::string& to) {
    if (edges_.insert({from, to}).second) edges_json_.push_back({{"from", from}, {"to", to}});
  }

  // The state of the newest run of (kind, name) and that run as JSON.
  std::pair<std::string, json> last_run(const std::string& kind, const std::string& name) {
    auto run = runtime_.run_log().last(kind, name);
    if (!run) return {"idle", nullptr};
    const std::string status(metastore::to_string(run->status));
    const std::string state = status == "running" ? "running" : status == "succeeded" ? "ok" : "failed";
    return {state, run_to_json(*run)};
  }

  json done() { return {{"nodes", std::move(nodes_)}, {"edges", std::move(edges_json_)}}; }

  std::vector<Writer> writers;

 private:
  Runtime& runtime_;
  json nodes_ = json::array();
  json edges_json_ = json::array();
  std::set<std::pair<std::string, std::string>> edges_;
};

void add_schedules(GraphBuilder& g, Runtime& runtime) {
  const TimePoint now = now_ms();
  for (const auto& s : runtime.pipeline().schedules) {
    std::optional<TimePoint> next;
    try {
      auto expression = schedule::ScheduleExpression::parse(s.expression, s.timezone);
      expression.set_anchor(runtime.anchor(s.name, now));
      next = expression.next_after(now);
    } catch (const Error&) {
      // Checked when the file was loaded; no next fire to show otherwise.
    }
    g.node("schedule", s.name, "ok",
           {{"expression", s.expression},
            {"timezone", s.timezone},
            {"next_fire", time_or_null(next)},
            {"last_fired", time_or_null(runtime.last_fired(s.name))}});
    for (const auto& target : s.targets)
      g.edge("schedule:" + s.name,
             (runtime.pipeline().find_source(target) ? "source:" : "crawler:") + target);
  }
}

void add_sources_and_streams(GraphBuilder& g, Runtime& runtime) {
  const auto& p = runtime.pipeline();
  for (const auto& src : p.sources) {
    auto [state, run] = g.last_run("source", src.name);
    g.node("source", src.name, state,
           {{"url", src.url},
            {"to", src.destination ? config::to_string(*src.destination) : ""},
            {"last_run", run}});
    if (!src.destination) continue;
    if (const auto* stream = config::stream_name(*src.destination))
      g.edge("source:" + src.name, "stream:" + stream->name);
    if (const auto* s3 = config::s3_location(*src.destination))
      g.writers.push_back({"source:" + src.name, s3->bucket, fixed_prefix(s3->key)});
  }
  for (const auto& config : p.streams) {
    json shards = json::array();
    for (const auto& shard : runtime.stream(config.name).describe().shards)
      shards.push_back({{"shard_id", shard.shard_id},
                        {"bytes", shard.bytes},
                        {"last_sequence_number",
                         shard.last_sequence_number ? json(*shard.last_sequence_number) : json(nullptr)}});
    g.node("stream", config.name, "ok", {{"shards", shards}});
  }
  std::map<std::string, json> lag;
  for (const auto& l : runtime.delivery_lag()) lag[l.delivery][l.shard] = l.records;
  for (const auto& d : p.deliveries) {
    g.node("delivery", d.name, "ok",
           {{"stream", d.stream},
            {"lag", lag.count(d.name) ? lag[d.name] : json::object()},
            {"to", "s3://" + d.bucket + "/" + d.prefix},
            {"buffer_bytes", d.buffer_bytes},
            {"buffer_interval_ms", d.buffer_interval.count()}});
    if (!d.stream.empty()) g.edge("stream:" + d.stream, "delivery:" + d.name);
    g.writers.push_back({"delivery:" + d.name, d.bucket, fixed_prefix(d.prefix)});
  }
}

void add_processors(GraphBuilder& g, Runtime& runtime) {
  std::map<std::string, int64_t> backlogs;
  for (const auto& [consumer, count] : runtime.backlogs()) backlogs[consumer] = count;
  for (const auto& proc : runtime.pipeline().processors) {
    const auto counts = runtime.run_log().status_counts("process", proc.name);
    const auto quarantined = runtime.quarantined(proc.name);
    auto [state, run] = g.last_run("process", proc.name);
    json reasons = json::array();
    for (const auto& f : quarantined)
      reasons.push_back({{"input", "s3://" + f.event.bucket + "/" + f.event.key}, {"reason", f.reason}});
    int64_t backlog = 0;
    if (auto it = backlogs.find("process:" + proc.name); it != backlogs.end()) backlog = it->second;
    g.node("processor", proc.name, quarantined.empty() ? state : "failed",
           {{"input", "s3://" + proc.bucket + "/" + proc.prefix},
            {"processed", counts.count("succeeded") ? counts.at("succeeded") : 0},
            {"failed", counts.count("failed") ? counts.at("failed") : 0},
            {"quarantined", quarantined.size()},
            {"quarantine", reasons},
            {"backlog", backlog},
            {"last_run", run}});
    for (const auto& w : g.writers)
      if (w.bucket == proc.bucket && overlaps(w.prefix, proc.prefix)) g.edge(w.id, "processor:" + proc.name);
  }
  for (const auto& proc : runtime.pipeline().processors)
    g.writers.push_back({"processor:" + proc.name,
                         proc.output_bucket.empty() ? proc.bucket : proc.output_bucket,
                         fixed_prefix(proc.output_key)});
}

void add_crawlers_and_tables(GraphBuilder& g, Runtime& runtime, const DashboardTables& dashboards) {
  for (const auto& c : runtime.pipeline().crawlers) {
    auto [state, run] = g.last_run("crawl", c.name);
    json targets = json::array();
    for (const auto& t : c.targets) targets.push_back("s3://" + t.bucket + "/" + t.prefix);
    g.node("crawler", c.name, state, {{"database", c.database}, {"targets", targets}, {"last_run", run}});
    for (const auto& w : g.writers)
      for (const auto& t : c.targets)
        if (w.id.rfind("processor:", 0) == 0 && w.bucket == t.bucket && overlaps(w.prefix, t.prefix))
          g.edge(w.id, "crawler:" + c.name);
  }
  auto& catalog = runtime.catalog();
  std::set<std::string> tables;
  for (const auto& db : catalog.databases()) {
    for (const auto& t : catalog.tables(db)) {
      const std::string name = db + "." + t.name;
      tables.insert(name);
      g.node("table", name, "ok",
             {{"database", db},
              {"location", t.location()},
              {"version", t.version},
              {"updated", format_iso8601_utc(t.updated)},
              {"partition_keys", t.partition_keys}});
      if (!t.crawler.empty()) g.edge("crawler:" + t.crawler, "table:" + name);
    }
  }
  if (!dashboards) return;
  for (const auto& [dashboard, read] : dashboards()) {
    g.node("dashboard", dashboard, "ok", {{"tables", read}});
    for (const auto& t : read)
      if (tables.count(t)) g.edge("table:" + t, "dashboard:" + dashboard);  // not a CTE, not uncrawled
  }
}

}  // namespace

json pipeline_graph(Runtime& runtime, const DashboardTables& dashboards) {
  GraphBuilder g(runtime);
  add_schedules(g, runtime);
  add_sources_and_streams(g, runtime);
  add_processors(g, runtime);
  add_crawlers_and_tables(g, runtime, dashboards);
  return g.done();
}

void add_pipeline_routes(server::RouteGroup& native, Runtime& runtime, const DashboardTables& dashboards) {
  native.route("GET", "/v1/pipeline", [&runtime, dashboards](const server::RouteRequest&) {
    return json_response(200, pipeline_graph(runtime, dashboards));
  });
}

}  // namespace sluice::daemon
