#include "extract/extractor.h"

#include <simdjson.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>
#pragma GCC diagnostic pop

#include "common/error.h"
#include "common/json_path.h"
#include "extract/http_client.h"
#include "schedule/schedule.h"

namespace sluice::extract {
namespace {

struct Destination {
  std::string bucket;
  std::string key_template;
  std::string stream;  // set for stream://NAME
};

std::optional<Destination> parse_destination(const std::string& to, std::string* why) {
  constexpr std::string_view kStream = "stream://";
  if (to.rfind(kStream, 0) == 0) {
    const std::string name = to.substr(kStream.size());
    if (name.empty() || name.find('/') != std::string::npos) {
      *why = "expected stream://STREAM-NAME, got \"" + to + "\"";
      return std::nullopt;
    }
    return Destination{"", "", name};
  }
  constexpr std::string_view kScheme = "s3://";
  if (to.rfind(kScheme, 0) != 0) {
    *why = "expected s3://BUCKET/KEY-TEMPLATE or stream://STREAM, got \"" + to + "\"";
    return std::nullopt;
  }
  const auto slash = to.find('/', kScheme.size());
  if (slash == std::string::npos || slash == kScheme.size() || slash + 1 == to.size()) {
    *why = "expected s3://BUCKET/KEY-TEMPLATE with a bucket and a key, got \"" + to + "\"";
    return std::nullopt;
  }
  return Destination{to.substr(kScheme.size(), slash - kScheme.size()), to.substr(slash + 1)};
}

// Replaces {field}s; throws Error naming an unknown field.
std::string expand(const std::string& templ, const std::function<std::string(const std::string&)>& field) {
  std::string out;
  for (size_t i = 0; i < templ.size(); ++i) {
    if (templ[i] == '{') {
      const auto close = templ.find('}', i);
      if (close == std::string::npos) throw Error("unclosed '{' in key template \"" + templ + "\"");
      out += field(templ.substr(i + 1, close - i - 1));
      i = close;
    } else if (templ[i] == '}') {
      throw Error("unmatched '}' in key template \"" + templ + "\"");
    } else {
      out.push_back(templ[i]);
    }
  }
  return out;
}

std::string render(const std::string& templ, const std::string& source, const ExtractContext& ctx) {
  return expand(templ, [&](const std::string& name) -> std::string {
    if (name == "date") return schedule::format_in_zone(ctx.time, ctx.timezone, "%Y-%m-%d");
    if (name == "datetime") return schedule::format_in_zone(ctx.time, ctx.timezone, "%Y-%m-%dT%H-%M-%S");
    if (name == "run_id") return std::to_string(ctx.run_id);
    if (name == "source") return source;
    throw Error("unknown field {" + name + "} in key template \"" + templ +
                "\"; expected {date}, {datetime}, {run_id} or {source}");
  });
}

std::string reason_phrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string status_text(long status) {
  std::string phrase = reason_phrase(status);
  return "HTTP " + std::to_string(status) + (phrase.empty() ? "" : " " + phrase);
}

// Retry-After: delay-seconds or an HTTP-date.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (value.size() > 9) return std::chrono::milliseconds::max();
    return std::chrono::seconds(std::stoll(value));
  }
  std::istringstream in(value);
  date::sys_seconds when;
  in >> date::parse("%a, %d %b %Y %H:%M:%S GMT", when);
  if (in.fail()) return std::nullopt;
  const auto delta = when - std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(delta));
}

// Navigates a dotted path ("info.next", "data.items") in a DOM element; false when absent.

class Run {
 public:
  Run(const SourceConfig& source, const ExtractContext& ctx)
      : source_(source), ctx_(ctx), rng_(ctx.jitter_seed) {}

