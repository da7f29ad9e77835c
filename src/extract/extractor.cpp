#include "extract/extractor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>
#pragma GCC diagnostic pop

#include "common/error.h"
#include "config/destination.h"
#include "extract/http_client.h"
#include "extract/json_scan.h"
#include "schedule/schedule.h"

namespace sluice::extract {
namespace {

// The source's destination as the pipeline loader parsed it, or parsed from `to` for a SourceConfig
// built by hand; nullopt with *why when `to` is not a destination.
std::optional<config::Destination> destination_of(const SourceConfig& source, std::string* why) {
  if (source.destination) return source.destination;
  return config::parse_destination(source.to, why);
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

// The body of one response while the run reads it: a file without a name in the scratch directory,
// emptied before each attempt, gone with this object (or with the process).
class ScratchFile {
 public:
  explicit ScratchFile(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) throw_errno("cannot create the scratch directory " + dir.string(), ec.value());
    }
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      // A file system without O_TMPFILE: a named file, unlinked at once.
      std::string name = (dir / ".sluice-tmp-extract-XXXXXX").string();
      fd_ = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd_ >= 0) ::unlink(name.c_str());
    }
    if (fd_ < 0) throw_errno("cannot create a temporary file in " + dir.string(), errno);
    dir_ = dir;
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() { ::close(fd_); }

  int fd() const { return fd_; }

