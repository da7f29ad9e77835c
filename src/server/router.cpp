#include "server/router.h"

#include <strings.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace sluice::server {

namespace detail {

enum class SegmentKind { literal = 0, parameter = 1, wildcard = 2 };  // in order of precedence

struct Segment {
  SegmentKind kind;
  std::string text;  // the literal, or the parameter's name
};

struct Route {
  std::string method;
  std::string pattern;
  std::vector<Segment> segments;
  RouteHandler handler;
  RouteOptions options;
  bool exempt = false;
};

// The operations of one X-Amz-Target prefix.
struct Service {
  std::map<std::string, std::unique_ptr<Route>, std::less<>> operations;
  std::unique_ptr<Route> fallback;
};

struct RouterState {
  std::vector<std::unique_ptr<RouteGroup>> groups;
  std::vector<const RouteGroup::Impl*> group_impls;  // the groups' insides, in the same order
  std::map<std::string, const RouteGroup::Impl*, std::less<>> targets;  // X-Amz-Target prefix -> group
};

// A request's path split at '/', as received and decoded.
struct SplitPath {
  std::string_view raw_path;
  std::vector<size_t> starts;  // where each segment starts in raw_path
  std::vector<std::string_view> raw;
  std::vector<std::string> decoded;
};

// Which route answers a request, or why none does.
struct Match {
  const RouteGroup::Impl* group = nullptr;
  const ErrorShaper* errors = nullptr;
  const Route* route = nullptr;
  std::vector<RouteParam> params;
  std::string operation;
  std::optional<HttpError> refusal;
};

}  // namespace detail

using detail::Match;
using detail::Route;
using detail::Segment;
using detail::SegmentKind;
using detail::SplitPath;

struct RouteGroup::Impl {
  GroupOptions options;
  std::vector<std::string> prefix;  // path_prefix's segments ("/" has none)
  detail::RouterState& router;
  std::vector<std::unique_ptr<Route>> routes;
  std::map<std::string, detail::Service, std::less<>> services;

  detail::Service& claim_target(std::string_view target_prefix);
};

struct Router::Impl {
  detail::RouterState state;
  ErrorShaper default_errors = native_json_errors();
};

namespace {

bool is_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t at = 0;;) {
    const size_t next = text.find(separator, at);
    parts.push_back(text.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return parts;
    at = next + 1;
  }
}

[[noreturn]] void refuse_pattern(std::string_view pattern, const std::string& why) {
  throw std::invalid_argument("route pattern \"" + std::string(pattern) + "\": " + why);
}

std::vector<Segment> parse_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') refuse_pattern(pattern, "it must start with '/'");
  std::vector<Segment> segments;
  std::set<std::string, std::less<>> names;
  for (const std::string_view text : split(pattern.substr(1), '/')) {
    if (!segments.empty() && segments.back().kind == SegmentKind::wildcard)
      refuse_pattern(pattern, "a {name...} wildcard must be its last segment");
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
      if (text.find_first_of("{}") != std::string_view::npos)
        refuse_pattern(pattern, "a parameter must be a whole segment, like /{name}/");
      segments.push_back({SegmentKind::literal, std::string(text)});
      continue;
    }
    std::string_view name = text.substr(1, text.size() - 2);
    const bool wildcard = name.size() > 3 && name.substr(name.size() - 3) == "...";
    if (wildcard) name.remove_suffix(3);
    if (!is_name(name)) refuse_pattern(pattern, "a parameter's name has only letters, digits and '_'");
    if (!names.emplace(name).second)
      refuse_pattern(pattern, "the parameter {" + std::string(name) + "} twice");
    segments.push_back({wildcard ? SegmentKind::wildcard : SegmentKind::parameter, std::string(name)});
  }
  return segments;
}

// "/a/{}/{...}": what two patterns that match the same paths have in common.
std::string shape_of(const std::vector<Segment>& segments) {
  std::string shape;
  for (const auto& segment : segments) {
    shape += '/';
    shape += segment.kind == SegmentKind::literal     ? segment.text
             : segment.kind == SegmentKind::parameter ? "{}"
                                                      : "{...}";
  }
  return shape;
}

