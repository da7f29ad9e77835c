#include "storage/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "aws/sigv4/sigv4.h"
#include "common/error.h"
#include "storage/s3_xml.h"

namespace sluice::storage {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// The keys of [profile] in an AWS shared credentials file (INI: "[name]", "key = value", '#'/';'
// comments).
std::vector<std::pair<std::string, std::string>> read_profile(const std::filesystem::path& file,
                                                              const std::string& profile) {
  std::ifstream in(file);
  if (!in) throw Error("cannot read the AWS credentials file " + file.string());
  std::vector<std::pair<std::string, std::string>> keys;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[' && text.back() == ']') {
      inside = trim(text.substr(1, text.size() - 2)) == profile;
      continue;
    }
    const auto eq = text.find('=');
    if (inside && eq != std::string::npos)
      keys.emplace_back(lower(trim(text.substr(0, eq))), trim(text.substr(eq + 1)));
  }
  return keys;
}

// "YYYYMMDDTHHMMSSZ" of now, as SigV4 signs it.
std::string amz_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string join_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out += '&';
    out += aws::sigv4::uri_encode(name, false);
    if (!value.empty()) out += "=" + aws::sigv4::uri_encode(value, false);
  }
  return out;
}

struct Upload {
  std::string_view data;
  size_t offset = 0;
};

size_t read_body(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->data.size() - upload->offset);
  std::copy_n(upload->data.data() + upload->offset, n, buffer);
  upload->offset += n;
  return n;
}

// Lets libcurl send the body again (a retried connection inside one attempt).
int seek_body(void* user, curl_off_t offset, int origin) {
  auto* upload = static_cast<Upload*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > upload->data.size())
    return CURL_SEEKFUNC_CANTSEEK;
  upload->offset = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t write_header(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<server::Headers*>(user);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new answer (after a 100 Continue): only the last one counts
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    (*headers)[std::string(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

void load_default_credentials(S3ClientConfig& config) {
  if (!config.access_key_id.empty()) return;
  if (!env("AWS_ACCESS_KEY_ID").empty()) {
    config.access_key_id = env("AWS_ACCESS_KEY_ID");
    config.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    config.session_token = env("AWS_SESSION_TOKEN");
    return;
  }
  std::filesystem::path file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty() && !env("HOME").empty())
    file = std::filesystem::path(env("HOME")) / ".aws" / "credentials";
  std::error_code ec;
  if (file.empty() || !std::filesystem::exists(file, ec)) return;
  const std::string profile = env("AWS_PROFILE").empty() ? "default" : env("AWS_PROFILE");
  for (const auto& [name, value] : read_profile(file, profile)) {
    if (name == "aws_access_key_id") config.access_key_id = value;
    if (name == "aws_secret_access_key") config.secret_access_key = value;
    if (name == "aws_session_token") config.session_token = value;
  }
}

std::string S3Response::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct S3Client::Attempt {
  CURLcode curl = CURLE_OK;
  std::string curl_error;
  S3Response response;
};

// Idle libcurl handles, reused so that their connections are.
struct S3Client::HandlePool {
  static constexpr size_t kMaxIdle = 8;
  std::mutex mutex;
  std::vector<CurlHandle> idle;

  CurlHandle take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CurlHandle handle = std::move(idle.back());
        idle.pop_back();
        curl_easy_reset(handle.get());
        return handle;
      }
    }
    CurlHandle handle(curl_easy_init());
    if (!handle) throw SystemError("cannot start an HTTP client (curl_easy_init failed)");
    return handle;
  }
  void give_back(CurlHandle handle) {
    std::lock_guard lock(mutex);
    if (idle.size() < kMaxIdle) idle.push_back(std::move(handle));
  }
};

S3Client::S3Client(S3ClientConfig config)
    : config_(std::move(config)), handles_(std::make_unique<HandlePool>()) {
  std::string endpoint =
      config_.endpoint.empty() ? "https://s3." + config_.region + ".amazonaws.com" : config_.endpoint;
  const auto scheme_end = endpoint.find("://");
  if (scheme_end == std::string::npos)
    throw Error("S3 endpoint " + endpoint + " is not an http:// or https:// URL");
  scheme_ = lower(endpoint.substr(0, scheme_end));
  if (scheme_ != "http" && scheme_ != "https")
    throw Error("S3 endpoint " + endpoint + " is not an http:// or https:// URL");
  std::string rest = endpoint.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  host_ = lower(rest.substr(0, slash));
  if (host_.empty()) throw Error("S3 endpoint " + endpoint + " names no host");
  if (slash != std::string::npos) base_path_ = rest.substr(slash);
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
}

S3Client::~S3Client() = default;

std::string S3Client::url_of(const S3Request& request) const {
  const bool virtual_host = !config_.path_style && !request.bucket.empty();
  std::string url =
      scheme_ + "://" + (virtual_host ? request.bucket + "." + host_ : host_) + base_path_ + "/";
  if (!virtual_host && !request.bucket.empty()) {
    url += request.bucket;
    if (!request.key.empty()) url += "/";
  }
  url += aws::sigv4::uri_encode(request.key, true);
  const std::string query = join_query(request.query);
  if (!query.empty()) url += "?" + query;
  return url;
}

