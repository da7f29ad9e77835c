#include "extract/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>

namespace sluice::extract {
namespace {

// curl_global_init is not thread-safe: done once, before the first handle.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpReply* reply;
  uint64_t max_bytes;
  bool too_large = false;
  const std::atomic<bool>* cancel;
  const std::function<void(std::string_view)>* sink;
  std::exception_ptr sink_error;  // what the sink threw; rethrown after curl returns
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->reply->body_bytes + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  if (*t->sink) {
    try {
      (*t->sink)(std::string_view(data, n));
    } catch (...) {
      t->sink_error = std::current_exception();
      return 0;  // an exception must not cross libcurl's C frames
    }
  } else {
    t->reply->body.append(data, n);
  }
  t->reply->body_bytes += n;
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) t->reply->headers.clear();  // a new response (after 100 Continue)
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    t->reply->headers[name] = std::string(value);
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->cancel && t->cancel->load() ? 1 : 0;
}

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string append_query(const std::string& url, const std::string& name, const std::string& value) {
  const auto hash = url.find('#');
  std::string base = url.substr(0, hash);
  const char sep =
      base.find('?') == std::string::npos ? '?' : (base.back() == '?' || base.back() == '&' ? '\0' : '&');
  if (sep) base.push_back(sep);
  return base + url_encode(name) + "=" + url_encode(value);
}

struct HttpClient::Impl {
  CURL* curl = nullptr;
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  init_curl_once();
  impl_->curl = curl_easy_init();
  if (!impl_->curl) throw Error("cannot initialise libcurl");
}

HttpClient::~HttpClient() { curl_easy_cleanup(impl_->curl); }

HttpReply HttpClient::get(const HttpGet& request) {
  CURL* curl = impl_->curl;
  curl_easy_reset(curl);
  HttpReply reply;
  Transfer transfer{&reply, request.max_response_bytes, false, request.cancel, &request.body_sink, nullptr};
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers)
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, &curl_slist_free_all);

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  if (request.post_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.post_body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.post_body->size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  // Redirects are followed (APIs move), a few at most, and never to another scheme than http(s).
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate/br as the server offers
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "sluice/0.1");
  // A Content-Length over the limit fails before the body is downloaded (the callback still counts
  // what arrives, for chunked or compressed bodies).
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_response_bytes));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  if (!request.basic_user.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, request.basic_user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, request.basic_password.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);
  if (transfer.sink_error) std::rethrow_exception(transfer.sink_error);
  if (rc != CURLE_OK) {
    if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      throw TransportError("response larger than " + std::to_string(request.max_response_bytes) +
                               " bytes (max_response_bytes)",
                           false, false, true);
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) throw TransportError("cancelled", false, true);
    const bool timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    throw TransportError(
        timed_out ? "timed out (" + std::string(curl_easy_strerror(rc)) + ")" : curl_easy_strerror(rc),
        timed_out, false);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace sluice::extract
