// The S3 API through Router::serve: response shapes, listings, ranges, conditional requests, errors,
// copies, batch deletes and hostile XML.
#include <gmock/gmock.h>

#include "tests/aws/s3/s3_fixture.h"

namespace sluice::aws::s3_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kHelloMd5 = "5d41402abc4b2a76b9719d911017c592";  // md5("hello"), from coreutils

TEST_F(S3Test, PutThenGetRoundTripsBytesContentTypeAndMetadata) {
  ASSERT_EQ(call("PUT", "/declared/dir/a.txt", {{"Content-Type", "text/plain"}, {"X-Amz-Meta-Owner", "Ann"}},
                 "hello")
                .status,
            200);
  const auto get = call("GET", "/declared/dir/a.txt");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "hello");
  EXPECT_EQ(get.header("ETag"), std::string("\"") + kHelloMd5 + "\"");
  EXPECT_EQ(get.header("Content-Type"), "text/plain");
  EXPECT_EQ(get.header("x-amz-meta-owner"), "Ann");
  EXPECT_EQ(get.header("Content-Length"), "5");
  EXPECT_THAT(get.header("Last-Modified"), HasSubstr(" GMT"));
  EXPECT_FALSE(get.header("x-amz-request-id").empty());

  const auto head = call("HEAD", "/declared/dir/a.txt");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "5");
  EXPECT_EQ(head.header("x-amz-meta-owner"), "Ann");
}

