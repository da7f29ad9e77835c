// The `server:` section of the pipeline file: where the daemon's HTTP API listens, its bearer token
// and its connection limits (the HTTP server's own defaults, server/http_server.h, unless the file
// says otherwise), with the key table (for the parser and the JSON Schema) and the parser.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/keys.h"
#include "config/reader.h"
#include "server/http_server.h"

namespace sluice::config {

inline constexpr int kDefaultPort = 9870;
inline constexpr int kMaxConnectionsLimit = 100'000;
inline constexpr int kMaxHandlerThreads = 256;
inline constexpr std::chrono::milliseconds kMaxServerTimeout = std::chrono::hours(1);

inline constexpr std::string_view kDefaultAwsRegion = "us-east-1";
// AWS access key ids: 1..128 of A-Z a-z 0-9 _ (IAM issues 16..128 of them, AKIA...).
inline constexpr std::string_view kAccessKeyIdPattern = "^[A-Za-z0-9_]{1,128}$";
// Region names: us-east-1, eu-central-2, ...
inline constexpr std::string_view kRegionPattern = "^[a-z0-9-]{1,64}$";

// One AWS access key the AWS APIs accept (server.aws.credentials[]): its id, and the environment
// variable holding its secret (never the secret itself in the file).
struct AwsCredentialConfig {
  std::string access_key_id;
  std::string secret_env;
};

// server.aws: what SigV4 requests to the AWS APIs are verified against.
struct AwsServerConfig {
  std::string region = std::string(kDefaultAwsRegion);  // credential scopes must name it
  // Empty: requests are accepted unsigned or signed with any key (loopback only).
  std::vector<AwsCredentialConfig> credentials;
};

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
  AwsServerConfig aws;  // SigV4 keys of the AWS APIs
};

// The keys of the server: section.
const Section& server_section();

// Fills `server` from the server: section `node`, recording every problem in `reader`. Throws only
// ConfigError past the reader's limit of problems.
void parse_server(Reader& reader, const Node& node, ServerConfig& server);

}  // namespace sluice::config
