// Test fixture for the S3 API: a LocalObjectStore in a temporary directory, the S3 routes in a path
// style group (claimed by a SigV4 scope naming s3) and a virtual-hosted one, and helpers that build
// requests and read streamed answers through Router::serve.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aws/s3/s3.h"
#include "aws/sigv4/sigv4.h"
#include "server/router.h"
#include "storage/local_object_store.h"

namespace sluice::aws::s3_test {

// Counts the ObjectCreated events committed (what would reach processors).
class CountingEventLog : public storage::ObjectEventLog {
 public:
  uint64_t prepare(const storage::ObjectEvent& event) override {
    std::lock_guard lock(mutex_);
    prepared_.push_back(event);
    return prepared_.size() - 1;
  }
  void commit(uint64_t id) override {
    std::lock_guard lock(mutex_);
    committed_.push_back(prepared_.at(id));
  }
  void abort(uint64_t) override {}
  void recover(const std::function<bool(const storage::ObjectEvent&)>&) override {}
  std::vector<storage::ObjectEvent> committed() {
    std::lock_guard lock(mutex_);
    return committed_;
  }

 private:
  std::mutex mutex_;
  std::vector<storage::ObjectEvent> prepared_;
  std::vector<storage::ObjectEvent> committed_;
};

// A streamed answer's body, gathered.
class StringWriter : public server::BodyWriter {
 public:
  bool write(std::string_view data) override {
    body.append(data);
    return true;
  }
  std::string body;
};

struct Answer {
  int status = 0;
  server::Headers headers;
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class S3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("sluice-s3-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    open();
  }
  void TearDown() override {
    router_.reset();
    store_.reset();
    std::filesystem::remove_all(root_);
  }

  // (Re)opens the store and the routes over the same directories, as a restart would.
  void open() {
    router_.reset();
    store_.reset();
    store_ = std::make_unique<storage::LocalObjectStore>(root_ / "objects",
                                                         std::vector<std::string>{"declared"}, &events_);
    router_ = std::make_unique<server::Router>();
    S3Backend backend{.objects = store_.get(),
                      .multipart_directory = root_ / "multipart",
                      .declared_bucket = [](std::string_view b) { return b == "declared"; }};
    add_s3_routes(
        router_->group(
            {.name = "s3",
             .claims = [](const server::HttpRequest& head) { return signed_for_service(head, "s3"); },
             .errors = s3_errors()}),
        backend);
    add_s3_routes(
        router_->group(
            {.name = "s3-vhost", .host_suffix = "localhost", .host_param = "bucket", .errors = s3_errors()}),
        backend);
  }

  static server::HttpRequest make(const std::string& method, const std::string& target,
                                  server::Headers headers = {}, std::string body = {}) {
    server::HttpRequest r;
    r.method = method;
    r.target = target;
    const auto q = target.find('?');
    r.raw_path = target.substr(0, q);
    r.raw_query = q == std::string::npos ? "" : target.substr(q + 1);
    r.path = server::url_decode(r.raw_path, false);
    for (size_t at = 0; !r.raw_query.empty() && at <= r.raw_query.size();) {
      size_t amp = r.raw_query.find('&', at);
      if (amp == std::string::npos) amp = r.raw_query.size();
      const std::string pair = r.raw_query.substr(at, amp - at);
      const size_t eq = pair.find('=');
      const std::string name = server::url_decode(pair.substr(0, eq), true);
      const std::string value = eq == std::string::npos ? "" : server::url_decode(pair.substr(eq + 1), true);
      r.query[name] = value;
      r.query_params.emplace_back(name, value);
      at = amp + 1;
    }
    if (!headers.count("Authorization") && !headers.count("Host")) {
      headers["Authorization"] =
          "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, "
          "Signature=00";
    }
    r.headers = std::move(headers);
    r.body = std::move(body);
    return r;
  }

  Answer call(const std::string& method, const std::string& target, server::Headers headers = {},
              std::string body = {}) {
    auto response = router_->serve(make(method, target, std::move(headers), std::move(body)));
    Answer answer{response.status, response.headers, response.body};
    if (response.stream) {
      StringWriter writer;
      if (method != "HEAD") response.stream(writer);
      answer.body = writer.body;
      if (response.stream_length) answer.headers["Content-Length"] = std::to_string(*response.stream_length);
    }
    return answer;
  }

  std::filesystem::path root_;
  CountingEventLog events_;
  std::unique_ptr<storage::LocalObjectStore> store_;
  std::unique_ptr<server::Router> router_;
};

}  // namespace sluice::aws::s3_test
