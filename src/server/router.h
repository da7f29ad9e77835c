// Router: what decides which code answers a request on the daemon's one HTTP port (the native API,
// the AWS wire protocols, the web console), and what every request passes on its way there.
//
// Routes live in groups. A group shares an Authenticator and an ErrorShaper (the native API answers
// {"error": ...}, the AWS JSON services {"__type", "message"}, S3 <Error> XML), and claims the
// requests it answers, tried in this order:
//   1. X-Amz-Target: a request whose X-Amz-Target header is "PREFIX.Operation", PREFIX being one a
//      group registered operations for (RouteGroup::operation), belongs to that group, whatever its
//      method and path.
//   2. Host: a group with a host_suffix claims requests whose Host is "LABEL.<host_suffix>[:port]"
//      (S3's virtual-hosted style); LABEL becomes the route parameter named host_param.
//   3. Predicate: a group with a `claims` function (and no host_suffix) claims the requests it returns
//      true for, in the order groups were added (S3 path-style: a SigV4 credential scope naming s3);
//      its route patterns then match the whole path.
//   4. Path: the group whose path_prefix is the longest that the path lies under ("/v1" claims /v1
//      and /v1/..., never /v10); "/" claims every path.
//   No group: 404 {"error": "no such endpoint: METHOD PATH"}.
//
// Within its group a request's route is found so:
//   - A pattern is split at '/' into segments, each a literal ("streams"), a parameter ("{stream}":
//     one non-empty segment) or a trailing wildcard ("{path...}": the rest of the path, slashes and
//     all, possibly empty; only as the last segment). The request's raw path is split first and each
//     segment decoded afterwards, so an encoded slash (%2F) stays inside its segment.
//   - Of the routes whose pattern matches the path and whose method is the request's, the most
//     specific wins: compared segment by segment from the left, a literal beats a parameter, which
//     beats a wildcard; so the longest literal prefix wins, and registration order never matters.
//     Two routes with one method and the same shape ("/a/{x}" and "/a/{y}") are refused.
//   - Patterns that match the path, but none with its method: 405 with Allow listing their methods.
//     No pattern matches: 404. An operation of a known X-Amz-Target prefix that is not registered
//     goes to that prefix's fallback, or else is 400 UnknownOperationException; operations are POSTs
//     to "/" (other methods 405, other paths 404).
//
// Authentication is a step every request claimed by a group passes before anything else is decided
// (404 and 405 included, so an anonymous client learns nothing of which paths exist), except on the
// routes named exempt (GET /v1/health). Its failure, the router's 404/405, and what a handler throws
// (HttpError as it says; sluice::SystemError as 503 with Retry-After: 1; anything else as 500
// "internal error: ...") are answered in the group's shape.
//
// Bodies: a route reads its body whole in request.http.body (at most HttpServerOptions::max_body_bytes,
// or its own max_body_bytes), or declares stream_body and reads it through request.body (a
// BodyReader) with its own limit, without the server holding it: authentication then sees the
// headers only, before any of the body is read (and before 100 Continue is sent).
//
// Recipe — a new endpoint is one call on its group:
//   native.route("GET", "/v1/hello/{name}", [](const server::RouteRequest& r) {
//     return server::HttpResponse{200, {}, "{\"hello\":\"" + r.param("name") + "\"}\n", {}};
//   });
//
// Threads: build the router (groups, routes, exemptions) on one thread before the server starts;
// afterwards it is read-only and answers from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/authenticator.h"
#include "server/error_shapes.h"
#include "server/http_server.h"

namespace sluice::server {

// One parameter of the matched route: from the path ({stream}, {path...}) or the Host (host_param).
struct RouteParam {
  std::string name;
  std::string value;  // percent-decoded ('+' stays '+')
  std::string raw;    // as received
};

// What a route handler receives.
struct RouteRequest {
  const HttpRequest& http;  // method, raw and decoded path and query, headers, peer, client_gone, body
  const std::vector<RouteParam>& params;
  BodyReader* body = nullptr;  // the body, for a route with stream_body only (http.body is then empty)
  std::string_view principal;  // who the group's authenticator said sent it; "" when exempt or none
  std::string_view operation;  // the X-Amz-Target operation ("PutRecords"); "" on path routes

