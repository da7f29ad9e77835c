// Router: routes by method and path pattern and by X-Amz-Target, precedence, 404/405, authentication
// with exemptions, and error bodies shaped per group. Streamed request bodies: streamed_body_test.cpp.
#include "server/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/server/reply.h"

namespace sluice::server {
namespace {

using testing::fetch;
using ::testing::HasSubstr;
using testing::Reply;

// A request as the server would build it from `method` and `target` (path and query).
HttpRequest make(const std::string& method, const std::string& target, Headers headers = {},
                 std::string body = "") {
  HttpRequest r;
  r.method = method;
  set_target(r, target);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// A handler that answers "NAME" and every parameter as "name=value|raw".
RouteHandler says(const std::string& name) {
  return [name](const RouteRequest& r) {
    std::string body = name;
    for (const auto& p : r.params) body += " " + p.name + "=" + p.value + "|" + p.raw;
    if (!r.operation.empty()) body += " op=" + std::string(r.operation);
    return HttpResponse{200, {{"Content-Type", "text/plain"}}, body, {}};
  };
}

std::string body_of(const Router& router, const std::string& method, const std::string& target) {
  return router.serve(make(method, target)).body;
}

// ---- the recipe ----

TEST(RouterRecipe, ADummyRouteIsAddedInAFewLinesAndAnsweredOverHttp) {
  Router router;
  auto& native = router.group({.name = "native", .path_prefix = "/v1"});
  native.route("GET", "/v1/hello/{name}", [](const RouteRequest& r) {
    return HttpResponse{200, {}, nlohmann::json{{"hello", r.param("name")}}.dump() + "\n", {}};
  });
  HttpServer server({}, std::move(router));
  server.start();

  const Reply reply = fetch(server.port(), "GET /v1/hello/w%C3%B6rld HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("Content-Type"), "application/json");
  EXPECT_EQ(reply.body, "{\"hello\":\"w\xC3\xB6rld\"}\n");
  const Reply missing = fetch(server.port(), "GET /v1/hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "{\"error\":\"no such endpoint: GET /v1/hello\"}\n");
}

TEST(RouterRecipe, ARouterServesAsAPlainHandlerToo) {
  Router router;
  router.group({.name = "native", .path_prefix = "/"}).route("POST", "/echo", [](const RouteRequest& r) {
    return HttpResponse{200, {}, "got " + r.http.body, {}};
  });
  HttpServer server({}, router.as_handler());
  server.start();
  const Reply reply = fetch(server.port(), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "got abc");
}

// ---- parameters and wildcards ----

TEST(RouterParams, NamedParametersAreDecodedAndTheRawOnesKept) {
  Router router;
  router.group({.name = "native", .path_prefix = "/v1"})
      .route("GET", "/v1/streams/{stream}/records", says("records"))
      .route("GET", "/v1/streams/{stream}/checkpoints/{consumer}", says("checkpoints"));
  // An encoded slash stays inside its segment; '+' is not a space in a path.
  EXPECT_EQ(body_of(router, "GET", "/v1/streams/a%20b%2Fc/records?from=1"), "records stream=a b/c|a%20b%2Fc");
  EXPECT_EQ(body_of(router, "GET", "/v1/streams/s+1/checkpoints/me"),
            "checkpoints stream=s+1|s+1 consumer=me|me");
  // A parameter is one non-empty segment.
  EXPECT_EQ(router.serve(make("GET", "/v1/streams//records")).status, 404);
  EXPECT_EQ(router.serve(make("GET", "/v1/streams/a/b/records")).status, 404);
}

TEST(RouterParams, ATrailingWildcardTakesTheRestOfThePathPossiblyEmpty) {
  Router router;
  router.group({.name = "ui", .path_prefix = "/ui"}).route("GET", "/ui/{path...}", says("ui"));
  EXPECT_EQ(body_of(router, "GET", "/ui/"), "ui path=|");
  EXPECT_EQ(body_of(router, "GET", "/ui/app/main%20v2.js"), "ui path=app/main v2.js|app/main%20v2.js");
  EXPECT_EQ(body_of(router, "GET", "/ui/a//b/"), "ui path=a//b/|a//b/");
  EXPECT_EQ(router.serve(make("GET", "/ui")).status, 404) << "the slash before the wildcard is required";
}

TEST(RouterParams, AParamIsAskedForByNameAndAMissingOneIsA500) {
  Router router;
  router.group({.name = "native", .path_prefix = "/v1"})
      .route("GET", "/v1/x/{id}", [](const RouteRequest& r) {
        return HttpResponse{200, {}, r.param("id") + "|" + r.raw_param("id") + "|" + r.param("nope"), {}};
      });
  const HttpResponse response = router.serve(make("GET", "/v1/x/7"));
  EXPECT_EQ(response.status, 500);
  EXPECT_THAT(response.body, HasSubstr("the route has no parameter named \\\"nope\\\""));
}

// ---- precedence ----

// The same routes registered in two orders answer the same.
void expect_precedence(const Router& router) {
  EXPECT_EQ(body_of(router, "GET", "/files/latest"), "literal");
  EXPECT_EQ(body_of(router, "GET", "/files/f1"), "param name=f1|f1");
  EXPECT_EQ(body_of(router, "GET", "/files/f1/part"), "wildcard rest=f1/part|f1/part");
  EXPECT_EQ(body_of(router, "GET", "/files/docs/a"), "docs-wildcard rest=a|a");
  EXPECT_EQ(body_of(router, "GET", "/files/docs"), "param name=docs|docs");
}

TEST(RouterPrecedence, LiteralBeatsParameterBeatsWildcardInAnyRegistrationOrder) {
  Router forward;
  forward.group({.name = "g", .path_prefix = "/files"})
      .route("GET", "/files/latest", says("literal"))
      .route("GET", "/files/{name}", says("param"))
      .route("GET", "/files/{rest...}", says("wildcard"))
      .route("GET", "/files/docs/{rest...}", says("docs-wildcard"));
  expect_precedence(forward);
  Router backward;
  backward.group({.name = "g", .path_prefix = "/files"})
      .route("GET", "/files/docs/{rest...}", says("docs-wildcard"))
      .route("GET", "/files/{rest...}", says("wildcard"))
      .route("GET", "/files/{name}", says("param"))
      .route("GET", "/files/latest", says("literal"));
  expect_precedence(backward);
}

TEST(RouterPrecedence, TheLongestLiteralPrefixWins) {
  Router router;
  router.group({.name = "g", .path_prefix = "/"})
      .route("GET", "/{a}/x/y", says("late-literals"))
      .route("GET", "/v1/{b}/y", says("one-literal"))
      .route("GET", "/v1/x/{c}", says("two-literals"));
  EXPECT_EQ(body_of(router, "GET", "/v1/x/y"), "two-literals c=y|y");
  EXPECT_EQ(body_of(router, "GET", "/v1/z/y"), "one-literal b=z|z");
  EXPECT_EQ(body_of(router, "GET", "/v2/x/y"), "late-literals a=v2|v2");
}

TEST(RouterPrecedence, TheMethodIsMatchedBeforeSpecificity) {
  Router router;
  router.group({.name = "g", .path_prefix = "/v1"})
      .route("GET", "/v1/streams/{stream}", says("describe"))
      .route("POST", "/v1/streams/create", says("create"));
  EXPECT_EQ(body_of(router, "POST", "/v1/streams/create"), "create");
  EXPECT_EQ(body_of(router, "GET", "/v1/streams/create"), "describe stream=create|create");
}

TEST(RouterPrecedence, TheLongestPathPrefixChoosesTheGroup) {
  Router router;
  router.group({.name = "root", .path_prefix = "/"}).route("GET", "/{any...}", says("root"));
  router.group({.name = "v1", .path_prefix = "/v1"}).route("GET", "/v1/{any...}", says("v1"));
  router.group({.name = "v1-ui", .path_prefix = "/v1/ui"}).route("GET", "/v1/ui/{any...}", says("v1-ui"));
  EXPECT_EQ(body_of(router, "GET", "/v1/ui/x"), "v1-ui any=x|x");
  EXPECT_EQ(body_of(router, "GET", "/v1/uix"), "v1 any=uix|uix");
  EXPECT_EQ(body_of(router, "GET", "/v10/x"), "root any=v10/x|v10/x") << "a prefix ends at a '/'";
  // The group that claims the path answers its 404, even when another group has a matching route.
  EXPECT_EQ(router.serve(make("GET", "/v1/ui")).status, 404);
}

TEST(RouterPrecedence, AClaimsPredicateTakesItsRequestsBeforeThePathGroups) {
  Router router;
  router.group({.name = "native", .path_prefix = "/"}).route("GET", "/{any...}", says("native"));
  auto signed_for_s3 = [](const HttpRequest& head) { return head.headers.count("X-Service") > 0; };
  router.group({.name = "s3-path", .claims = signed_for_s3}).route("GET", "/{bucket}/{key...}", says("s3"));
  EXPECT_EQ(body_of(router, "GET", "/b/k/x"), "native any=b/k/x|b/k/x");
  EXPECT_EQ(router.serve(make("GET", "/b/k/x", {{"X-Service", "s3"}})).body, "s3 bucket=b|b key=k/x|k/x");
  // The claiming group answers its own 404 for a path none of its routes match.
  EXPECT_EQ(router.serve(make("GET", "/", {{"X-Service", "s3"}})).status, 404);
  EXPECT_THROW(
      router.group({.name = "both", .host_suffix = "localhost", .host_param = "b", .claims = signed_for_s3}),
      std::invalid_argument);
}

// ---- 404 and 405 ----

TEST(RouterErrors, AnUnknownPathIs404AndAnotherMethodIs405WithAllow) {
  Router router;
  router.group({.name = "native", .path_prefix = "/v1"})
      .route("GET", "/v1/streams/{stream}/records", says("get"))
      .route("POST", "/v1/streams/{stream}/records", says("put"))
      .route("DELETE", "/v1/streams/{stream}/{rest...}", says("delete"));
  HttpServer server({}, std::move(router));
  server.start();

  const Reply not_allowed = fetch(server.port(), "PUT /v1/streams/s/records HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(not_allowed.header("Allow"), "DELETE, GET, POST");
  EXPECT_EQ(not_allowed.body,
            "{\"error\":\"method PUT is not allowed on /v1/streams/s/records; use DELETE, GET or POST\"}\n");
  const Reply wildcard_only = fetch(server.port(), "GET /v1/streams/s/nope HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(wildcard_only.status, 405) << "DELETE's wildcard matches the path";
  EXPECT_EQ(wildcard_only.header("Allow"), "DELETE");
  const Reply unknown = fetch(server.port(), "GET /v1/nope HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.header("Allow"), "");
  EXPECT_EQ(unknown.body, "{\"error\":\"no such endpoint: GET /v1/nope\"}\n");
  const Reply unclaimed = fetch(server.port(), "GET /elsewhere HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(unclaimed.status, 404);
  EXPECT_EQ(unclaimed.body, "{\"error\":\"no such endpoint: GET /elsewhere\"}\n");
}

// ---- registration ----

TEST(RouterRegistration, MalformedOrConflictingRoutesAreRefusedWithTheReason) {
  Router router;
  auto& g = router.group({.name = "g", .path_prefix = "/v1"});
  g.route("GET", "/v1/a/{x}", says("a"));
  const auto refused = [&](auto&& call, const std::string& why) {
    try {
      call();
      ADD_FAILURE() << "accepted; expected: " << why;
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(why));
    }
  };
  refused([&] { g.route("GET", "/v1/a/{y}", says("b")); }, "it has the method and shape of GET /v1/a/{x}");
  refused([&] { g.route("GET", "v1/b", says("b")); }, "it must start with '/'");
  refused([&] { g.route("GET", "/v1/{rest...}/b", says("b")); }, "must be its last segment");
  refused([&] { g.route("GET", "/v1/x{y}", says("b")); }, "a parameter must be a whole segment");
  refused([&] { g.route("GET", "/v1/{x}/{x}", says("b")); }, "the parameter {x} twice");
  refused([&] { g.route("GET", "/v1/{a-b}", says("b")); }, "only letters, digits and '_'");
  refused([&] { g.route("GET", "/v2/b", says("b")); }, "it lies outside group \"g\"'s /v1");
  refused([&] { g.route("GET", "/{x}/b", says("b")); }, "it lies outside group \"g\"'s /v1");
  refused([&] { g.exempt_from_auth("GET", "/v1/a/{y}"); }, "group \"g\" has no such route");
  refused([&] { router.group({.name = "h", .path_prefix = "/v1"}); },
          "group \"g\" claims path_prefix /v1 already");
  refused([&] { router.group({.name = "h", .path_prefix = "/v2/"}); },
          "must start with '/' and not end with one");
  refused([&] { router.group({.name = "h", .host_suffix = "localhost"}); },
          "a host_suffix needs a host_param");
  auto& aws = router.group({.name = "kinesis"});
  aws.operation("Kinesis_20131202", "PutRecords", says("put"));
  refused([&] { aws.operation("Kinesis_20131202", "PutRecords", says("again")); }, "is registered already");
  refused([&] { aws.operation("Kinesis.2013", "PutRecords", says("dot")); }, "without '.'");
  refused([&] { aws.route("GET", "/x", says("x")); }, "group \"kinesis\" claims no path");
  refused([&] { router.group({.name = "other"}).operation("Kinesis_20131202", "GetRecords", says("x")); },
          "belongs to group \"kinesis\" already");
  // The same pattern with another method is fine.
  EXPECT_NO_THROW(g.route("POST", "/v1/a/{x}", says("post")));
}

// ---- X-Amz-Target ----

Router aws_router() {
  Router router;
  router.group({.name = "kinesis", .errors = aws_json_errors()})
      .operation("Kinesis_20131202", "PutRecords", says("kinesis"))
      .operation("Kinesis_20131202", "ListStreams", says("kinesis"));
  router.group({.name = "firehose", .errors = aws_json_errors()})
      .operation("Firehose_20150804", "PutRecordBatch", says("firehose"))
      .operation_fallback("Firehose_20150804", says("firehose-fallback"));
  router.group({.name = "native", .path_prefix = "/"}).route("POST", "/", says("native-root"));
  return router;
}

HttpRequest aws_call(const std::string& target, const std::string& method = "POST",
                     const std::string& path = "/") {
  return make(method, path, {{"X-Amz-Target", target}, {"Content-Type", "application/x-amz-json-1.1"}}, "{}");
}

TEST(RouterTargets, XAmzTargetSelectsTheServiceAndOperation) {
  const Router router = aws_router();
  EXPECT_EQ(router.serve(aws_call("Kinesis_20131202.PutRecords")).body, "kinesis op=PutRecords");
  EXPECT_EQ(router.serve(aws_call("Kinesis_20131202.ListStreams")).body, "kinesis op=ListStreams");
  EXPECT_EQ(router.serve(aws_call("Firehose_20150804.PutRecordBatch")).body, "firehose op=PutRecordBatch");
  // Without a known prefix the request is routed by its path.
  EXPECT_EQ(router.serve(aws_call("Glue.GetTables")).body, "native-root");
  EXPECT_EQ(router.serve(make("POST", "/")).body, "native-root");
}

TEST(RouterTargets, AnUnknownOperationIs400InTheAwsShapeOrGoesToItsPrefixFallback) {
  Router router = aws_router();
  HttpServer server({}, std::move(router));
  server.start();
  const std::string head = "POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-amz-json-1.1\r\n";
  const Reply unknown =
      fetch(server.port(), head + "X-Amz-Target: Kinesis_20131202.Nope\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(unknown.header("x-amzn-ErrorType"), "UnknownOperationException");
  EXPECT_EQ(nlohmann::json::parse(unknown.body),
            (nlohmann::json{{"__type", "UnknownOperationException"},
                            {"message", "unknown operation \"Nope\" of Kinesis_20131202"}}));
  const Reply fallback =
      fetch(server.port(),
            head + "X-Amz-Target: Firehose_20150804.DescribeDeliveryStream\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(fallback.status, 200);
  EXPECT_EQ(fallback.body, "firehose-fallback op=DescribeDeliveryStream");
  // Operations are POSTs to "/".
  const Reply get =
      fetch(server.port(), "GET / HTTP/1.1\r\nHost: t\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n\r\n");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST");
  EXPECT_EQ(nlohmann::json::parse(get.body)["__type"], "MethodNotAllowed");
  const Reply elsewhere =
      fetch(server.port(),
            "POST /x HTTP/1.1\r\nHost: t\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n"
            "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(elsewhere.status, 404);
  EXPECT_EQ(nlohmann::json::parse(elsewhere.body)["__type"], "NotFound");
}

// ---- authentication ----

TEST(RouterAuth, EveryRouteButTheExemptOneNeedsTheToken) {
  const std::string token = "0123456789abcdef-token";
  Router router;
  router
      .group({.name = "native",
              .path_prefix = "/",
              .authenticator = std::make_shared<BearerTokenAuthenticator>(token)})
      .route("GET", "/v1/health", says("health"))
      .route("GET", "/v1/runs",
             [](const RouteRequest& r) {
               return HttpResponse{200, {}, "runs for " + std::string(r.principal), {}};
             })
      .exempt_from_auth("GET", "/v1/health");
  HttpServer server({}, std::move(router));
  server.start();
  const auto get = [&](const std::string& method, const std::string& path, const std::string& credentials) {
    return fetch(server.port(), method + " " + path + " HTTP/1.1\r\nHost: t\r\n" +
                                    (credentials.empty() ? "" : "Authorization: " + credentials + "\r\n") +
                                    "Content-Length: 0\r\n\r\n");
  };
  EXPECT_EQ(get("GET", "/v1/health", "").status, 200);
  const Reply anonymous = get("GET", "/v1/runs", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(anonymous.body,
            "{\"error\":\"missing or wrong credentials: send Authorization: Bearer TOKEN\"}\n");
  EXPECT_EQ(get("GET", "/v1/runs", "Bearer " + token + "x").status, 401);
  EXPECT_EQ(get("GET", "/v1/runs", "Bearer " + token.substr(1)).status, 401);
  EXPECT_EQ(get("GET", "/v1/runs", "bearer " + token).status, 401);
  const Reply allowed = get("GET", "/v1/runs", "Bearer " + token);
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.body, "runs for bearer");
  // The exemption is for GET only; and an anonymous client learns nothing about which paths exist.
  EXPECT_EQ(get("POST", "/v1/health", "").status, 401);
  EXPECT_EQ(get("POST", "/v1/health", "Bearer " + token).status, 405);
  EXPECT_EQ(get("GET", "/v1/nope", "").status, 401);
  EXPECT_EQ(get("GET", "/v1/nope", "Bearer " + token).status, 404);
}

TEST(RouterAuth, ABearerTokenCannotBeEmpty) {
  EXPECT_THROW(BearerTokenAuthenticator(""), std::invalid_argument);
}

// ---- error shapes ----

class NotThere : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Registers on `g` the routes that fail in each way a handler can, under `base`.
void add_failing_routes(RouteGroup& g, const std::string& base) {
  g.route("GET", base + "/missing", [](const RouteRequest&) -> HttpResponse {
    HttpError error(404, "NoSuchKey", "no object <a&b>");
    error.details = {{"Key", "a&b"}};
    throw error;
  });
  g.route("GET", base + "/disk", [](const RouteRequest&) -> HttpResponse {
    throw SystemError("cannot write /data/x: No space left on device");
  });
  g.route("GET", base + "/bug", [](const RouteRequest&) -> HttpResponse { throw NotThere("kaboom"); });
}

TEST(RouterErrors, EachGroupShapesItsOwnErrors) {
  Router router;
  add_failing_routes(router.group({.name = "native", .path_prefix = "/v1"}), "/v1");
  add_failing_routes(router.group({.name = "s3", .path_prefix = "/", .errors = s3_xml_errors()}), "");
  auto& aws = router.group({.name = "glue", .errors = aws_json_errors()});
  aws.operation("AWSGlue", "GetTable", [](const RouteRequest&) -> HttpResponse {
    HttpError error(400, "EntityNotFoundException", "no table \"t\"");
    error.details = {{"FromFederationSource", "false"}};
    throw error;
  });
  aws.operation("AWSGlue", "GetDatabases",
                [](const RouteRequest&) -> HttpResponse { throw SystemError("disk full"); });

  const auto native = router.serve(make("GET", "/v1/missing"));
  EXPECT_EQ(native.status, 404);
  EXPECT_EQ(native.headers.at("Content-Type"), "application/json");
  EXPECT_EQ(native.body, "{\"error\":\"no object <a&b>\"}\n");
  const auto native_disk = router.serve(make("GET", "/v1/disk"));
  EXPECT_EQ(native_disk.status, 503);
  EXPECT_EQ(native_disk.headers.at("Retry-After"), "1");
  EXPECT_EQ(native_disk.body, "{\"error\":\"cannot write /data/x: No space left on device; retry later\"}\n");
  const auto native_bug = router.serve(make("GET", "/v1/bug"));
  EXPECT_EQ(native_bug.status, 500);
  EXPECT_EQ(native_bug.body, "{\"error\":\"internal error: kaboom\"}\n");

  const auto s3 = router.serve(make("GET", "/missing"));
  EXPECT_EQ(s3.status, 404);
  EXPECT_EQ(s3.headers.at("Content-Type"), "application/xml");
  EXPECT_EQ(s3.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>no object "
            "&lt;a&amp;b&gt;</Message><Key>a&amp;b</Key><Resource>/missing</Resource></Error>");
  const auto s3_404 = router.serve(make("GET", "/nope/x"));
  EXPECT_EQ(s3_404.status, 404);
  EXPECT_THAT(s3_404.body,
              HasSubstr("<Code>NotFound</Code><Message>no such endpoint: GET /nope/x</Message>"));
  const auto s3_disk = router.serve(make("GET", "/disk"));
  EXPECT_EQ(s3_disk.status, 503);
  EXPECT_EQ(s3_disk.headers.at("Retry-After"), "1");
  EXPECT_THAT(s3_disk.body, HasSubstr("<Code>ServiceUnavailable</Code>"));
  EXPECT_THAT(router.serve(make("GET", "/bug")).body, HasSubstr("<Code>InternalError</Code>"));

  const auto glue = router.serve(aws_call("AWSGlue.GetTable"));
  EXPECT_EQ(glue.status, 400);
  EXPECT_EQ(nlohmann::json::parse(glue.body), (nlohmann::json{{"__type", "EntityNotFoundException"},
                                                              {"message", "no table \"t\""},
                                                              {"FromFederationSource", "false"}}));
  const auto glue_disk = router.serve(aws_call("AWSGlue.GetDatabases"));
  EXPECT_EQ(glue_disk.status, 503);
  EXPECT_EQ(nlohmann::json::parse(glue_disk.body)["__type"], "ServiceUnavailable");
}

TEST(RouterErrors, AShaperThatThrowsFallsBackToTheServersShape) {
  Router router;
  router.group({.name = "broken",
                .path_prefix = "/",
                .errors = [](const HttpError&, const HttpRequest&) -> HttpResponse {
                  throw std::runtime_error("shaper broke");
                }});
  const auto response = router.serve(make("GET", "/x"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, "{\"error\":\"no such endpoint: GET /x\"}\n");
}

TEST(ErrorShapes, XmlEscapeKeepsTextAndReplacesWhatXmlCannotCarry) {
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(xml_escape("caf\xC3\xA9 \xF0\x9F\x98\x80\t\n"), "caf\xC3\xA9 \xF0\x9F\x98\x80\t\n");
  EXPECT_EQ(xml_escape(std::string("x\x01y\xFFz\xC0\xAF", 7)),
            "x\xEF\xBF\xBDy\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(xml_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "a surrogate is not UTF-8";
}

// ---- virtual-hosted style ----

TEST(RouterHost, AVirtualHostedRequestGoesToTheHostGroupWithItsLabelAsAParameter) {
  Router router;
  router
      .group({.name = "s3-virtual",
              .host_suffix = "localhost",
              .host_param = "bucket",
              .errors = s3_xml_errors()})
      .route("GET", "/{key...}", says("virtual"));
  router.group({.name = "s3-path", .path_prefix = "/", .errors = s3_xml_errors()})
      .route("GET", "/{bucket}/{key...}", says("path"));
  HttpServer server({}, std::move(router));
  server.start();
  const auto get = [&](const std::string& host, const std::string& path) {
    return fetch(server.port(), "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").body;
  };
  EXPECT_EQ(get("my.bucket.localhost:9000", "/raw/a%20b.json"),
            "virtual bucket=my.bucket|my.bucket key=raw/a b.json|raw/a%20b.json");
  EXPECT_EQ(get("Data.LOCALHOST", "/k"), "virtual bucket=Data|Data key=k|k");
  EXPECT_EQ(get("localhost:9000", "/my-bucket/k"), "path bucket=my-bucket|my-bucket key=k|k");
  EXPECT_EQ(get("127.0.0.1:9000", "/my-bucket/k"), "path bucket=my-bucket|my-bucket key=k|k");
  EXPECT_EQ(get("[::1]:9000", "/my-bucket/k"), "path bucket=my-bucket|my-bucket key=k|k");
}

}  // namespace
}  // namespace sluice::server