  // Empties the file for the next attempt.
  void reset() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
      throw_errno("cannot empty a temporary file in " + dir_.string(), errno);
  }

  // Appends a piece of the body; throws SystemError when the disk is full.
  void append(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("cannot keep a response in a temporary file in " + dir_.string(), errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::filesystem::path dir_;
};

// Where the run's output goes: an object written in pieces (published by finish()), or, for a
// stream:// destination, a text handed to ExtractContext::to_stream by finish(). The object is opened
// at the first write, so that a run failing before it leaves nothing behind.
class Output {
 public:
  Output(storage::ObjectStore& store, const ExtractResult& where) : store_(store), where_(where) {}

  void write(std::string_view data) {
    size_ += data.size();
    if (!where_.stream.empty()) {
      body_.append(data);
      return;
    }
    pending_.append(data);
    if (pending_.size() >= kPendingBytes) flush();
  }

  uint64_t size() const { return size_; }

  void finish(const ExtractContext& ctx) {
    if (!where_.stream.empty()) {
      ctx.to_stream(where_.stream, body_);
      return;
    }
    flush();
    writer().commit();
  }

 private:
  static constexpr size_t kPendingBytes = 256 * 1024;

  storage::ObjectWriter& writer() {
    if (!writer_) writer_ = store_.open_writer(where_.bucket, where_.key);
    return *writer_;
  }
  void flush() {
    if (pending_.empty()) return;
    writer().write(pending_);
    pending_.clear();
  }

  storage::ObjectStore& store_;
  const ExtractResult& where_;
  std::unique_ptr<storage::ObjectWriter> writer_;
  std::string pending_;  // small pieces (records) gathered into larger writes
  std::string body_;     // stream:// only
  uint64_t size_ = 0;
};

class Run {
 public:
  Run(const SourceConfig& source, const ExtractContext& ctx)
      : source_(source), ctx_(ctx), rng_(ctx.jitter_seed) {}

  ExtractResult execute(storage::ObjectStore& store) {
    ExtractResult result = destination();
    resolve_auth();
    Output output(store, result);
    ScratchFile scratch(ctx_.scratch_dir.empty() ? std::filesystem::temp_directory_path() : ctx_.scratch_dir);
    read_pages(scratch, output, result);
    check_cancelled();
    result.bytes = output.size();
    output.finish(ctx_);
    return result;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error("source " + source_.name + ": " + message);
  }

  void check_cancelled() const {
    if (ctx_.cancel && ctx_.cancel->load()) fail("cancelled (the daemon is stopping); nothing was written");
  }

  ExtractResult destination() const {
    std::string why;
    const auto destination = destination_of(source_, &why);
    if (!destination) fail(why);
    ExtractResult result;
    if (const auto* stream = config::stream_name(*destination)) result.stream = stream->name;
    if (const auto* object = config::s3_location(*destination)) {
      result.bucket = object->bucket;
      try {
        result.key = render(object->key, source_.name, ctx_);
      } catch (const Error& e) {
        fail(e.what());
      }
    } else if (!ctx_.to_stream) {
      fail("writes to stream://" + result.stream + ", but no stream is available here");
    }
    return result;
  }

  // Fetches every page into `scratch`, checks it and writes its records (or, for a single response
  // without records_path, the body as received) to `output`.
  void read_pages(ScratchFile& scratch, Output& output, ExtractResult& result) {
    const bool single =
        source_.pagination.kind == PaginationConfig::Kind::kNone && source_.records_path.empty();
    std::string url = base_url();
    int64_t page_number = source_.pagination.first_page;
    if (source_.pagination.kind == PaginationConfig::Kind::kPage) url = page_url(page_number);
    bool first_record = true;
    uint64_t total_bytes = 0;
    if (!single) output.write("[");
    while (true) {
      if (result.pages >= source_.pagination.max_pages) {
        fail("more than " + std::to_string(source_.pagination.max_pages) +
             " pages (pagination.max_pages); nothing was written");
      }
      HttpReply reply = fetch(url, result, scratch, total_bytes);
      total_bytes += reply.body_bytes;
      ++result.pages;
      JsonScanOptions options;
      if (!single) options.records_path = source_.records_path;
      if (source_.pagination.kind == PaginationConfig::Kind::kNextField)
        options.string_path = source_.pagination.next_field;
      options.on_record = [&](std::string_view record) {
        output.write(first_record ? "\n" : ",\n");
        output.write(record);
        first_record = false;
      };
      options.on_chunk = [&](std::string_view chunk) {
        check_cancelled();
        if (single) output.write(chunk);
      };
      const JsonScanResult scan = scan_json_file(scratch.fd(), options);
      if (scan.error) {
        fail("GET " + url + " -> " + status_text(reply.status) + ": the response is not valid JSON: " +
             scan.error->reason + " at byte " + std::to_string(scan.error->offset) + "; nothing was written");
      }
      if (single) {
        result.records = scan.root_is_array ? scan.root_elements : 1;
        return;
      }
      check_records(url, scan);
      result.records += scan.record_count;
      auto next = next_page(reply, scan, page_number);
      if (!next) break;
      url = *next;
    }
    output.write(first_record ? "]\n" : "\n]\n");
  }

  void check_records(const std::string& url, const JsonScanResult& scan) const {
    if (scan.records == JsonScanResult::Records::kMissing) {
      fail("GET " + url + ": the response has no \"" + source_.records_path + "\" (records_path)");
    }
    if (scan.records == JsonScanResult::Records::kNotArray) {
      fail("GET " + url + ": expected an array of records" +
           (source_.records_path.empty() ? std::string() : " at \"" + source_.records_path + "\""));
    }
  }

  std::optional<std::string> next_page(HttpReply& reply, const JsonScanResult& scan,
                                       int64_t& page_number) const {
    switch (source_.pagination.kind) {
      case PaginationConfig::Kind::kNone:
        return std::nullopt;
      case PaginationConfig::Kind::kPage:
        if (scan.record_count == 0) return std::nullopt;
        return page_url(++page_number);
      case PaginationConfig::Kind::kLinkHeader:
        return link_next(reply.headers["link"]);
      case PaginationConfig::Kind::kNextField:
        if (!scan.string_value || scan.string_value->empty()) return std::nullopt;
        return scan.string_value;
    }
    return std::nullopt;
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

  // One page, retried per the source's policy, into `scratch`. `total_bytes` came before it: the
  // response may take at most what max_total_bytes leaves.
  HttpReply fetch(const std::string& url, ExtractResult& result, ScratchFile& scratch, uint64_t total_bytes) {
    const uint64_t left = source_.max_total_bytes - std::min(total_bytes, source_.max_total_bytes);
    HttpGet request;
    request.url = url;
    request.headers = headers_;
    request.connect_timeout = source_.connect_timeout;
    request.total_timeout = source_.total_timeout;
    request.max_response_bytes = std::min(source_.max_response_bytes, left);
    request.cancel = ctx_.cancel;
    request.basic_user = basic_user_;
    request.basic_password = basic_password_;
    request.body_sink = [&scratch](std::string_view chunk) { scratch.append(chunk); };
    std::string last_error;
    for (int attempt = 1;; ++attempt) {
      check_cancelled();
      ++result.attempts;
      scratch.reset();
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
        if (e.too_large() && left < source_.max_response_bytes) {
          fail("page " + std::to_string(result.pages + 1) + " (GET " + url + ") would take the run over " +
               std::to_string(source_.max_total_bytes) +
               " bytes, the cap of all pages together (max_total_bytes); " + std::to_string(total_bytes) +
               " bytes came before it; nothing was written");
        }
        if (e.too_large()) fail("GET " + url + ": " + e.what());
        last_error = e.what();
      }
      if (attempt >= source_.retry.max_attempts) {
        fail("GET " + url + " failed after " + std::to_string(attempt) + " attempt" +
             (attempt > 1 ? "s" : "") + ": " + last_error);
      }
      wait(backoff(attempt, url, last_error, retry_after));
    }
  }

  // Exponential back-off with full jitter: uniform in [0, min(max_delay, base * 2^(attempt-1))], but
  // at least what the server asked for with Retry-After (over retry.max_retry_after fails the run).
  std::chrono::milliseconds backoff(int attempt, const std::string& url, const std::string& last_error,
                                    std::optional<std::chrono::milliseconds> retry_after) {
    const RetryConfig& retry = source_.retry;
    const auto cap = std::min<int64_t>(retry.max_delay.count(),
                                       retry.base_delay.count() * (int64_t{1} << std::min(attempt - 1, 30)));
    std::chrono::milliseconds delay(
        std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(cap, 0))(rng_));
    if (retry_after) {
      if (*retry_after > retry.max_retry_after) {
        fail("GET " + url + " -> " + last_error + " with Retry-After of " +
             std::to_string(retry_after->count() / 1000) + " s, longer than retry.max_retry_after");
      }
      delay = std::max(delay, *retry_after);
    }
    return delay;
  }

  const SourceConfig& source_;
  const ExtractContext& ctx_;
  std::mt19937_64 rng_;
  HttpClient client_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::pair<std::string, std::string> api_key_query_;
  std::string basic_user_, basic_password_;
};

}  // namespace

std::optional<size_t> first_json_error_offset(std::string_view text) {
  const JsonScanResult scan = scan_json(text);
  if (!scan.error) return std::nullopt;
  return static_cast<size_t>(scan.error->offset);
}

std::string validate_destination(const std::string& to) {
  std::string why;
  const auto destination = config::parse_destination(to, &why);
  if (!destination) return why;
  const auto* object = config::s3_location(*destination);
  if (!object) return "";
  ExtractContext sample;
  sample.time = TimePoint{};
  sample.run_id = 1;
  std::string key;
  try {
    key = render(object->key, "source", sample);
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
  try {
    return run.execute(store);
  } catch (const SystemError& e) {
    throw SystemError("source " + source.name + ": " + e.what());  // the run's own errors name it already
  }
}

}  // namespace sluice::extract
