// The console's static files (src/console): index.html and the hashed assets it names are served
// with their types, the console's CSP, nosniff and caching headers; anything else under /ui/ is 404;
// / and /ui redirect to /ui/; traversal finds nothing; the files need no token while /v1/ still does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "console/console.h"
#include "server/authenticator.h"
#include "server/http_server.h"
#include "server/router.h"
#include "tests/server/reply.h"

namespace sluice::console {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kToken = "console-test-token-0123456789";
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// A router laid out as the daemon's (src/daemon/api.cpp): the native group on "/" behind a bearer
// token, with one API route, and the console.
server::Router make_router() {
  server::Router router;
  auto& native = router.group({.name = "native",
                               .path_prefix = "/",
                               .authenticator = std::make_shared<server::BearerTokenAuthenticator>(kToken)});
  native.route("GET", "/v1/status", [](const server::RouteRequest&) {
    return server::HttpResponse{200, {}, "{\"secret\":\"status\"}\n", {}};
  });
  add_console_routes(router, native);
  return router;
}

server::HttpResponse get(const server::Router& router, const std::string& target,
                         server::Headers headers = {}) {
  server::HttpRequest request;
  request.method = "GET";
  server::set_target(request, target);
  request.headers = std::move(headers);
  return router.serve(request);
}

std::string header(const server::HttpResponse& response, const std::string& name) {
  const auto it = response.headers.find(name);
  return it == response.headers.end() ? "" : it->second;
}

void expect_console_headers(const server::HttpResponse& response, const std::string& what) {
  EXPECT_EQ(header(response, "Content-Security-Policy"), kCsp) << what;
  EXPECT_EQ(header(response, "X-Content-Type-Options"), "nosniff") << what;
  EXPECT_EQ(header(response, "Referrer-Policy"), "no-referrer") << what;
}

// The files index.html loads (src="./X" and href="./X").
std::vector<std::string> referenced_files(const std::string& html) {
  std::vector<std::string> out;
  const std::regex ref(R"((?:src|href)="\./([^"]+)\")");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

TEST(ConsoleRoutes, IndexIsServedAsHtmlWithTheCspNosniffAndNoCache) {
  const auto router = make_router();
  const auto index = get(router, "/ui/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_THAT(header(index, "ETag"), ::testing::MatchesRegex("\"[0-9a-f]+\""));
  expect_console_headers(index, "index.html");
  EXPECT_THAT(index.body, HasSubstr("<nav"));
  // Nothing inline: every script has a src, and no element has a style attribute or a <style>.
  EXPECT_FALSE(std::regex_search(index.body, std::regex("<script(?![^>]*\\ssrc=)")));
  EXPECT_THAT(index.body, Not(HasSubstr("style=")));
  EXPECT_THAT(index.body, Not(HasSubstr("<style")));
  EXPECT_EQ(get(router, "/ui/index.html").body, index.body);
}

TEST(ConsoleRoutes, TheAssetsIndexNamesAreServedImmutableWithTheirTypes) {
  const auto router = make_router();
  const auto files = referenced_files(get(router, "/ui/").body);
  ASSERT_EQ(files.size(), 2u) << "index.html should load one stylesheet and one script";
  int scripts = 0, styles = 0;
  for (const auto& name : files) {
    const auto asset = get(router, "/ui/" + name);
    ASSERT_EQ(asset.status, 200) << name;
    EXPECT_FALSE(asset.body.empty()) << name;
    expect_console_headers(asset, name);
    EXPECT_EQ(header(asset, "Cache-Control"), "public, max-age=31536000, immutable") << name;
    if (name.ends_with(".js")) {
      ++scripts;
      EXPECT_EQ(header(asset, "Content-Type"), "text/javascript; charset=utf-8");
    } else if (name.ends_with(".css")) {
      ++styles;
      EXPECT_EQ(header(asset, "Content-Type"), "text/css; charset=utf-8");
    }
    // A revalidation with its ETag is a 304 without a body (and still with the CSP).
    const auto again = get(router, "/ui/" + name, {{"If-None-Match", header(asset, "ETag")}});
    EXPECT_EQ(again.status, 304) << name;
    EXPECT_TRUE(again.body.empty()) << name;
    expect_console_headers(again, name + " (304)");
    EXPECT_EQ(get(router, "/ui/" + name, {{"If-None-Match", "\"other\""}}).status, 200) << name;
  }
  EXPECT_EQ(scripts, 1);
  EXPECT_EQ(styles, 1);
}

TEST(ConsoleRoutes, UnknownFilesAre404WithTheCsp) {
  const auto router = make_router();
  for (const std::string target :
       {"/ui/nope.js", "/ui/index.htm", "/ui/index.html/", "/ui/INDEX.HTML", "/ui/a/b"}) {
    const auto response = get(router, target);
    EXPECT_EQ(response.status, 404) << target;
    expect_console_headers(response, target);
  }
}

TEST(ConsoleRoutes, RootAndUiRedirectToUiWithoutAToken) {
  const auto router = make_router();
  for (const std::string target : {"/", "/ui"}) {
    const auto response = get(router, target);
    EXPECT_EQ(response.status, 302) << target;
    EXPECT_EQ(header(response, "Location"), "/ui/") << target;
    expect_console_headers(response, target);
  }
}

TEST(ConsoleRoutes, TraversalOutOfUiFindsNothing) {
  const auto router = make_router();
  for (const std::string target :
       {"/ui/../v1/status", "/ui/%2e%2e/v1/status", "/ui/%2E%2E%2Fv1%2Fstatus", "/ui/..%2fv1%2fstatus",
        "/ui/./index.html", "/ui//index.html", "/ui/%2e%2e/%2e%2e/etc/passwd", "/ui/..\\v1\\status"}) {
    const auto response = get(router, target);
    EXPECT_NE(response.status, 200) << target;
    EXPECT_THAT(response.body, Not(HasSubstr("secret"))) << target;
  }
}

TEST(ConsoleRoutes, StaticFilesNeedNoTokenWhileTheApiStillDoes) {
  const auto router = make_router();
  EXPECT_EQ(get(router, "/ui/").status, 200);
  EXPECT_EQ(get(router, "/").status, 302);
  EXPECT_EQ(get(router, "/v1/status").status, 401);
  EXPECT_EQ(get(router, "/v1/status", {{"Authorization", std::string("Bearer ") + kToken}}).status, 200);
  // The exemption is for GET / only: another path of the native group still asks for the token.
  EXPECT_EQ(get(router, "/index.html").status, 401);
}

TEST(ConsoleRoutes, ServedOverHttpWithTheHeaders) {
  server::HttpServer http({}, make_router());
  http.start();
  const auto index = server::testing::fetch(http.port(), "GET /ui/ HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("Content-Security-Policy"), kCsp);
  EXPECT_EQ(index.header("X-Content-Type-Options"), "nosniff");
  const auto files = referenced_files(index.body);
  ASSERT_FALSE(files.empty());
  const auto asset =
      server::testing::fetch(http.port(), "GET /ui/" + files[0] + " HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(asset.status, 200);
  EXPECT_EQ(std::to_string(asset.body.size()), asset.header("Content-Length"));
  const auto root = server::testing::fetch(http.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.header("Location"), "/ui/");
}

}  // namespace
}  // namespace sluice::console
