#include "config/server_config.h"

namespace sluice::config {
namespace {

const Section& server_auth_section() {
  static const Section section{{
      {.name = "token_env",
       .description = "environment variable holding the bearer token (16+ characters)",
       .required = true,
       .pattern = kEnvNamePattern},
  }};
  return section;
}

KeySpec timeout_key(std::string_view name, std::string_view description, std::string_view default_value) {
  return {.name = name,
          .kind = Kind::kDuration,
          .description = description,
          .default_value = default_value,
          .min = 1,
          .max = kMaxServerTimeout.count()};
}

}  // namespace

const Section& server_section() {
  static const Section section{{
      {.name = "host",
       .description = "any address but loopback requires auth.token_env",
       .default_value = "127.0.0.1"},
      {.name = "port",
       .kind = Kind::kInteger,
       .description = "0: any free port",
       .default_value = "9870",
       .min = 0,
       .max = 65535},
      {.name = "auth",
       .kind = Kind::kMapping,
       .description = "a bearer token every request but GET /v1/health sends",
       .section = &server_auth_section()},
      {.name = "max_connections",
       .kind = Kind::kInteger,
       .description = "open connections at once",
       .default_value = "512",
       .min = 1,
       .max = kMaxConnectionsLimit},
      {.name = "max_connections_per_client",
       .kind = Kind::kInteger,
       .description = "open connections from one address (0: no cap)",
       .default_value = "64",
       .min = 0,
       .max = kMaxConnectionsLimit},
      {.name = "handler_threads",
       .kind = Kind::kInteger,
       .description = "requests handled at once",
       .default_value = "16",
       .min = 1,
       .max = kMaxHandlerThreads},
      timeout_key("header_timeout", "the whole request head must arrive within it", "10s"),
      timeout_key("body_timeout", "the whole body must arrive within it", "60s"),
      timeout_key("idle_timeout", "keep-alive wait for the next request", "30s"),
      timeout_key("write_timeout", "each response write must be taken within it", "30s"),
  }};
  return section;
}

void parse_server(Reader& r, const Node& node, ServerConfig& sc) {
  const Section& keys = server_section();
  if (!r.expect_map(node, "server")) return;
  r.check_keys(node, "server", keys);
  if (auto v = r.integer(node, keys["max_connections"], "server")) sc.max_connections = static_cast<int>(*v);
  if (auto v = r.integer(node, keys["max_connections_per_client"], "server"))
    sc.max_connections_per_client = static_cast<int>(*v);
  if (auto v = r.integer(node, keys["handler_threads"], "server")) sc.handler_threads = static_cast<int>(*v);
  for (auto [key, field] :
       {std::pair{"header_timeout", &sc.header_timeout}, std::pair{"body_timeout", &sc.body_timeout},
        std::pair{"idle_timeout", &sc.idle_timeout}, std::pair{"write_timeout", &sc.write_timeout}}) {
    if (auto v = r.duration(node, keys[key], "server")) *field = *v;
  }
  if (auto host = r.string(node, keys["host"], "server")) sc.host = *host;
  if (auto port = r.integer(node, keys["port"], "server")) sc.port = static_cast<int>(*port);
  if (const Node auth = node["auth"]; auth && r.expect_map(auth, "server.auth")) {
    r.check_keys(auth, "server.auth", server_auth_section());
    if (auto env = r.env_name(auth, server_auth_section()["token_env"], "server.auth")) sc.token_env = *env;
  }
}

}  // namespace sluice::config
