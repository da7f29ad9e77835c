#include "config/server_config.h"

#include <algorithm>

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

const Section& aws_credential_section() {
  static const Section section{{
      {.name = "access_key_id",
       .description = "the access key id clients sign with (AKIA...)",
       .required = true,
       .pattern = kAccessKeyIdPattern},
      {.name = "secret_env",
       .description = "environment variable holding its secret access key",
       .required = true,
       .pattern = kEnvNamePattern},
  }};
  return section;
}

const Section& server_aws_section() {
  static const Section section{{
      {.name = "region",
       .description = "the region SigV4 credential scopes must name",
       .default_value = kDefaultAwsRegion,
       .pattern = kRegionPattern},
      {.name = "credentials",
       .kind = Kind::kList,
       .description = "access keys of the AWS APIs; none: any or no signature (loopback only)",
       .items = {{.kind = Kind::kMapping, .section = &aws_credential_section()}}},
  }};
  return section;
}

bool matches_access_key_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool matches_region(std::string_view region) {
  return !region.empty() && region.size() <= 64 && std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// server.aws: the region and the access keys (each secret read later, from its variable).
void parse_server_aws(Reader& r, const Node& aws, AwsServerConfig& config) {
  if (!r.expect_map(aws, "server.aws")) return;
  const Section& keys = server_aws_section();
  r.check_keys(aws, "server.aws", keys);
  if (auto region = r.string(aws, keys["region"], "server.aws")) {
    if (matches_region(*region))
      config.region = *region;
    else
      r.error(aws["region"], "server.aws.region",
              "expected a region name like us-east-1, got \"" + *region + "\"");
  }
  const Node credentials = aws["credentials"];
  if (!credentials) return;
  if (!credentials.is_sequence()) {
    r.error(credentials, "server.aws.credentials",
            "expected a list of {access_key_id, secret_env}, got " + credentials.type_name());
    return;
  }
  const Section& entry = aws_credential_section();
  for (size_t i = 0; i < credentials.size(); ++i) {
    const std::string path = "server.aws.credentials[" + std::to_string(i) + "]";
    const Node item = credentials.at(i);
    if (!r.expect_map(item, path)) continue;
    r.check_keys(item, path, entry);
    auto id = r.string(item, entry["access_key_id"], path);
    auto env = r.env_name(item, entry["secret_env"], path);
    if (!id || !env) continue;
    if (!matches_access_key_id(*id)) {
      r.error(item["access_key_id"], path + ".access_key_id",
              "expected 1-128 of A-Z a-z 0-9 _ (an access key id like AKIAIOSFODNN7EXAMPLE), got \"" + *id +
                  "\"");
      continue;
    }
    const bool repeated = std::any_of(config.credentials.begin(), config.credentials.end(),
                                      [&](const AwsCredentialConfig& c) { return c.access_key_id == *id; });
    if (repeated) {
      r.error(item, path, "access key id " + *id + " is listed twice");
      continue;
    }
    config.credentials.push_back({*id, *env});
  }
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
      {.name = "aws",
       .kind = Kind::kMapping,
       .description = "SigV4 keys of the AWS APIs (Kinesis, Firehose, S3, Glue, Athena)",
       .section = &server_aws_section()},
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
  if (const Node aws = node["aws"]) parse_server_aws(r, aws, sc.aws);
}

}  // namespace sluice::config
