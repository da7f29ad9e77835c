// The contract of an HTTP source as written under `sources:` in the pipeline file. The config
// component fills it (and validates it with file:line:column); the extractor only reads it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/destination.h"

namespace sluice::extract {

// Limits of a source's settings, checked when the pipeline file is read (extract/source_config_parser.h).
inline constexpr int kMaxAttempts = 100;
inline constexpr std::chrono::milliseconds kMaxConnectTimeout = std::chrono::minutes(10);
inline constexpr std::chrono::milliseconds kMaxTotalTimeout = std::chrono::hours(1);
inline constexpr std::chrono::milliseconds kMaxBaseDelay = std::chrono::minutes(10);
inline constexpr std::chrono::milliseconds kMaxRetryDelay = std::chrono::hours(1);
inline constexpr int64_t kMaxPageNumber = 1'000'000;  // first_page, limit and max_pages
inline constexpr uint64_t kMaxResponseBytesLimit = uint64_t{4} << 30;
inline constexpr uint64_t kMaxTotalBytesLimit = uint64_t{1} << 40;

struct AuthConfig {
  enum class Kind { kNone, kBearer, kApiKey, kBasic };
  Kind kind = Kind::kNone;
  std::string token_env;             // bearer: Authorization: Bearer $token_env
  std::string header = "X-Api-Key";  // api_key: header name ...
  std::string query_param;           // ... or, when set, a query parameter instead of the header
  std::string value_env;             // api_key: value from this env var
  std::string username_env;          // basic
  std::string password_env;          // basic
};

struct RetryConfig {
  int max_attempts = 5;  // total attempts per HTTP request, >= 1
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{20'000};
  // Retry-After above this is not honoured: the request fails (a server asking for hours is down).
  std::chrono::milliseconds max_retry_after{120'000};
};

struct PaginationConfig {
  enum class Kind { kNone, kPage, kLinkHeader, kNextField };
  Kind kind = Kind::kNone;
  // kPage: adds page_param=N (from first_page) and limit_param=limit until a page has no records.
  std::string page_param = "_page";
  std::string limit_param = "_limit";
  int64_t first_page = 1;
  int64_t limit = 100;
  // kNextField: dotted path to the next page's URL in the body (e.g. "info.next"); stops when absent,
  // null or empty.
  std::string next_field;
  int max_pages = 1000;  // cap; reaching it with more pages left fails the run
};

struct SourceConfig {
  std::string name;
  std::string url;  // http:// or https://
  std::map<std::string, std::string> headers;
  std::vector<std::pair<std::string, std::string>> query;  // in file order
  AuthConfig auth;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};  // per HTTP request
  RetryConfig retry;
  std::string records_path;  // dotted path to the records array ("results"); empty: the body itself
  PaginationConfig pagination;
  uint64_t max_response_bytes = 256ull << 20;  // per response (each page, each attempt)
  // Per run: the bytes of all pages' responses together. A run that would go over it fails, naming
  // the page, and writes nothing.
  uint64_t max_total_bytes = 1ull << 30;
  // Destination "s3://bucket/key-template" or "stream://NAME", as written; template fields {date}
  // {datetime} {run_id} {source}.
  std::string to;
  // `to` parsed (config::parse_destination). The pipeline loader sets both; a SourceConfig built by
  // hand may set only `to` (the extractor then parses it).
  std::optional<config::Destination> destination;
};

}  // namespace sluice::extract
