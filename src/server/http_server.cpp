#include "server/http_server.h"

#include <nlohmann/json.hpp>

#include "server/router.h"
#include "server/server_core.h"

namespace sluice::server {

std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      int hi = i + 1 < text.size() ? hex(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? hex(text[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && text[i] == '+' ? ' ' : text[i]);
  }
  return out;
}

HttpResponse shape_error(const ErrorShaper& shaper, const HttpError& error, const HttpRequest& request) {
  HttpResponse response;
  bool shaped = false;
  if (shaper) {
    try {
      response = shaper(error, request);
      shaped = true;
    } catch (const std::exception&) {
      // The server's own shape below: an answer in the wrong shape beats none.
    }
  }
  if (!shaped) {
    response = HttpResponse{error.status(), {}, detail::json_error(error.what()), {}};
    response.headers["Content-Type"] = "application/json";
  }
  for (const auto& [name, value] : error.headers) response.headers[name] = value;
  return response;
}

void set_target(HttpRequest& r, std::string_view target) {
  r.target = std::string(target);
  const auto q = r.target.find('?');
  r.raw_path = r.target.substr(0, q);
  r.raw_query = q == std::string::npos ? "" : r.target.substr(q + 1);
  r.path = url_decode(r.raw_path, false);
  std::string_view query = r.raw_query;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      std::string name = url_decode(pair.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1), true);
      r.query[name] = value;
      r.query_params.emplace_back(std::move(name), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

namespace detail {

std::string json_error(const std::string& message) {
  // Replacing invalid UTF-8 (an exception message may quote client bytes) instead of throwing.
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

HttpRequest make_request_head(const http::request_header<>& header) {
  HttpRequest r;
  r.method = std::string(header.method_string());
  set_target(r, header.target());
  for (const auto& field : header) r.headers[std::string(field.name_string())] = std::string(field.value());
  return r;
}

}  // namespace detail

namespace {

// The Dispatcher of a plain Handler: every body whole, within the server's limits.
Dispatcher dispatch_to(Handler handler) {
  auto shared = std::make_shared<const Handler>(std::move(handler));
  return [shared](const HttpRequest&) {
    Exchange exchange;
    exchange.answer = [shared](const HttpRequest& request, BodyReader*) { return (*shared)(request); };
    return exchange;
  };
}

// The Dispatcher of a Router, which the server then owns.
Dispatcher dispatch_to(Router router) {
  auto shared = std::make_shared<const Router>(std::move(router));
  return [shared](const HttpRequest& head) { return shared->exchange(head); };
}

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions options, Dispatcher dispatcher) : core(std::move(options), std::move(dispatcher)) {}
  detail::ServerCore core;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), dispatch_to(std::move(handler)))) {}

HttpServer::HttpServer(HttpServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), dispatch_to(std::move(router)))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() { impl_->core.start(); }

void HttpServer::stop() {
  if (impl_) impl_->core.stop();
}

uint16_t HttpServer::port() const { return impl_->core.port(); }

}  // namespace sluice::server
