// The S3 routes behind a real HttpServer: GetObject's body goes with a Content-Length (not chunked),
// HEAD sends the head only, and the connection stays usable for the next request.
#include <gmock/gmock.h>

#include "server/http_server.h"
#include "tests/aws/s3/s3_fixture.h"
#include "tests/server/reply.h"

namespace sluice::aws::s3_test {
namespace {

using ::testing::HasSubstr;

TEST_F(S3Test, GetAndHeadOverTheWireUseContentLengthAndKeepTheConnection) {
  const std::string data(3 << 20, 'z');
  ASSERT_TRUE(store_->put("declared", "wire/object", data).size == data.size());
  server::HttpServer server({}, std::move(*router_));
  server.start();
  server::testing::RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  const std::string auth =
      "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, "
      "SignedHeaders=host, "
      "Signature=00\r\n";
  std::string pending;
  client.send("HEAD /declared/wire/object HTTP/1.1\r\nHost: t\r\n" + auth + "\r\n");
  // The head only: read up to its end (read_reply would wait for Content-Length bytes of body).
  const std::string head = client.read_until("\r\n\r\n");
  EXPECT_THAT(head, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(head, HasSubstr("Content-Length: " + std::to_string(data.size()) + "\r\n"));
  EXPECT_THAT(head, ::testing::Not(HasSubstr("chunked")));
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");  // no body after a HEAD's head

  client.send("GET /declared/wire/object HTTP/1.1\r\nHost: t\r\nRange: bytes=1-\r\n" + auth + "\r\n");
  const auto get = server::testing::read_reply(client, pending);
  EXPECT_EQ(get.status, 206);
  EXPECT_EQ(get.header("Transfer-Encoding"), "");
  EXPECT_EQ(get.body.size(), data.size() - 1);

  client.send("GET /declared/none HTTP/1.1\r\nHost: t\r\n" + auth + "\r\n");
  const auto missing = server::testing::read_reply(client, pending);
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr("<Code>NoSuchKey</Code>"));
  server.stop();
}

}  // namespace
}  // namespace sluice::aws::s3_test