SplitPath split_path(std::string_view raw_path) {
  SplitPath path;
  path.raw_path = raw_path;
  if (raw_path.empty() || raw_path.front() != '/') return path;  // "*", absolute form: matches nothing
  size_t at = 1;
  for (const std::string_view segment : split(raw_path.substr(1), '/')) {
    path.starts.push_back(at);
    path.raw.push_back(segment);
    path.decoded.push_back(url_decode(segment, false));
    at += segment.size() + 1;
  }
  return path;
}

bool matches(const Route& route, const SplitPath& path) {
  const size_t n = route.segments.size();
  for (size_t i = 0; i < n; ++i) {
    const Segment& segment = route.segments[i];
    if (i >= path.raw.size()) return false;
    if (segment.kind == SegmentKind::wildcard) return true;  // at least the one (maybe empty) segment
    if (segment.kind == SegmentKind::literal ? path.decoded[i] != segment.text : path.raw[i].empty())
      return false;
  }
  return n == path.raw.size();
}

// True when `a` is more specific than `b` (both match the same path): see the top of router.h.
bool more_specific(const Route& a, const Route& b) {
  for (size_t i = 0; i < std::min(a.segments.size(), b.segments.size()); ++i) {
    if (a.segments[i].kind != b.segments[i].kind) return a.segments[i].kind < b.segments[i].kind;
  }
  return false;
}

void add_params(const Route& route, const SplitPath& path, std::vector<RouteParam>& params) {
  for (size_t i = 0; i < route.segments.size(); ++i) {
    const Segment& segment = route.segments[i];
    if (segment.kind == SegmentKind::parameter) {
      params.push_back({segment.text, path.decoded[i], std::string(path.raw[i])});
    } else if (segment.kind == SegmentKind::wildcard) {
      const std::string_view rest = path.raw_path.substr(path.starts[i]);
      params.push_back({segment.text, url_decode(rest, false), std::string(rest)});
    }
  }
}

// "GET", "GET or POST", "DELETE, GET or POST".
std::string allowed_list(const std::set<std::string>& methods) {
  std::string list;
  size_t left = methods.size();
  for (const auto& method : methods) {
    list += method;
    --left;
    if (left > 1) list += ", ";
    if (left == 1) list += " or ";
  }
  return list;
}

HttpError not_found(const HttpRequest& head) {
  return HttpError(404, "NotFound", "no such endpoint: " + head.method + " " + head.path);
}

HttpError not_allowed(const HttpRequest& head, const std::set<std::string>& methods) {
  HttpError error(
      405, "MethodNotAllowed",
      "method " + head.method + " is not allowed on " + head.path + "; use " + allowed_list(methods));
  std::string allow;
  for (const auto& method : methods) allow += (allow.empty() ? "" : ", ") + method;
  error.headers["Allow"] = allow;
  return error;
}

// The route of `group` for a request on `path` (see the top of router.h), or the 404/405.
void match_path(const RouteGroup::Impl& group, const HttpRequest& head, const SplitPath& path, Match& match) {
  const Route* best = nullptr;
  std::set<std::string> allowed;
  for (const auto& route : group.routes) {
    if (!matches(*route, path)) continue;
    allowed.insert(route->method);
    if (route->method == head.method && (!best || more_specific(*route, *best))) best = route.get();
  }
  if (best) {
    match.route = best;
    add_params(*best, path, match.params);
  } else {
    match.refusal = allowed.empty() ? not_found(head) : not_allowed(head, allowed);
  }
}

void match_operation(const RouteGroup::Impl& group, std::string_view prefix, std::string_view operation,
                     const HttpRequest& head, Match& match) {
  if (head.raw_path != "/") {
    match.refusal = not_found(head);
    return;
  }
  if (head.method != "POST") {
    match.refusal = not_allowed(head, {"POST"});
    return;
  }
  const detail::Service& service = group.services.find(prefix)->second;
  match.operation = std::string(operation);
  if (const auto it = service.operations.find(operation); it != service.operations.end()) {
    match.route = it->second.get();
  } else if (service.fallback) {
    match.route = service.fallback.get();
  } else {
    match.refusal =
        HttpError(400, "UnknownOperationException",
                  "unknown operation \"" + std::string(operation) + "\" of " + std::string(prefix));
  }
}

