// The `server:` section of the pipeline file: where the daemon's HTTP API listens, its bearer token
// and its connection limits (the HTTP server's own defaults, server/http_server.h, unless the file
// says otherwise), with the key table (for the parser and the JSON Schema) and the parser.
#pragma once

#include <chrono>
#include <string>

#include "config/keys.h"
#include "config/reader.h"
#include "server/http_server.h"

namespace sluice::config {

inline constexpr int kDefaultPort = 9870;
inline constexpr int kMaxConnectionsLimit = 100'000;
inline constexpr int kMaxHandlerThreads = 256;
inline constexpr std::chrono::milliseconds kMaxServerTimeout = std::chrono::hours(1);

struct ServerConfig {
  std::string host =
      server::HttpServerOptions{}.host;  // loopback by default; another address needs token_env
  int port = kDefaultPort;
  // When set, the name of an environment variable holding a bearer token that every request but
  // GET /v1/health must present (Authorization: Bearer TOKEN). Required to listen beyond loopback.
  std::string token_env;
  // Connection limits (see the README's limit table).
  int max_connections = static_cast<int>(server::HttpServerOptions{}.max_connections);
  int max_connections_per_client = static_cast<int>(server::HttpServerOptions{}.max_connections_per_client);
  int handler_threads = static_cast<int>(server::HttpServerOptions{}.handler_threads);
  std::chrono::milliseconds header_timeout = server::HttpServerOptions{}.header_timeout;
  std::chrono::milliseconds body_timeout = server::HttpServerOptions{}.body_timeout;
  std::chrono::milliseconds idle_timeout = server::HttpServerOptions{}.idle_timeout;
  std::chrono::milliseconds write_timeout = server::HttpServerOptions{}.write_timeout;
};

// The keys of the server: section.
const Section& server_section();

// Fills `server` from the server: section `node`, recording every problem in `reader`. Throws only
// ConfigError past the reader's limit of problems.
void parse_server(Reader& reader, const Node& node, ServerConfig& server);

}  // namespace sluice::config