  ExtractResult execute(storage::ObjectStore& store) {
    std::string why;
    auto destination = parse_destination(source_.to, &why);
    if (!destination) fail(why);
    ExtractResult result;
    result.bucket = destination->bucket;
    result.stream = destination->stream;
    if (result.stream.empty()) {
      try {
        result.key = render(destination->key_template, source_.name, ctx_);
      } catch (const Error& e) {
        fail(e.what());
      }
    } else if (!ctx_.to_stream) {
      fail("writes to stream://" + result.stream + ", but no stream is available here");
    }
    resolve_auth();

    const bool single =
        source_.pagination.kind == PaginationConfig::Kind::kNone && source_.records_path.empty();
    std::string body;  // the object
    std::string url = base_url();
    int64_t page_number = source_.pagination.first_page;
    if (source_.pagination.kind == PaginationConfig::Kind::kPage) url = page_url(page_number);
    bool first_record = true;
    if (!single) body = "[";
    while (true) {
      if (result.pages >= source_.pagination.max_pages) {
        fail("more than " + std::to_string(source_.pagination.max_pages) +
             " pages (pagination.max_pages); nothing was written");
      }
      HttpReply reply = fetch(url, result.attempts);
      ++result.pages;
      simdjson::padded_string padded(reply.body);
      simdjson::dom::element root;
      if (auto error = parser_.parse(padded).get(root)) {
        const auto offset = first_json_error_offset(reply.body).value_or(reply.body.size());
        fail("GET " + url + " -> " + status_text(reply.status) + ": the response is not valid JSON: " +
             simdjson::error_message(error) + " at byte " + std::to_string(offset) + "; nothing was written");
      }
      if (single) {
        body = std::move(reply.body);
        result.records = root.is_array() ? root.get_array().size() : 1;
        break;
      }
      simdjson::dom::element records = root;
      if (!source_.records_path.empty()) {
        if (!json::at_path(root, source_.records_path, records)) {
          fail("GET " + url + ": the response has no \"" + source_.records_path + "\" (records_path)");
        }
      }
      simdjson::dom::array array;
      if (records.get_array().get(array)) {
        fail("GET " + url + ": expected an array of records" +
             (source_.records_path.empty() ? std::string() : " at \"" + source_.records_path + "\""));
      }
      size_t count = 0;
      for (simdjson::dom::element record : array) {
        body += first_record ? "\n" : ",\n";
        body += simdjson::minify(record);
        first_record = false;
        ++count;
      }
      result.records += count;
      // The next page, if any.
      std::optional<std::string> next;
      switch (source_.pagination.kind) {
        case PaginationConfig::Kind::kNone:
          break;
        case PaginationConfig::Kind::kPage:
          if (count > 0) next = page_url(++page_number);
          break;
        case PaginationConfig::Kind::kLinkHeader:
          next = link_next(reply.headers["link"]);
          break;
        case PaginationConfig::Kind::kNextField: {
          simdjson::dom::element value;
          std::string_view text;
          if (json::at_path(root, source_.pagination.next_field, value) && !value.get_string().get(text) &&
              !text.empty())
            next = std::string(text);
          break;
        }
      }
      if (!next) break;
      url = *next;
    }
    if (!single) body += first_record ? "]\n" : "\n]\n";
    check_cancelled();
    if (!result.stream.empty())
      ctx_.to_stream(result.stream, body);
    else
      store.put(result.bucket, result.key, body);
    result.bytes = body.size();
    return result;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error("source " + source_.name + ": " + message);
  }

  void check_cancelled() const {
    if (ctx_.cancel && ctx_.cancel->load()) fail("cancelled (the daemon is stopping); nothing was written");
  }

  std::string env(const std::string& name, const char* field) const {
    std::optional<std::string> value;
    if (ctx_.env) value = ctx_.env(name);
    if (!value) fail("environment variable " + name + " (" + field + ") is not set");
    return *value;
  }

  void resolve_auth() {
    const AuthConfig& auth = source_.auth;
    switch (auth.kind) {
      case AuthConfig::Kind::kNone:
        break;
      case AuthConfig::Kind::kBearer:
        headers_.emplace_back("Authorization", "Bearer " + env(auth.token_env, "auth.token_env"));
        break;
      case AuthConfig::Kind::kApiKey:
        if (auth.query_param.empty())
          headers_.emplace_back(auth.header, env(auth.value_env, "auth.value_env"));
        else
          api_key_query_ = {auth.query_param, env(auth.value_env, "auth.value_env")};
        break;
      case AuthConfig::Kind::kBasic:
        basic_user_ = env(auth.username_env, "auth.username_env");
        basic_password_ = env(auth.password_env, "auth.password_env");
        break;
    }
    for (const auto& [name, value] : source_.headers) headers_.emplace_back(name, value);
  }

  std::string base_url() const {
    std::string url = source_.url;
    for (const auto& [name, value] : source_.query) url = append_query(url, name, value);
    if (!api_key_query_.first.empty()) url = append_query(url, api_key_query_.first, api_key_query_.second);
    return url;
  }

  std::string page_url(int64_t page) const {
    return append_query(append_query(base_url(), source_.pagination.page_param, std::to_string(page)),
                        source_.pagination.limit_param, std::to_string(source_.pagination.limit));
  }