// LABEL when the request's Host is "LABEL.<suffix>[:port]".
std::optional<std::string> host_label(const HttpRequest& head, std::string_view suffix) {
  const auto it = head.headers.find("Host");
  if (it == head.headers.end() || it->second.empty() || it->second.front() == '[') return std::nullopt;
  std::string_view host = it->second;
  host = host.substr(0, host.rfind(':'));
  if (host.size() < suffix.size() + 2 || host[host.size() - suffix.size() - 1] != '.') return std::nullopt;
  const std::string tail(host.substr(host.size() - suffix.size()));
  if (::strcasecmp(tail.c_str(), std::string(suffix).c_str()) != 0) return std::nullopt;
  return std::string(host.substr(0, host.size() - suffix.size() - 1));
}

bool under_prefix(const SplitPath& path, const std::vector<std::string>& prefix) {
  if (path.starts.empty()) return false;
  if (path.decoded.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), path.decoded.begin());
}

// The group that claims `head` (see the top of router.h) and the route in it.
Match find_route(const detail::RouterState& state, const HttpRequest& head) {
  Match match;
  if (const auto target = head.headers.find("X-Amz-Target"); target != head.headers.end()) {
    const std::string_view value = target->second;
    const size_t dot = value.rfind('.');
    const auto group =
        dot == std::string_view::npos ? state.targets.end() : state.targets.find(value.substr(0, dot));
    if (group != state.targets.end()) {
      match.group = group->second;
      match_operation(*group->second, value.substr(0, dot), value.substr(dot + 1), head, match);
      return match;
    }
  }
  const SplitPath path = split_path(head.raw_path);
  for (const RouteGroup::Impl* group : state.group_impls) {
    const GroupOptions& options = group->options;
    if (options.host_suffix.empty()) continue;
    if (auto label = host_label(head, options.host_suffix)) {
      match.group = group;
      match.params.push_back({options.host_param, *label, *label});
      match_path(*match.group, head, path, match);
      return match;
    }
  }
  for (const RouteGroup::Impl* group : state.group_impls) {
    if (group->options.claims && group->options.claims(head)) {
      match.group = group;
      match_path(*group, head, path, match);
      return match;
    }
  }
  for (const RouteGroup::Impl* group : state.group_impls) {
    const auto& impl = *group;
    if (impl.options.path_prefix.empty() || !under_prefix(path, impl.prefix)) continue;
    if (!match.group || impl.prefix.size() > match.group->prefix.size()) match.group = &impl;
  }
  if (match.group) {
    match_path(*match.group, head, path, match);
  } else {
    match.refusal = not_found(head);
  }
  return match;
}

// Authenticates, then runs the route's handler (or answers the router's refusal), in the group's shape.
HttpResponse answer(const Match& match, const HttpRequest& request, BodyReader* body) {
  try {
    std::string principal;
    const Authenticator* authenticator = match.group ? match.group->options.authenticator.get() : nullptr;
    if (authenticator && !(match.route && match.route->exempt))
      principal = authenticator->authenticate(request);
    if (match.refusal) throw *match.refusal;
    const RouteRequest route_request{request, match.params, body, principal, match.operation};
    return match.route->handler(route_request);
  } catch (const HttpError& e) {
    return shape_error(*match.errors, e, request);
  } catch (const SystemError& e) {
    // The system's own failure (disk full, I/O error): nothing of the request was done; retry.
    HttpError error(503, "ServiceUnavailable", std::string(e.what()) + "; retry later");
    error.headers["Retry-After"] = "1";
    return shape_error(*match.errors, error, request);
  } catch (const std::exception& e) {
    return shape_error(*match.errors,
                       HttpError(500, "InternalError", std::string("internal error: ") + e.what()), request);
  } catch (...) {
    return shape_error(*match.errors, HttpError(500, "InternalError", "internal error: unknown exception"),
                       request);
  }
}

// The body of a request that is whole in memory, read as a stream (Router::serve).
class StringBodyReader final : public BodyReader {
 public:
  explicit StringBodyReader(std::string_view body) : body_(body) {}
  size_t read(char* out, size_t max) override {
    const size_t n = std::min(max, body_.size() - at_);
    std::copy_n(body_.data() + at_, n, out);
    at_ += n;
    return n;
  }
  std::optional<uint64_t> declared_size() const override { return body_.size(); }
  uint64_t bytes_read() const override { return at_; }