  // The decoded value of the parameter `name`. Throws std::out_of_range naming it when the route has
  // no such parameter (a mistake in the handler, answered 500).
  const std::string& param(std::string_view name) const;
  // The parameter `name` as received, before decoding. Throws std::out_of_range as param().
  const std::string& raw_param(std::string_view name) const;
};

// Answers one request. Called on worker threads, possibly on several at once: must be thread-safe.
// May throw HttpError (answered as it says, in the group's shape) or anything else (see above).
using RouteHandler = std::function<HttpResponse(const RouteRequest& request)>;

struct RouteOptions {
  // Hand the body to the handler as RouteRequest::body (read on demand) instead of whole.
  bool stream_body = false;
  // This route's own body limit (413 beyond it); nullopt: HttpServerOptions::max_body_bytes.
  std::optional<uint64_t> max_body_bytes;
  // This route's own body deadline (408 beyond it; for a streamed body, the total time its reads wait
  // for the client); nullopt: HttpServerOptions::body_timeout.
  std::optional<std::chrono::milliseconds> body_timeout;
};

struct GroupOptions {
  std::string name;         // says which group in errors about the router's own set-up: "native", "s3"
  std::string path_prefix;  // "/v1": claims /v1 and everything under /v1/; "/": every path; "": none
  std::string host_suffix;  // "localhost": claims Host "LABEL.localhost[:port]"; "": none
  std::string host_param;   // the parameter LABEL becomes ("bucket"); required with host_suffix
  // Claims the requests (their heads) it returns true for; see the top of this file. Must be quick,
  // thread-safe and never throw. Null: none. Not with host_suffix.
  std::function<bool(const HttpRequest& head)> claims;
  ErrorShaper errors;                                  // null: native_json_errors()
  std::shared_ptr<const Authenticator> authenticator;  // null: requests are not authenticated
};

class Router;
namespace detail {
struct RouterState;
}

// The routes of one group (see the top of this file). Made by Router::group; lives as long as it.
class RouteGroup {
 public:
  // Only Router makes groups (the key is private to it).
  class Key {
    friend class Router;
    Key() = default;
  };
  struct Impl;
  RouteGroup(Key, GroupOptions options, detail::RouterState& router);
  ~RouteGroup();
  RouteGroup(const RouteGroup&) = delete;
  RouteGroup& operator=(const RouteGroup&) = delete;

  // Registers `handler` for requests with `method` ("GET", case-sensitive) whose path matches
  // `pattern` ("/v1/streams/{stream}/records", "/ui/{path...}"). Returns this group, for chaining.
  // Throws std::invalid_argument naming the pattern when it is malformed (not starting with '/', a
  // brace that is not a whole segment, a parameter name not [A-Za-z0-9_]+ or used twice, a wildcard
  // not last), lies outside the group's path_prefix (or the group claims no path), or has the same
  // method and shape as a route already registered.
  RouteGroup& route(std::string_view method, std::string_view pattern, RouteHandler handler,
                    RouteOptions options = {});
  // Registers `handler` for the JSON-protocol operation `operation` of the AWS service whose
  // X-Amz-Target prefix is `target_prefix` ("Kinesis_20131202", "PutRecords"); the group then claims
  // that prefix. Throws std::invalid_argument when either is empty or contains '.', the operation is
  // registered already, or another group claims the prefix.
  RouteGroup& operation(std::string_view target_prefix, std::string_view operation, RouteHandler handler,
                        RouteOptions options = {});
  // Answers the operations of `target_prefix` that have no handler of their own (RouteRequest::operation
  // says which) instead of 400 UnknownOperationException; claims the prefix. Throws
  // std::invalid_argument as operation(), or when the prefix has a fallback already.
  RouteGroup& operation_fallback(std::string_view target_prefix, RouteHandler handler);
  // Exempts the route registered as (`method`, `pattern`) from the group's authentication (e.g. GET
  // /v1/health, which monitors probe without credentials). Throws std::invalid_argument when no such
  // route is registered (yet).
  RouteGroup& exempt_from_auth(std::string_view method, std::string_view pattern);

  // The group's options as given to Router::group (errors defaulted to native_json_errors()).
  const GroupOptions& options() const;

 private:
  friend class Router;
  std::unique_ptr<Impl> impl_;
};

class Router {
 public:
  // A router with no group: every request is 404 until groups claim some.
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Adds a group. The reference stays valid as long as the router (moves of the router included).
  // Throws std::invalid_argument when another group claims the same path_prefix or host_suffix, a
  // path_prefix does not start with '/' (or ends with one, but for "/"), or host_suffix comes without
  // host_param.
  RouteGroup& group(GroupOptions options);

  // How the request whose head is `head` (its body empty) is to be taken and answered: the route's
  // body options, its group's error shape, and the answer (authentication, then the handler, or the
  // router's refusal). Quick; never blocks. Never throws (but for std::bad_alloc).
  Exchange exchange(const HttpRequest& head) const;

  // Answers `request`, whose body is whole in request.body (a streaming route reads it from there,
  // limited by its own max_body_bytes): for tests that call routes without a server, and for
  // HttpServer(options, Handler). Never throws (but for std::bad_alloc).
  HttpResponse serve(const HttpRequest& request) const;
  // A Handler that calls serve(). The router must outlive it and must not be moved meanwhile.
  Handler as_handler() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::server
