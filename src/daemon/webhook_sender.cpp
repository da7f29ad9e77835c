#include "daemon/webhook_sender.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

namespace sluice::daemon {
namespace {

constexpr size_t kMaxQueued = 256;
constexpr long kDeadlineMs = 5000;
constexpr int kAttempts = 3;

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

std::string post_json(const std::string& url, const std::string& body) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return "cannot start an HTTP client";
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, kDeadlineMs);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) return curl_easy_strerror(rc);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) return "the receiver answered HTTP " + std::to_string(status);
  return "";
}

WebhookSender::WebhookSender() : thread_([this] { run(); }) {}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WebhookSender::send(std::string url, std::string body) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) {
      spdlog::warn("webhook: {} notifications wait; dropping the oldest, for {}", queue_.size(),
                   queue_.front().first);
      queue_.pop_front();
    }
    queue_.emplace_back(std::move(url), std::move(body));
  }
  cv_.notify_all();
}

void WebhookSender::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto [url, body] = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    std::string why;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
      why = post_json(url, body);
      if (why.empty()) break;
      std::unique_lock pause(mutex_);
      if (cv_.wait_for(pause, std::chrono::seconds(attempt), [&] { return stopping_; })) break;
    }
    if (!why.empty()) spdlog::warn("webhook {}: not delivered after {} attempts: {}", url, kAttempts, why);
    lock.lock();
  }
}

}  // namespace sluice::daemon