 private:
  std::string_view body_;
  size_t at_ = 0;
};

}  // namespace

// ---- RouteRequest ----

const std::string& RouteRequest::param(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return p.value;
  throw std::out_of_range("the route has no parameter named \"" + std::string(name) + "\"");
}

const std::string& RouteRequest::raw_param(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return p.raw;
  throw std::out_of_range("the route has no parameter named \"" + std::string(name) + "\"");
}

// ---- RouteGroup ----

RouteGroup::RouteGroup(Key, GroupOptions options, detail::RouterState& router)
    : impl_(std::make_unique<Impl>(Impl{std::move(options), {}, router, {}, {}})) {
  if (!impl_->options.errors) impl_->options.errors = native_json_errors();
  const std::string& prefix = impl_->options.path_prefix;
  if (prefix.size() > 1) {
    for (const auto segment : split(std::string_view(prefix).substr(1), '/'))
      impl_->prefix.emplace_back(segment);
  }
}

RouteGroup::~RouteGroup() = default;

const GroupOptions& RouteGroup::options() const { return impl_->options; }

RouteGroup& RouteGroup::route(std::string_view method, std::string_view pattern, RouteHandler handler,
                              RouteOptions options) {
  const GroupOptions& group = impl_->options;
  if (method.empty() || method.find_first_of(" \t\r\n") != std::string_view::npos)
    throw std::invalid_argument("route " + std::string(pattern) + ": \"" + std::string(method) +
                                "\" is not a method");
  auto segments = parse_pattern(pattern);
  if (group.host_suffix.empty() && !group.claims) {
    if (group.path_prefix.empty())
      refuse_pattern(pattern, "group \"" + group.name +
                                  "\" claims no path (it has neither path_prefix nor host_suffix)");
    const auto& prefix = impl_->prefix;
    const bool under =
        segments.size() >= prefix.size() &&
        std::equal(prefix.begin(), prefix.end(), segments.begin(), [](const auto& p, const Segment& s) {
          return s.kind == SegmentKind::literal && s.text == p;
        });
    if (!under)
      refuse_pattern(pattern, "it lies outside group \"" + group.name + "\"'s " + group.path_prefix);
  }
  for (const auto& segment : segments) {
    if (segment.kind != SegmentKind::literal && segment.text == group.host_param)
      refuse_pattern(pattern, "{" + segment.text + "} is the group's host parameter already");
  }
  const std::string shape = shape_of(segments);
  for (const auto& route : impl_->routes) {
    if (route->method == method && shape_of(route->segments) == shape)
      refuse_pattern(pattern, "it has the method and shape of " + route->method + " " + route->pattern);
  }
  impl_->routes.push_back(std::make_unique<Route>(Route{
      std::string(method), std::string(pattern), std::move(segments), std::move(handler), options, false}));
  return *this;
}

detail::Service& RouteGroup::Impl::claim_target(std::string_view target_prefix) {
  if (target_prefix.empty() || target_prefix.find('.') != std::string_view::npos)
    throw std::invalid_argument("X-Amz-Target prefix \"" + std::string(target_prefix) +
                                "\": it must be non-empty and without '.'");
  const auto [it, added] = router.targets.emplace(std::string(target_prefix), this);
  if (!added && it->second != this) {
    throw std::invalid_argument("X-Amz-Target prefix \"" + std::string(target_prefix) +
                                "\" belongs to group \"" + it->second->options.name + "\" already");
  }
  return services[std::string(target_prefix)];
}

RouteGroup& RouteGroup::operation(std::string_view target_prefix, std::string_view operation,
                                  RouteHandler handler, RouteOptions options) {
  if (operation.empty() || operation.find('.') != std::string_view::npos)
    throw std::invalid_argument("operation \"" + std::string(operation) +
                                "\": it must be non-empty and without '.'");
  detail::Service& service = impl_->claim_target(target_prefix);
  auto route = std::make_unique<Route>(Route{"POST", "/", {}, std::move(handler), options, false});
  if (!service.operations.emplace(std::string(operation), std::move(route)).second) {
    throw std::invalid_argument("operation " + std::string(target_prefix) + "." + std::string(operation) +
                                " is registered already");
  }
  return *this;
}

