// Small helpers of the native API's route files: JSON answers, one-line JSON errors, ?limit=N, and
// request bodies parsed with the depth limit every endpoint uses.
#pragma once

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/json_limits.h"
#include "server/http_server.h"

namespace sluice::daemon {

inline server::HttpResponse json_response(int status, const nlohmann::json& body) {
  server::HttpResponse response;
  response.status = status;
  response.headers["Content-Type"] = "application/json";
  response.body = body.dump() + "\n";
  return response;
}

inline server::HttpResponse error_response(int status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

// An integer query parameter from 1 to `max` (`fallback` when absent); nullopt after setting `bad`
// to the 400 answer when malformed.
inline std::optional<int> int_param(const server::HttpRequest& request, const std::string& name, int fallback,
                                    int max, server::HttpResponse& bad) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || value < 1 || value > max) {
    bad = error_response(
        400, name + " must be an integer from 1 to " + std::to_string(max) + ", got \"" + it->second + "\"");
    return std::nullopt;
  }
  return value;
}

// The body as JSON with the depth limit (common/json_limits.h); nullopt after setting `bad` to the
// 400 answer (the reason, then what was expected).
inline std::optional<nlohmann::json> json_body(const server::HttpRequest& request,
                                               const std::string& expected, server::HttpResponse& bad) {
  try {
    return parse_json_limited(request.body);
  } catch (const Error& e) {
    bad = error_response(400, std::string(e.what()) + "; expected " + expected);
    return std::nullopt;
  }
}

}  // namespace sluice::daemon