  // The rel="next" target of a Link header.
  static std::optional<std::string> link_next(const std::string& header) {
    size_t start = 0;
    while (start < header.size()) {
      const auto open = header.find('<', start);
      if (open == std::string::npos) break;
      const auto close = header.find('>', open);
      if (close == std::string::npos) break;
      const auto end = header.find(',', close);
      const std::string params =
          header.substr(close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
      if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
        return header.substr(open + 1, close - open - 1);
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return std::nullopt;
  }

  void wait(std::chrono::milliseconds delay) {
    if (ctx_.sleep) {
      ctx_.sleep(delay);
      return;
    }
    // Sleep in short steps so that a cancel is noticed within ~50 ms.
    const auto deadline = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < deadline) {
      check_cancelled();
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
          std::chrono::milliseconds(50), deadline - std::chrono::steady_clock::now()));
    }
  }

  HttpReply fetch(const std::string& url, int& attempts) {
    HttpGet request;
    request.url = url;
    request.headers = headers_;
    request.connect_timeout = source_.connect_timeout;
    request.total_timeout = source_.total_timeout;
    request.max_response_bytes = source_.max_response_bytes;
    request.cancel = ctx_.cancel;
    request.basic_user = basic_user_;
    request.basic_password = basic_password_;
    const RetryConfig& retry = source_.retry;
    std::string last_error;
    for (int attempt = 1;; ++attempt) {
      check_cancelled();
      ++attempts;
      std::optional<std::chrono::milliseconds> retry_after;
      try {
        HttpReply reply = client_.get(request);
        if (reply.status >= 200 && reply.status < 300) return reply;
        last_error = status_text(reply.status);
        if (reply.status != 429 && reply.status < 500) {
          fail("GET " + url + " -> " + last_error + " (not retried)");
        }
        if (auto it = reply.headers.find("retry-after"); it != reply.headers.end())
          retry_after = parse_retry_after(it->second);
      } catch (const TransportError& e) {
        if (e.cancelled()) check_cancelled();
        if (!e.timed_out() && std::string(e.what()).find("max_response_bytes") != std::string::npos) {
          fail("GET " + url + ": " + e.what());
        }
        last_error = e.what();
      }
      if (attempt >= retry.max_attempts) {
        fail("GET " + url + " failed after " + std::to_string(attempt) + " attempt" +
             (attempt > 1 ? "s" : "") + ": " + last_error);
      }
      // Exponential back-off with full jitter: uniform in [0, min(max_delay, base * 2^(attempt-1))].
      const auto cap = std::min<int64_t>(
          retry.max_delay.count(), retry.base_delay.count() * (int64_t{1} << std::min(attempt - 1, 30)));
      std::chrono::milliseconds delay(
          std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(cap, 0))(rng_));
      if (retry_after) {
        if (*retry_after > retry.max_retry_after) {
          fail("GET " + url + " -> " + last_error + " with Retry-After of " +
               std::to_string(retry_after->count() / 1000) + " s, longer than retry.max_retry_after");
        }
        delay = std::max(delay, *retry_after);
      }
      wait(delay);
    }
  }

  const SourceConfig& source_;
  const ExtractContext& ctx_;
  std::mt19937_64 rng_;
  HttpClient client_;
  simdjson::dom::parser parser_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::pair<std::string, std::string> api_key_query_;
  std::string basic_user_, basic_password_;
};

// A small recursive-descent JSON checker, used only to locate the error simdjson reported.
class JsonLocator {
 public:
  explicit JsonLocator(std::string_view text) : s_(text) {}
  std::optional<size_t> first_error() {
    skip_ws();
    if (!value(0)) return pos_;
    skip_ws();
    if (pos_ != s_.size()) return pos_;
    return std::nullopt;
  }

 private:
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool string() {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) return false;
        const char e = s_[pos_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i)
            if (pos_ + i >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[pos_ + i])))
              return false;
          pos_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
      ++pos_;
    }
    return false;
  }
  bool number() {
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t start = pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      return pos_ > start;
    };
    if (pos_ < s_.size() && s_[pos_] == '0')
      ++pos_;
    else if (!digits())
      return false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return false;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return false;
    }
    return true;
  }
  bool value(int depth) {
    if (depth > 1024 || pos_ >= s_.size()) return false;
    const char c = s_[pos_];
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == close) {
        ++pos_;
        return true;
      }
      while (true) {
        if (c == '{') {
          if (pos_ >= s_.size() || s_[pos_] != '"' || !string()) return false;
          skip_ws();
          if (pos_ >= s_.size() || s_[pos_] != ':') return false;
          ++pos_;
          skip_ws();
        }
        if (!value(depth + 1)) return false;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          skip_ws();
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == close) {
          ++pos_;
          return true;
        }
        return false;
      }
    }
    if (c == '"') return string();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return number();
    return false;
  }
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<size_t> first_json_error_offset(std::string_view text) {
  return JsonLocator(text).first_error();
}

std::string validate_destination(const std::string& to) {
  std::string why;
  auto destination = parse_destination(to, &why);
  if (!destination) return why;
  if (!destination->stream.empty()) return "";
  ExtractContext sample;
  sample.time = TimePoint{};
  sample.run_id = 1;
  std::string key;
  try {
    key = render(destination->key_template, "source", sample);
  } catch (const Error& e) {
    return e.what();
  }
  if (std::string problem = storage::validate_key(key); !problem.empty())
    return "invalid key template: " + problem;
  return "";
}

std::string render_key(const std::string& template_key, const std::string& source,
                       const ExtractContext& context) {
  return render(template_key, source, context);
}

ExtractResult run_extract(const SourceConfig& source, const ExtractContext& context,
                          storage::ObjectStore& store) {
  Run run(source, context);
  return run.execute(store);
}

}  // namespace sluice::extract