RouteGroup& RouteGroup::operation_fallback(std::string_view target_prefix, RouteHandler handler) {
  detail::Service& service = impl_->claim_target(target_prefix);
  if (service.fallback)
    throw std::invalid_argument("X-Amz-Target prefix \"" + std::string(target_prefix) +
                                "\" has a fallback already");
  service.fallback = std::make_unique<Route>(Route{"POST", "/", {}, std::move(handler), {}, false});
  return *this;
}

RouteGroup& RouteGroup::exempt_from_auth(std::string_view method, std::string_view pattern) {
  for (const auto& route : impl_->routes) {
    if (route->method == method && route->pattern == pattern) {
      route->exempt = true;
      return *this;
    }
  }
  throw std::invalid_argument("cannot exempt " + std::string(method) + " " + std::string(pattern) +
                              " from authentication: group \"" + impl_->options.name +
                              "\" has no such route");
}

// ---- Router ----

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

RouteGroup& Router::group(GroupOptions options) {
  const auto refuse = [&](const std::string& why) {
    throw std::invalid_argument("route group \"" + options.name + "\": " + why);
  };
  const std::string& prefix = options.path_prefix;
  if (!prefix.empty() && (prefix.front() != '/' || (prefix.size() > 1 && prefix.back() == '/')))
    refuse("path_prefix \"" + prefix + "\" must start with '/' and not end with one (but for \"/\")");
  if (!options.host_suffix.empty() && !is_name(options.host_param))
    refuse("a host_suffix needs a host_param (letters, digits and '_')");
  if (!options.host_suffix.empty() && options.claims)
    refuse("a group claims by host_suffix or by a claims function, not both");
  for (const auto& group : impl_->state.groups) {
    const GroupOptions& other = group->options();
    if (!prefix.empty() && other.path_prefix == prefix)
      refuse("group \"" + other.name + "\" claims path_prefix " + prefix + " already");
    if (!options.host_suffix.empty() &&
        ::strcasecmp(other.host_suffix.c_str(), options.host_suffix.c_str()) == 0)
      refuse("group \"" + other.name + "\" claims host_suffix " + options.host_suffix + " already");
  }
  auto& state = impl_->state;
  state.groups.push_back(std::make_unique<RouteGroup>(RouteGroup::Key(), std::move(options), state));
  state.group_impls.push_back(state.groups.back()->impl_.get());
  return *state.groups.back();
}

Exchange Router::exchange(const HttpRequest& head) const {
  auto match = std::make_shared<Match>(find_route(impl_->state, head));
  match->errors = match->group ? &match->group->options.errors : &impl_->default_errors;
  Exchange exchange;
  exchange.errors = *match->errors;
  if (match->route && !match->refusal) {
    const RouteOptions& options = match->route->options;
    exchange.stream_body = options.stream_body;
    exchange.max_body_bytes = options.max_body_bytes;
    exchange.body_timeout = options.body_timeout;
  }
  exchange.answer = [match = std::shared_ptr<const Match>(std::move(match))](const HttpRequest& request,
                                                                             BodyReader* body) {
    return answer(*match, request, body);
  };
  return exchange;
}

HttpResponse Router::serve(const HttpRequest& request) const {
  Exchange exchange = this->exchange(request);
  if (exchange.max_body_bytes && request.body.size() > *exchange.max_body_bytes) {
    return shape_error(
        exchange.errors,
        HttpError(413, "EntityTooLarge",
                  "request body larger than " + std::to_string(*exchange.max_body_bytes) + " bytes"),
        request);
  }
  if (!exchange.stream_body) return exchange.answer(request, nullptr);
  StringBodyReader body(request.body);
  HttpRequest head = request;  // a streaming route sees its body through the reader only
  head.body.clear();
  return exchange.answer(head, &body);
}

Handler Router::as_handler() const {
  return [this](const HttpRequest& request) { return serve(request); };
}

}  // namespace sluice::server
