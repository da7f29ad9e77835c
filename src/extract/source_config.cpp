#include <array>

#include "config/destination.h"
#include "extract/extractor.h"
#include "extract/source_config_parser.h"

namespace sluice::extract {
namespace {

using config::KeySpec;
using config::Kind;
using config::Section;

constexpr int64_t ms(std::chrono::milliseconds d) { return d.count(); }

KeySpec env_key(std::string_view name, std::string_view description) {
  return {
      .name = name, .kind = Kind::kString, .description = description, .pattern = config::kEnvNamePattern};
}

const Section& auth_section() {
  static const Section section{{
      {.name = "type",
       .kind = Kind::kEnum,
       .description = "how requests authenticate",
       .required = true,
       .values = {"bearer", "api_key", "basic"}},
      env_key("token_env", "bearer: the environment variable holding the token"),
      {.name = "header", .description = "api_key: the header carrying the key", .default_value = "X-Api-Key"},
      {.name = "query_param",
       .description = "api_key: a query parameter carrying the key instead of a header"},
      env_key("value_env", "api_key: the environment variable holding the key"),
      env_key("username_env", "basic: the environment variable holding the user name"),
      env_key("password_env", "basic: the environment variable holding the password"),
  }};
  return section;
}

const Section& timeout_section() {
  static const Section section{{
      {.name = "connect",
       .kind = Kind::kDuration,
       .description = "connection timeout per HTTP request",
       .default_value = "10s",
       .max = ms(kMaxConnectTimeout)},
      {.name = "total",
       .kind = Kind::kDuration,
       .description = "whole-request timeout per HTTP request",
       .default_value = "60s",
       .max = ms(kMaxTotalTimeout)},
  }};
  return section;
}

const Section& retry_section() {
  static const Section section{{
      {.name = "max_attempts",
       .kind = Kind::kInteger,
       .description = "attempts per HTTP request, retries included",
       .default_value = "5",
       .min = 1,
       .max = kMaxAttempts},
      {.name = "base_delay",
       .kind = Kind::kDuration,
       .description = "first back-off, doubled per retry",
       .default_value = "200ms",
       .max = ms(kMaxBaseDelay)},
      {.name = "max_delay",
       .kind = Kind::kDuration,
       .description = "longest back-off",
       .default_value = "20s",
       .max = ms(kMaxRetryDelay)},
      {.name = "max_retry_after",
       .kind = Kind::kDuration,
       .description = "a longer Retry-After fails the run",
       .default_value = "120s",
       .max = ms(kMaxRetryDelay)},
  }};
  return section;
}

const Section& pagination_section() {
  static const Section section{{
      {.name = "type",
       .kind = Kind::kEnum,
       .description = "how the next page is found",
       .required = true,
       .values = {"page", "link_header", "next_field"}},
      {.name = "page_param",
       .description = "page: the page number's query parameter",
       .default_value = "_page"},
      {.name = "limit_param",
       .description = "page: the page size's query parameter",
       .default_value = "_limit"},
      {.name = "first_page",
       .kind = Kind::kInteger,
       .description = "page: the first page's number",
       .default_value = "1",
       .min = 0,
       .max = kMaxPageNumber},
      {.name = "limit",
       .kind = Kind::kInteger,
       .description = "page: records per page",
       .default_value = "100",
       .min = 1,
       .max = kMaxPageNumber},
      {.name = "next_field", .description = "next_field: dotted path to the next page's URL in the body"},
      {.name = "max_pages",
       .kind = Kind::kInteger,
       .description = "more pages than this fails the run",
       .default_value = "1000",
       .min = 1,
       .max = kMaxPageNumber},
  }};
  return section;
}

void parse_auth(config::Reader& r, const config::Node& node, const std::string& path, AuthConfig& auth) {
  const Section& keys = auth_section();
  const auto type = r.choice(node, keys["type"], path);
  if (!type) return;
  auto required_env = [&](std::string_view key, std::string& out) {
    KeySpec spec = keys[key];
    spec.required = true;
    if (auto name = r.env_name(node, spec, path)) out = *name;
  };
  if (*type == 0) {
    auth.kind = AuthConfig::Kind::kBearer;
    required_env("token_env", auth.token_env);
  } else if (*type == 1) {
    auth.kind = AuthConfig::Kind::kApiKey;
    required_env("value_env", auth.value_env);
    if (auto h = r.string(node, keys["header"], path)) auth.header = *h;
    if (auto q = r.string(node, keys["query_param"], path)) auth.query_param = *q;
  } else {
    auth.kind = AuthConfig::Kind::kBasic;
    required_env("username_env", auth.username_env);
    required_env("password_env", auth.password_env);
  }
}

void parse_pagination(config::Reader& r, const config::Node& node, const std::string& path,
                      PaginationConfig& page) {
  const Section& keys = pagination_section();
  const auto type = r.choice(node, keys["type"], path);
  if (!type && !node["type"].is_scalar()) return;  // without a type, the rest says nothing
  if (type) {
    page.kind = std::array{PaginationConfig::Kind::kPage, PaginationConfig::Kind::kLinkHeader,
                           PaginationConfig::Kind::kNextField}[*type];
    if (page.kind == PaginationConfig::Kind::kNextField) {
      KeySpec next = keys["next_field"];
      next.required = true;
      if (auto f = r.string(node, next, path)) page.next_field = *f;
    }
  }
  if (auto v = r.string(node, keys["page_param"], path)) page.page_param = *v;
  if (auto v = r.string(node, keys["limit_param"], path)) page.limit_param = *v;
  if (auto v = r.integer(node, keys["first_page"], path)) page.first_page = *v;
  if (auto v = r.integer(node, keys["limit"], path)) page.limit = *v;
  if (auto v = r.integer(node, keys["max_pages"], path)) page.max_pages = static_cast<int>(*v);
}

void parse_timeout_and_retry(config::Reader& r, const config::Node& node, const std::string& path,
                             SourceConfig& src) {
  const Section& keys = source_section();
  if (const auto t = r.mapping(node, keys["timeout"], path)) {
    const std::string p = config::Reader::child(path, "timeout");
    if (auto v = r.duration(t, timeout_section()["connect"], p)) src.connect_timeout = *v;
    if (auto v = r.duration(t, timeout_section()["total"], p)) src.total_timeout = *v;
  }
  if (const auto t = r.mapping(node, keys["retry"], path)) {
    const std::string p = config::Reader::child(path, "retry");
    const Section& retry = retry_section();
    if (auto v = r.integer(t, retry["max_attempts"], p)) src.retry.max_attempts = static_cast<int>(*v);
    if (auto v = r.duration(t, retry["base_delay"], p)) src.retry.base_delay = *v;
    if (auto v = r.duration(t, retry["max_delay"], p)) src.retry.max_delay = *v;
    if (auto v = r.duration(t, retry["max_retry_after"], p)) src.retry.max_retry_after = *v;
  }
}

void parse_destination_key(config::Reader& r, const config::Node& node, const std::string& path,
                           SourceConfig& src) {
  const auto to = r.string(node, source_section()["to"], path);
  if (!to) return;
  src.to = *to;
  if (std::string why = validate_destination(*to); !why.empty()) {
    r.error(node["to"], config::Reader::child(path, "to"), why);
    return;
  }
  std::string why;
  src.destination = config::parse_destination(*to, &why);
}

}  // namespace

const Section& source_section() {
  static const Section section{{
      {.name = "type",
       .kind = Kind::kEnum,
       .description = "the kind of source",
       .hint = "the only source type",
       .default_value = "http",
       .values = {"http"}},
      {.name = "url", .description = "the URL requested", .required = true, .pattern = "^https?://"},
      {.name = "headers", .kind = Kind::kScalarMap, .description = "request headers"},
      {.name = "query", .kind = Kind::kScalarMap, .description = "query parameters, appended in file order"},
      {.name = "auth",
       .kind = Kind::kMapping,
       .description = "credentials, read from environment variables",
       .section = &auth_section()},
      {.name = "timeout",
       .kind = Kind::kMapping,
       .description = "per HTTP request",
       .section = &timeout_section()},
      {.name = "retry",
       .kind = Kind::kMapping,
       .description = "retries of failed requests",
       .section = &retry_section()},
      {.name = "records_path", .description = "dotted path to the records array in the body"},
      {.name = "pagination",
       .kind = Kind::kMapping,
       .description = "following pages",
       .section = &pagination_section()},
      {.name = "max_response_bytes",
       .kind = Kind::kSize,
       .description = "per response",
       .default_value = "256MiB",
       .min = 1,
       .max = static_cast<int64_t>(kMaxResponseBytesLimit)},
      {.name = "max_total_bytes",
       .kind = Kind::kSize,
       .description = "all pages of one run together",
       .default_value = "1GiB",
       .min = 1,
       .max = static_cast<int64_t>(kMaxTotalBytesLimit)},
      {.name = "to",
       .description = "s3://BUCKET/KEY-TEMPLATE or stream://STREAM",
       .required = true,
       .pattern = "^(s3://[^/]+/.+|stream://[^/]+)$"},
      {.name = "timezone", .description = "IANA zone for the key template; default: its first schedule's"},
  }};
  return section;
}

void parse_source(config::Reader& r, const config::Reader::Entry& entry, SourceConfig& src) {
  const Section& keys = source_section();
  const config::Node& node = entry.value;
  const std::string& path = entry.path;
  src.name = entry.name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, keys);
  r.choice(node, keys["type"], path);
  if (auto url = r.string(node, keys["url"], path)) {
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0)
      r.error(node["url"], path + ".url", "expected an http:// or https:// URL, got \"" + *url + "\"");
    src.url = *url;
  }
  for (auto& [k, v] : r.scalar_map(node, keys["headers"], path)) src.headers[k] = v;
  src.query = r.scalar_map(node, keys["query"], path);
  if (const auto auth = r.mapping(node, keys["auth"], path)) parse_auth(r, auth, path + ".auth", src.auth);
  parse_timeout_and_retry(r, node, path, src);
  if (auto v = r.string(node, keys["records_path"], path)) src.records_path = *v;
  if (const auto page = r.mapping(node, keys["pagination"], path))
    parse_pagination(r, page, path + ".pagination", src.pagination);
  if (auto v = r.size(node, keys["max_response_bytes"], path)) src.max_response_bytes = *v;
  if (auto v = r.size(node, keys["max_total_bytes"], path)) src.max_total_bytes = *v;
  parse_destination_key(r, node, path, src);
}

}  // namespace sluice::extract
