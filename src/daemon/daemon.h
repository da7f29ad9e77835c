// Daemon: `sluice run` as an object — the Runtime that owns the data directory, the HTTP API, and the
// background loops: the scheduler (EventBridge rules; also retries interrupted runs), processing
// (ObjectCreated events to processors and on_change crawlers) and delivery (streams to objects, and
// the streams' retention) and alerts (the dashboards' threshold alerts, evaluated as their visuals
// refresh; changes of state go to the run history and webhooks). start() and stop() bracket its life;
// status() is the snapshot the API (GET /v1/status) and a console read: each loop's last tick and error,
// event backlogs, streams.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "config/pipeline.h"
#include "daemon/background_loop.h"
#include "daemon/runtime.h"
#include "dashboard/dashboard_service.h"

namespace sluice::daemon {

class Api;
class SchedulerLoop;
class WebhookSender;

class Daemon {
 public:
  // Opens the data directory as its owner (throws Error when another process owns it) and starts the
  // HTTP API (throws Error when the address cannot be used). No loop runs before start().
  // `backends` replaces the ones the pipeline file asks for (tests).
  explicit Daemon(config::Pipeline pipeline, std::optional<Backends> backends = std::nullopt);
  ~Daemon();  // stop()s
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Releases claims a killed process left and starts the loops.
  void start();
  // Cancels runs and queries in flight (they end interrupted / CANCELLED), stops the loops, then the
  // API. Returns within about a second of the work it cancelled noticing. Idempotent.
  void stop();

  int port() const;
  Runtime& runtime() { return *runtime_; }
  dashboard::DashboardService& dashboards() { return *dashboards_; }
  // The snapshot of GET /v1/status: started, loops[], backlogs[], queries_running, streams[].
  nlohmann::json status() const;

 private:
  TimePoint started_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<SchedulerLoop> scheduler_;
  std::unique_ptr<WebhookSender> webhooks_;
  std::unique_ptr<dashboard::DashboardService> dashboards_;
  std::unique_ptr<BackgroundLoop> scheduling_, processing_, delivering_, alerting_;
  std::unique_ptr<Api> api_;
  bool stopped_ = false;
};

}  // namespace sluice::daemon
