#include "daemon/api.h"

#include <arpa/inet.h>

#include <charconv>

#include "common/error.h"
#include "metastore/run_log.h"
#include "server/http_server.h"

namespace sluice::daemon {
namespace {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

server::HttpResponse json_response(int status, const nlohmann::json& body) {
  server::HttpResponse response;
  response.status = status;
  response.headers["Content-Type"] = "application/json";
  response.body = body.dump() + "\n";
  return response;
}

server::HttpResponse error_response(int status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

}  // namespace

nlohmann::json run_to_json(const metastore::RunRecord& r) {
  auto time_or_null = [](const std::optional<TimePoint>& t) {
    return t ? nlohmann::json(format_iso8601_utc(*t)) : nlohmann::json(nullptr);
  };
  return {{"run_id", r.id},
          {"kind", r.kind},
          {"name", r.name},
          {"trigger", r.trigger},
          {"schedule", r.schedule},
          {"slot", time_or_null(r.slot)},
          {"started", format_iso8601_utc(r.started)},
          {"ended", time_or_null(r.ended)},
          {"status", metastore::to_string(r.status)},
          {"records", r.records},
          {"bytes", r.bytes},
          {"object", r.object},
          {"error", r.error}};
}

nlohmann::json summary_to_json(const RunSummary& r) {
  return {{"run_id", r.run_id}, {"source", r.source}, {"status", r.status}, {"records", r.records},
          {"bytes", r.bytes},   {"object", r.object}, {"error", r.error}};
}

struct Api::Impl {
  Runtime& runtime;
  std::unique_ptr<server::HttpServer> http;

  server::HttpResponse handle(const server::HttpRequest& request) {
    const std::string& path = request.path;
    if (path == "/v1/health") {
      if (request.method != "GET") return error_response(405, "use GET");
      return json_response(200, {{"status", "ok"}});
    }
    if (path == "/v1/runs") {
      if (request.method != "GET") return error_response(405, "use GET");
      int limit = 20;
      if (auto it = request.query.find("limit"); it != request.query.end()) {
        auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
        if (ec != std::errc() || end != it->second.data() + it->second.size() || limit < 1 ||
            limit > 100000) {
          return error_response(400, "limit must be an integer from 1 to 100000, got \"" + it->second + "\"");
        }
      }
      nlohmann::json out = nlohmann::json::array();
      for (const auto& run : runtime.recent_runs(limit)) out.push_back(run_to_json(run));
      return json_response(200, out);
    }
    constexpr std::string_view kTrigger = "/v1/trigger/";
    if (path.rfind(kTrigger, 0) == 0) {
      if (request.method != "POST") return error_response(405, "use POST");
      const std::string name = path.substr(kTrigger.size());
      if (!runtime.pipeline().find_schedule(name) && !runtime.pipeline().find_source(name)) {
        return error_response(404, "no schedule or source named \"" + name + "\"");
      }
      auto runs = runtime.trigger(name);
      nlohmann::json out = nlohmann::json::array();
      bool ok = true;
      for (const auto& run : runs) {
        out.push_back(summary_to_json(run));
        ok = ok && run.status == "succeeded";
      }
      return json_response(ok ? 200 : 502, {{"runs", out}});
    }
    return error_response(404, "no such endpoint: " + request.method + " " + path);
  }
};

Api::Api(Runtime& runtime) : impl_(std::make_unique<Impl>(Impl{runtime, nullptr})) {
  const auto& server = runtime.pipeline().server;
  if (!is_loopback(server.host)) {
    throw Error("server.host " + server.host +
                " is not a loopback address: sluice listens elsewhere only with credentials, which are not "
                "configured");
  }
  server::HttpServerOptions options;
  options.host = server.host;
  options.port = static_cast<uint16_t>(server.port);
  impl_->http = std::make_unique<server::HttpServer>(
      options, [impl = impl_.get()](const server::HttpRequest& request) { return impl->handle(request); });
  impl_->http->start();
}

Api::~Api() { stop(); }

int Api::port() const { return impl_->http->port(); }

void Api::stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

}  // namespace sluice::daemon
