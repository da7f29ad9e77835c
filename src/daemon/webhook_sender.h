// WebhookSender: POSTs alert notifications (JSON) to the URLs dashboards declare, on a thread of its
// own so that neither the alert loop nor a page's request waits on a slow receiver. Each POST has a
// 5 s deadline and is tried three times (1 s, then 2 s apart); what still fails is logged with the URL
// and the reason. At most 256 notifications wait; past that the oldest is dropped (and logged).
// Only http and https, no redirects followed.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::daemon {

class WebhookSender {
 public:
  WebhookSender();
  ~WebhookSender();  // sends nothing more; a POST in progress ends within its deadline
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues `body` (JSON) for `url`. Never blocks, never throws but for memory.
  void send(std::string url, std::string body);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// One POST of `body` to `url` with Content-Type application/json; "" when the receiver answered 2xx,
// otherwise the reason in one line.
std::string post_json(const std::string& url, const std::string& body);

}  // namespace sluice::daemon
