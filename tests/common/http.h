// Test helper: one HTTP request with libcurl — any method, extra headers, a deadline — answered as
// status, body and the raw response head. Link CURL::libcurl.
#pragma once

#include <curl/curl.h>

#include <string>
#include <vector>

namespace sluice::testing_util {

struct HttpResult {
  long status = 0;  // 0: the connection failed or timed out
  std::string body;
  std::string headers;  // the raw response head
};

// One request with any method and extra headers ("Name: value"); `timeout_ms` bounds the whole
// transfer (the client gives up then); the status is 0 when the connection failed or timed out. The
// response head is kept whole, for the headers a test looks for.
inline HttpResult http_request(const std::string& method, const std::string& url,
                               const std::string& body = "", const std::vector<std::string>& headers = {},
                               long timeout_ms = 60'000) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET" && method != "HEAD" && method != "DELETE") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  auto append = +[](char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  };
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

}  // namespace sluice::testing_util
