// Fuzzes the AWS JSON 1.1 dispatch: the router's X-Amz-Target lookup (and its path matching, for the
// other groups' routes) and aws::parse_body with the typed member readers and base64, as every JSON
// service's handlers use them. The input is a request (fuzz_request.h). Router::serve never throws;
// a crash, leak or overflow is the bug.
#include <cstdint>
#include <string_view>

#include "aws/protocol/json_protocol.h"
#include "fuzz/fuzz_request.h"
#include "server/error_shapes.h"
#include "server/router.h"

namespace {

using namespace sluice;

server::HttpResponse put_record(const server::RouteRequest& request) {
  const nlohmann::json body = aws::parse_body(request);
  const std::string stream = aws::required_string(body, "StreamName", 1, 128);
  const std::string data = aws::required_string(body, "Data", 0, 1 << 20);
  if (!aws::base64_decode(data)) aws::fail(400, "ValidationException", "Data is not base64");
  (void)aws::optional_string(body, "PartitionKey", 1, 256);
  (void)aws::optional_integer(body, "Limit", 1, 10000);
  (void)aws::optional_boolean(body, "Flag");
  return aws::json_reply({{"StreamName", stream}, {"Data", aws::base64_encode(data)}});
}

const server::Router& router() {
  static const server::Router instance = [] {
    server::Router r;
    auto& kinesis = r.group({.name = "kinesis", .errors = server::aws_json_errors()});
    kinesis.operation("Kinesis_20131202", "PutRecord", put_record);
    kinesis.operation("Kinesis_20131202", "ListStreams", [](const server::RouteRequest& request) {
      return aws::json_reply(aws::parse_body(request));
    });
    auto& glue = r.group({.name = "glue", .errors = server::aws_json_errors()});
    glue.operation_fallback("AWSGlue", [](const server::RouteRequest& request) {
      return aws::json_reply(
          {{"operation", std::string(request.operation)}, {"body", aws::parse_body(request)}});
    });
    auto& native = r.group({.name = "native", .path_prefix = "/v1"});
    native.route("GET", "/v1/streams/{stream}/records/{rest...}", [](const server::RouteRequest& request) {
      return server::HttpResponse{200, {}, request.param("stream") + request.param("rest"), {}};
    });
    return r;
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const server::HttpRequest request =
      fuzz::request_from(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)router().serve(request);
  return 0;
}