TEST_F(S3Test, ListingsShowObjectsButNeverTheirMetadata) {
  call("PUT", "/declared/a/1", {{"X-Amz-Meta-K", "v"}}, "x");
  call("PUT", "/declared/a/2", {}, "x");
  call("PUT", "/declared/b", {}, "x");
  call("PUT", "/declared/c", {}, "x");
  const auto list = call("GET", "/declared?list-type=2&delimiter=/");
  ASSERT_EQ(list.status, 200);
  EXPECT_THAT(list.body, HasSubstr("xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""));
  EXPECT_THAT(list.body, HasSubstr("<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"));
  EXPECT_THAT(list.body, HasSubstr("<Key>b</Key>"));
  EXPECT_THAT(list.body, HasSubstr("<KeyCount>3</KeyCount>"));
  EXPECT_THAT(list.body, Not(HasSubstr("sluice")));  // no side files as keys

  // Pages of one key, followed through continuation tokens, give every key once, in order.
  std::vector<std::string> keys;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    const auto reply = call(
        "GET", "/declared?list-type=2&max-keys=1" + (token.empty() ? "" : "&continuation-token=" + token));
    const auto at = reply.body.find("<Key>");
    if (at != std::string::npos)
      keys.push_back(reply.body.substr(at + 5, reply.body.find("</Key>") - at - 5));
    const auto next = reply.body.find("<NextContinuationToken>");
    if (next == std::string::npos) break;
    token = reply.body.substr(next + 23, reply.body.find("</NextContinuationToken>") - next - 23);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2", "b", "c"}));

  const auto after = call("GET", "/declared?list-type=2&start-after=b&prefix=");
  EXPECT_THAT(after.body, HasSubstr("<Key>c</Key>"));
  EXPECT_THAT(after.body, Not(HasSubstr("<Key>b</Key>")));
}

TEST_F(S3Test, ListObjectsV1GivesNextMarkerWithADelimiterAndUrlEncoding) {
  call("PUT", "/declared/a/1", {}, "x");
  call("PUT", "/declared/a/2", {}, "x");
  call("PUT", "/declared/b c", {}, "x");
  const auto first = call("GET", "/declared?delimiter=/&max-keys=1");
  EXPECT_THAT(first.body, HasSubstr("<IsTruncated>true</IsTruncated>"));
  EXPECT_THAT(first.body, HasSubstr("<NextMarker>a/</NextMarker>"));
  const auto second = call("GET", "/declared?delimiter=/&max-keys=1&marker=a/&encoding-type=url");
  EXPECT_THAT(second.body, HasSubstr("<Key>b%20c</Key>"));
  EXPECT_THAT(second.body, Not(HasSubstr("<Key>a/")));
}

TEST_F(S3Test, RangesGive206WithContentRangeAnd416BeyondTheEnd) {
  call("PUT", "/declared/r", {}, "0123456789");
  const auto middle = call("GET", "/declared/r", {{"Range", "bytes=2-4"}});
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.body, "234");
  EXPECT_EQ(middle.header("Content-Range"), "bytes 2-4/10");
  const auto suffix = call("GET", "/declared/r", {{"Range", "bytes=-3"}});
  EXPECT_EQ(suffix.body, "789");
  EXPECT_EQ(suffix.header("Content-Range"), "bytes 7-9/10");
  EXPECT_EQ(call("GET", "/declared/r", {{"Range", "bytes=8-"}}).body, "89");
  EXPECT_EQ(call("GET", "/declared/r", {{"Range", "bytes=8-100"}}).body, "89");
  const auto beyond = call("GET", "/declared/r", {{"Range", "bytes=10-"}});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_THAT(beyond.body, HasSubstr("<Code>InvalidRange</Code>"));
  EXPECT_EQ(beyond.header("Content-Range"), "bytes */10");
  EXPECT_EQ(call("GET", "/declared/r", {{"Range", "bytes=-0"}}).status, 416);
  EXPECT_EQ(call("GET", "/declared/r", {{"Range", "lines=1-2"}}).body, "0123456789");  // ignored
}

TEST_F(S3Test, ConditionalGetsAnswer304And412) {
  call("PUT", "/declared/c", {}, "hello");
  const std::string etag = std::string("\"") + kHelloMd5 + "\"";
  EXPECT_EQ(call("GET", "/declared/c", {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(call("GET", "/declared/c", {{"If-None-Match", "\"other\""}}).status, 200);
  EXPECT_EQ(call("GET", "/declared/c", {{"If-Match", etag}}).status, 200);
  const auto failed = call("GET", "/declared/c", {{"If-Match", "\"other\""}});
  EXPECT_EQ(failed.status, 412);
  EXPECT_THAT(failed.body, HasSubstr("<Code>PreconditionFailed</Code>"));
  EXPECT_EQ(call("GET", "/declared/c", {{"If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}}).status, 304);
  EXPECT_EQ(call("GET", "/declared/c", {{"If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"}}).status, 200);
  EXPECT_EQ(call("GET", "/declared/c", {{"If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"}}).status,
            412);
}

TEST_F(S3Test, MissingBucketsAndKeysAnswerS3ErrorsWithResourceAndRequestId) {
  const auto bucket = call("GET", "/nope/k");
  EXPECT_EQ(bucket.status, 404);
  EXPECT_THAT(bucket.body, HasSubstr("<Code>NoSuchBucket</Code>"));
  EXPECT_THAT(bucket.body, HasSubstr("<BucketName>nope</BucketName>"));
  EXPECT_THAT(bucket.body, HasSubstr("<Resource>/nope/k</Resource>"));
  EXPECT_THAT(bucket.body, HasSubstr("<RequestId>"));
  EXPECT_FALSE(bucket.header("x-amz-request-id").empty());
  const auto key = call("GET", "/declared/missing");
  EXPECT_EQ(key.status, 404);
  EXPECT_THAT(key.body, HasSubstr("<Code>NoSuchKey</Code>"));
  const auto head = call("HEAD", "/declared/missing");
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.body, "");                                    // a HEAD answer carries no body
  EXPECT_EQ(call("DELETE", "/declared/missing").status, 204);  // idempotent
}

TEST_F(S3Test, BucketsAreCreatedListedDeletedAndPersisted) {
  EXPECT_EQ(call("PUT", "/fresh-bucket").status, 200);
  EXPECT_THAT(call("PUT", "/fresh-bucket").body, HasSubstr("<Code>BucketAlreadyOwnedByYou</Code>"));
  EXPECT_THAT(call("PUT", "/Bad_Name").body, HasSubstr("<Code>InvalidBucketName</Code>"));
  EXPECT_EQ(call("HEAD", "/fresh-bucket").status, 200);
  call("PUT", "/fresh-bucket/k", {}, "x");
  open();  // a restart
  const auto list = call("GET", "/");
  EXPECT_THAT(list.body, HasSubstr("<Name>fresh-bucket</Name>"));
  EXPECT_THAT(list.body, HasSubstr("<Name>declared</Name>"));
  const auto not_empty = call("DELETE", "/fresh-bucket");
  EXPECT_EQ(not_empty.status, 409);
  EXPECT_THAT(not_empty.body, HasSubstr("<Code>BucketNotEmpty</Code>"));
  EXPECT_EQ(call("DELETE", "/fresh-bucket/k").status, 204);
  EXPECT_EQ(call("DELETE", "/fresh-bucket").status, 204);
  EXPECT_EQ(call("HEAD", "/fresh-bucket").status, 404);
  const auto declared = call("DELETE", "/declared");
  EXPECT_EQ(declared.status, 409);
  EXPECT_THAT(declared.body, HasSubstr("pipeline file"));
  open();
  EXPECT_THAT(call("GET", "/").body, Not(HasSubstr("fresh-bucket")));
}

TEST_F(S3Test, CopyObjectCopiesOrReplacesMetadata) {
  call("PUT", "/declared/src", {{"Content-Type", "text/csv"}, {"X-Amz-Meta-A", "1"}}, "data");
  const auto copy = call("PUT", "/declared/dst", {{"x-amz-copy-source", "/declared/src"}});
  ASSERT_EQ(copy.status, 200);
  EXPECT_THAT(copy.body, HasSubstr("<CopyObjectResult"));
  EXPECT_THAT(copy.body, HasSubstr("<ETag>\""));
  const auto copied = call("GET", "/declared/dst");
  EXPECT_EQ(copied.body, "data");
  EXPECT_EQ(copied.header("Content-Type"), "text/csv");
  EXPECT_EQ(copied.header("x-amz-meta-a"), "1");
  call("PUT", "/declared/dst2",
       {{"x-amz-copy-source", "declared/src"},
        {"x-amz-metadata-directive", "REPLACE"},
        {"X-Amz-Meta-B", "2"}});
  const auto replaced = call("HEAD", "/declared/dst2");
  EXPECT_EQ(replaced.header("x-amz-meta-b"), "2");
  EXPECT_EQ(replaced.header("x-amz-meta-a"), "");
  EXPECT_THAT(call("PUT", "/declared/src", {{"x-amz-copy-source", "declared/src"}}).body,
              HasSubstr("<Code>InvalidRequest</Code>"));
  EXPECT_THAT(call("PUT", "/declared/x", {{"x-amz-copy-source", "declared/none"}}).body,
              HasSubstr("<Code>NoSuchKey</Code>"));
}

TEST_F(S3Test, DeleteObjectsReportsEachKeyAndHonoursQuiet) {
  call("PUT", "/declared/one", {}, "1");
  call("PUT", "/declared/two", {}, "2");
  const auto reply =
      call("POST", "/declared?delete", {},
           "<Delete><Object><Key>one</Key></Object><Object><Key>absent</Key></Object></Delete>");
  ASSERT_EQ(reply.status, 200);
  EXPECT_THAT(reply.body, HasSubstr("<Deleted><Key>one</Key></Deleted>"));
  EXPECT_THAT(reply.body, HasSubstr("<Deleted><Key>absent</Key></Deleted>"));
  EXPECT_EQ(call("GET", "/declared/one").status, 404);
  const auto quiet = call("POST", "/declared?delete", {},
                          "<Delete><Quiet>true</Quiet><Object><Key>two</Key></Object></Delete>");
  EXPECT_THAT(quiet.body, Not(HasSubstr("<Deleted>")));
  EXPECT_EQ(call("GET", "/declared/two").status, 404);
  std::string many = "<Delete>";
  for (int i = 0; i < 1001; ++i) many += "<Object><Key>k" + std::to_string(i) + "</Key></Object>";
  EXPECT_THAT(call("POST", "/declared?delete", {}, many + "</Delete>").body,
              HasSubstr("<Code>MalformedXML</Code>"));
}

TEST_F(S3Test, HostileXmlIsRefusedAsMalformed) {
  const std::string entity =
      "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x "
      "\"boom\">]><Delete><Object><Key>&x;</Key></Object></Delete>";
  EXPECT_THAT(call("POST", "/declared?delete", {}, entity).body, HasSubstr("DOCTYPE"));
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<a>";
  EXPECT_THAT(call("POST", "/declared?delete", {}, "<Delete>" + deep).body,
              HasSubstr("<Code>MalformedXML</Code>"));
  for (int i = 0; i < 5000; ++i) deep += "</a>";
  EXPECT_THAT(call("POST", "/declared?delete", {}, "<Delete>" + deep + "</Delete>").body,
              HasSubstr("deeper"));
  const std::string huge = "<Delete><Object><Key>" + std::string(3 << 20, 'k') + "</Key></Object></Delete>";
  const auto big = call("POST", "/declared?delete", {}, huge);
  EXPECT_EQ(big.status / 100, 4);
  EXPECT_THAT(call("POST", "/declared?delete", {}, "<Delete><Object>").body,
              HasSubstr("<Code>MalformedXML</Code>"));
  EXPECT_THAT(call("POST", "/declared?delete", {}, "<Other/>").body, HasSubstr("<Code>MalformedXML</Code>"));
}

TEST_F(S3Test, VirtualHostedRequestsNameTheBucketInTheHost) {
  ASSERT_EQ(call("PUT", "/v/key.txt", {{"Host", "declared.localhost:9000"}}, "vhost").status, 200);
  EXPECT_EQ(call("GET", "/declared/v/key.txt").body, "vhost");
  EXPECT_EQ(call("GET", "/v/key.txt", {{"Host", "declared.localhost:9000"}}).body, "vhost");
  EXPECT_THAT(call("GET", "/?list-type=2", {{"Host", "declared.localhost"}}).body,
              HasSubstr("<Key>v/key.txt</Key>"));
  EXPECT_THAT(call("GET", "/k", {{"Host", "other.localhost"}}).body, HasSubstr("<Code>NoSuchBucket</Code>"));
}

TEST_F(S3Test, PutsRaiseOneObjectCreatedEventEach) {
  call("PUT", "/declared/raw/users/users.json", {}, "{\"a\":1}\n");
  call("PUT", "/declared/copy.json", {{"x-amz-copy-source", "declared/raw/users/users.json"}});
  const auto events = events_.committed();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, "raw/users/users.json");
  EXPECT_EQ(events[1].key, "copy.json");
}

}  // namespace
}  // namespace sluice::aws::s3_test