bool S3Client::retryable(long status, std::string_view code) noexcept {
  if (status >= 500 || status == 429) return true;
  static constexpr std::string_view kCodes[] = {
      "SlowDown",         "Throttling",           "ThrottlingException",
      "RequestThrottled", "RequestLimitExceeded", "TooManyRequestsException",
      "RequestTimeout",   "InternalError",        "ServiceUnavailable"};
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

std::vector<std::pair<std::string, std::string>> S3Client::signed_headers(
    const S3Request& request, const std::string& host, const std::string& raw_path,
    const std::string& raw_query) const {
  namespace sigv4 = aws::sigv4;
  const std::string amz_date = amz_date_now();
  server::HttpRequest canonical;
  canonical.method = request.method;
  canonical.raw_path = raw_path;
  canonical.raw_query = raw_query;
  canonical.headers["host"] = host;
  canonical.headers["x-amz-date"] = amz_date;
  canonical.headers["x-amz-content-sha256"] = sigv4::sha256_hex(request.body);
  if (!config_.session_token.empty()) canonical.headers["x-amz-security-token"] = config_.session_token;
  for (const auto& [name, value] : request.headers) canonical.headers[lower(name)] = value;

  std::vector<std::pair<std::string, std::string>> out;
  sigv4::SignatureClaim claim;
  for (const auto& [name, value] : canonical.headers) {
    claim.signed_headers.push_back(lower(name));
    out.emplace_back(name, value);
  }
  if (config_.access_key_id.empty()) return out;  // unsigned
  std::sort(claim.signed_headers.begin(), claim.signed_headers.end());
  const sigv4::CredentialScope scope{.access_key_id = config_.access_key_id,
                                     .date = amz_date.substr(0, 8),
                                     .region = config_.region,
                                     .service = "s3"};
  const std::string request_text =
      sigv4::canonical_request(canonical, claim, canonical.headers["x-amz-content-sha256"], true);
  const std::string signature =
      sigv4::signature(sigv4::signing_key(config_.secret_access_key, scope.date, scope.region, scope.service),
                       sigv4::string_to_sign(amz_date, scope.scope(), request_text));
  std::string names;
  for (const auto& name : claim.signed_headers) names += (names.empty() ? "" : ";") + name;
  out.emplace_back("Authorization", std::string(sigv4::kAlgorithm) + " Credential=" + config_.access_key_id +
                                        "/" + scope.scope() + ", SignedHeaders=" + names +
                                        ", Signature=" + signature);
  return out;
}

S3Client::Attempt S3Client::attempt(const S3Request& request) const {
  const std::string url = url_of(request);
  const auto authority_end = url.find('/', scheme_.size() + 3);
  const std::string host = url.substr(scheme_.size() + 3, authority_end - scheme_.size() - 3);
  const std::string target = url.substr(authority_end);
  const auto q = target.find('?');
  const auto headers =
      signed_headers(request, host, target.substr(0, q), q == std::string::npos ? "" : target.substr(q + 1));
  std::unique_ptr<curl_slist, SlistDeleter> list;
  auto append = [&](const std::string& line) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (!grown) throw SystemError("cannot build an HTTP request to " + url + ": out of memory");
    static_cast<void>(list.release());
    list.reset(grown);
  };
  for (const auto& [name, value] : headers) append(name + ": " + value);
  append("Expect:");  // no 100-continue round trip

  CurlHandle handle = handles_->take();
  CURL* curl = handle.get();
  Attempt result;
  Upload upload{request.body};
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.response.headers);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_body);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &upload);
    if (request.method == "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  result.curl = curl_easy_perform(curl);
  if (result.curl == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.response.status);
  } else {
    result.curl_error = error[0] ? error : curl_easy_strerror(result.curl);
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  handles_->give_back(std::move(handle));
  return result;
}

S3Response S3Client::send(const S3Request& request, std::string_view what) const {
  std::string last;
  const int attempts = std::max(1, config_.max_attempts);
  for (int tried = 1;; ++tried) {
    Attempt a = attempt(request);
    if (a.curl == CURLE_URL_MALFORMAT || a.curl == CURLE_UNSUPPORTED_PROTOCOL)
      throw Error(std::string(what) + ": cannot reach " + url_of(request) + ": " + a.curl_error);
    if (a.curl != CURLE_OK) {
      last = "cannot reach " + url_of(request) + ": " + a.curl_error;
    } else {
      // S3 may answer a CompleteMultipartUpload 200 with an error document: that counts as its error.
      const bool error_document =
          a.response.status >= 300 ||
          (request.method == "POST" && a.response.body.find("<Error>") != std::string::npos);
      const auto error = error_document ? s3xml::parse_error(a.response.body) : s3xml::ErrorInfo{};
      if (!retryable(a.response.status, error.code)) return std::move(a.response);
      last = "S3 answered " + std::to_string(a.response.status) +
             (error.code.empty() ? "" : " " + error.code) +
             (error.message.empty() ? "" : ": " + error.message);
    }
    if (tried >= attempts) break;
    // Exponential delay with jitter: half the delay fixed, half random, so that clients spread out.
    const auto cap = config_.retry_max_delay.count();
    const int64_t delay = std::min<int64_t>(cap, config_.retry_base_delay.count() << std::min(tried - 1, 20));
    std::random_device seed;
    std::uniform_int_distribution<int64_t> jitter(delay / 2, std::max<int64_t>(delay / 2, delay));
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(seed)));
  }
  throw SystemError(std::string(what) + ": failed " + std::to_string(attempts) + " times, last: " + last);
}

}  // namespace sluice::storage
