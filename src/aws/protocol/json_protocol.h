// The AWS JSON 1.1 protocol (Kinesis, Firehose, Glue, Athena) as the services under src/aws speak it:
// a POST to "/" with X-Amz-Target "Prefix.Operation" (the router dispatches it) and a JSON object body;
// answers are application/x-amz-json-1.1; errors are server::HttpError answered by the group's
// aws_json_errors() shaper as {"__type": CODE, "message": ...}.
//
// The member readers check what botocore's service models declare (type, length, range) and throw
// the service's validation error naming the member, so every service reports a bad request the same
// way and no handler reads an unchecked value.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "server/router.h"

namespace sluice::aws {

inline constexpr std::string_view kJson11ContentType = "application/x-amz-json-1.1";

// Throws server::HttpError(status, code, message).
[[noreturn]] void fail(int status, std::string code, const std::string& message);

// The request body as a JSON object, parsed with the depth limit of common/json_limits.h. An empty
// body is {} (the AWS CLI sends one for operations without members). Throws HttpError 400
// `malformed_code` ("SerializationException" for Kinesis and Firehose) when the body is not a JSON
// object, saying what was wrong.
nlohmann::json parse_body(const server::RouteRequest& request,
                          std::string_view malformed_code = "SerializationException");

// A 200 answer with `body` serialized, as application/x-amz-json-1.1.
server::HttpResponse json_reply(const nlohmann::json& body);

// Typed members of a request object. Each throws HttpError 400 `invalid_code` (the service's
// validation error: "InvalidArgumentException" for Kinesis, "InvalidInputException" for Glue, ...)
// naming the member and what was expected when it is present with the wrong type or out of range,
// and, for the required_ ones, when it is absent or null.
struct MemberRules {
  std::string_view invalid_code = "InvalidArgumentException";
};
std::string required_string(const nlohmann::json& body, std::string_view member, size_t min_length,
                            size_t max_length, MemberRules rules = {});
std::optional<std::string> optional_string(const nlohmann::json& body, std::string_view member,
                                           size_t min_length, size_t max_length, MemberRules rules = {});
int64_t required_integer(const nlohmann::json& body, std::string_view member, int64_t min, int64_t max,
                         MemberRules rules = {});
std::optional<int64_t> optional_integer(const nlohmann::json& body, std::string_view member, int64_t min,
                                        int64_t max, MemberRules rules = {});
std::optional<bool> optional_boolean(const nlohmann::json& body, std::string_view member,
                                     MemberRules rules = {});

// Base64 (RFC 4648, standard alphabet, with padding), as the JSON protocol carries blobs.
std::string base64_encode(std::string_view bytes);
// Decodes strictly (padding required, no whitespace, no other characters); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

// Epoch seconds with a fraction, the JSON protocol's timestamp shape.
double epoch_seconds(int64_t unix_millis);

}  // namespace sluice::aws
