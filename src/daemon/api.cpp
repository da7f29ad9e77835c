#include "daemon/api.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "console/console.h"
#include "daemon/pipeline_graph.h"
#include "daemon/routes.h"
#include "dashboard/dashboard_service.h"
#include "server/authenticator.h"
#include "server/http_server.h"
#include "server/router.h"

namespace sluice::daemon {
namespace {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

// The bearer token of server.auth.token_env ("" when none is set); the checks of the server section
// that need the environment.
std::string server_token(const config::ServerConfig& server) {
  std::string token;
  if (!server.token_env.empty()) {
    const char* value = std::getenv(server.token_env.c_str());
    if (!value || std::strlen(value) < 16) {
      throw Error("server.auth.token_env names " + server.token_env +
                  ", which is not set to a token of at least 16 characters");
    }
    token = value;
  }
  if (!is_loopback(server.host) && token.empty()) {
    throw Error("server.host " + server.host +
                " is not a loopback address: sluice listens elsewhere only with credentials; set "
                "server.auth.token_env");
  }
  return token;
}

server::HttpServerOptions server_options(const config::ServerConfig& server) {
  server::HttpServerOptions options;
  options.host = server.host;
  options.port = static_cast<uint16_t>(server.port);
  options.max_connections = static_cast<size_t>(server.max_connections);
  options.max_connections_per_client = static_cast<size_t>(server.max_connections_per_client);
  options.handler_threads = static_cast<size_t>(server.handler_threads);
  options.header_timeout = server.header_timeout;
  options.body_timeout = server.body_timeout;
  options.idle_timeout = server.idle_timeout;
  options.write_timeout = server.write_timeout;
  return options;
}

}  // namespace

Api::Api(Runtime& runtime, std::function<nlohmann::json()> status, dashboard::DashboardService* dashboards) {
  const auto& server = runtime.pipeline().server;
  const std::string token = server_token(server);
  server::Router router;
  // The native API: every path ("/"), so that an unknown one is a JSON 404 — after authentication,
  // which tells an anonymous client nothing about which paths exist.
  auto& native = router.group(
      {.name = "native",
       .path_prefix = "/",
       .authenticator = token.empty() ? nullptr : std::make_shared<server::BearerTokenAuthenticator>(token)});
  add_run_routes(native, runtime, std::move(status));
  add_stream_routes(native, runtime);
  add_query_routes(native, runtime);
  add_catalog_routes(native, runtime);
  add_processor_routes(native, runtime);
  add_metrics_routes(native, runtime);
  console::add_console_routes(router, native);
  DashboardTables tables;
  if (dashboards) {
    add_dashboard_routes(native, *dashboards);
    tables = [dashboards] {
      std::vector<std::pair<std::string, std::vector<std::string>>> out;
      for (const auto& d : dashboards->dashboards()) out.emplace_back(d.name, dashboards->tables(d));
      return out;
    };
  }
  add_pipeline_routes(native, runtime, tables);
  add_aws_routes(router, runtime);
  http_ = std::make_unique<server::HttpServer>(server_options(server), std::move(router));
  http_->start();
}

Api::~Api() { stop(); }

int Api::port() const { return http_->port(); }

void Api::stop() {
  if (http_) http_->stop();
}

}  // namespace sluice::daemon
