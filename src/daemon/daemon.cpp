#include "daemon/daemon.h"

#include <spdlog/spdlog.h>

#include "daemon/api.h"
#include "daemon/json_shapes.h"
#include "daemon/scheduler.h"
#include "daemon/webhook_sender.h"

namespace sluice::daemon {
namespace {

// Processing picks events up within this of their object landing (sooner when delivery wakes it).
constexpr auto kProcessingPeriod = std::chrono::milliseconds(200);
// Deliveries are polled often enough for their buffer interval (at most this late).
constexpr auto kDeliveryPeriod = std::chrono::milliseconds(100);

nlohmann::json loop_json(const LoopStatus& s) {
  return {{"name", s.name},
          {"ticks", s.ticks},
          {"last_tick", time_or_null(s.last_tick)},
          {"errors", s.errors},
          {"last_error", s.last_error},
          {"last_error_time", time_or_null(s.last_error_time)}};
}

// Alerts are looked at this often; each visual runs only when its refresh is due.
constexpr auto kAlertPeriod = std::chrono::seconds(1);

// An alert's change of state as the run history keeps it (only changes to and from firing: an alert
// that stays quiet leaves no trace) and as its webhook receives it.
void record_alert(Runtime& runtime, WebhookSender& webhooks, const dashboard::AlertEvent& e) {
  using dashboard::AlertState;
  if (e.status.state != AlertState::kFiring && e.previous != AlertState::kFiring) return;
  const bool firing = e.status.state == AlertState::kFiring;
  const std::string name = e.dashboard + "/" + e.visual + "/" + e.alert->name;
  metastore::RunOutcome outcome;
  outcome.status = firing ? metastore::RunStatus::kFailed : metastore::RunStatus::kSucceeded;
  outcome.error = firing ? "alert firing: " + e.status.message : "";
  runtime.record_run({.kind = "alert", .name = name, .trigger = "refresh"}, outcome);
  spdlog::log(firing ? spdlog::level::warn : spdlog::level::info, "alert {} is {}: {}", name,
              dashboard::to_string(e.status.state), e.status.message);
  if (e.alert->webhook.empty()) return;
  webhooks.send(
      e.alert->webhook,
      nlohmann::json{{"alert", e.alert->name},
                     {"dashboard", e.dashboard},
                     {"visual", e.visual},
                     {"condition", e.alert->condition.text},
                     {"state", dashboard::to_string(e.status.state)},
                     {"previous_state", dashboard::to_string(e.previous)},
                     {"value", e.status.value ? nlohmann::json(*e.status.value) : nlohmann::json(nullptr)},
                     {"message", e.status.message},
                     {"time", format_iso8601_utc(e.status.since.value_or(now_ms()))}}
          .dump());
}

}  // namespace

Daemon::Daemon(config::Pipeline pipeline, std::optional<Backends> backends)
    : started_(now_ms()),
      runtime_(std::make_unique<Runtime>(std::move(pipeline), Ownership::kDaemon, std::move(backends))) {
  scheduler_ = std::make_unique<SchedulerLoop>(*runtime_);
  scheduling_ = std::make_unique<BackgroundLoop>(
      "scheduler", [this] { return scheduler_->step(); }, std::chrono::seconds(5));
  processing_ = std::make_unique<BackgroundLoop>("processing", [this] {
    runtime_->process_pending();
    return std::chrono::milliseconds(kProcessingPeriod);
  });
  const auto& p = runtime_->pipeline();
  if (!p.deliveries.empty() || !p.streams.empty()) {
    // Delivered objects raise ObjectCreated events: processing is woken for them. The same loop
    // applies the streams' retention.
    delivering_ = std::make_unique<BackgroundLoop>("delivery", [this] {
      if (runtime_->deliver() > 0) processing_->wake();
      return std::chrono::milliseconds(kDeliveryPeriod);
    });
  }
  webhooks_ = std::make_unique<WebhookSender>();
  dashboards_ = std::make_unique<dashboard::DashboardService>(
      p.dashboards, p.query.database, runtime_->catalog(),
      [this](const std::string& sql, const query::RunOptions& options) {
        return runtime_->query(sql, options);
      },
      [this](const dashboard::AlertEvent& e) { record_alert(*runtime_, *webhooks_, e); });
  alerting_ = std::make_unique<BackgroundLoop>("alerts", [this] {
    dashboards_->evaluate_due(now_ms(), &runtime_->cancel_flag());
    return std::chrono::milliseconds(kAlertPeriod);
  });
  api_ = std::make_unique<Api>(
      *runtime_, [this] { return status(); }, dashboards_.get());
}

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  runtime_->release_claims();
  scheduling_->start();
  processing_->start();
  if (delivering_) delivering_->start();
  alerting_->start();
}

void Daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  runtime_->cancel();  // runs and queries in flight end now, so the loops and handlers return
  scheduling_->stop();
  processing_->stop();
  if (delivering_) delivering_->stop();
  alerting_->stop();
  api_->stop();
}

int Daemon::port() const { return api_->port(); }

nlohmann::json Daemon::status() const {
  nlohmann::json loops = nlohmann::json::array();
  for (const auto* loop : {scheduling_.get(), processing_.get(), delivering_.get(), alerting_.get()})
    if (loop) loops.push_back(loop_json(loop->status()));
  nlohmann::json backlogs = nlohmann::json::array();
  for (const auto& [consumer, count] : runtime_->backlogs())
    backlogs.push_back({{"consumer", consumer}, {"events", count}});
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& config : runtime_->pipeline().streams) {
    nlohmann::json shards = nlohmann::json::array();
    for (const auto& shard : runtime_->stream(config.name).describe().shards) {
      shards.push_back(
          {{"shard_id", shard.shard_id},
           {"last_sequence_number", shard.last_sequence_number ? nlohmann::json(*shard.last_sequence_number)
                                                               : nlohmann::json(nullptr)},
           {"bytes", shard.bytes}});
    }
    streams.push_back({{"stream", config.name}, {"shards", shards}});
  }
  return {{"started", format_iso8601_utc(started_)},
          {"uptime_ms", (now_ms() - started_).count()},
          {"loops", loops},
          {"backlogs", backlogs},
          {"queries_running", runtime_->queries().running().size()},
          {"streams", streams}};
}

}  // namespace sluice::daemon
