#include "aws/protocol/json_protocol.h"

#include <array>

#include "common/json_limits.h"

namespace sluice::aws {

void fail(int status, std::string code, const std::string& message) {
  throw server::HttpError(status, std::move(code), message);
}

nlohmann::json parse_body(const server::RouteRequest& request, std::string_view malformed_code) {
  const std::string& text = request.http.body;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  nlohmann::json body;
  try {
    body = parse_json_limited(text);
  } catch (const Error& e) {
    fail(400, std::string(malformed_code), std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) fail(400, std::string(malformed_code), "the request body must be a JSON object");
  return body;
}

server::HttpResponse json_reply(const nlohmann::json& body) {
  server::HttpResponse response;
  response.status = 200;
  response.headers["Content-Type"] = std::string(kJson11ContentType);
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

namespace {

const nlohmann::json* member_of(const nlohmann::json& body, std::string_view member) {
  const auto it = body.find(std::string(member));
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

[[noreturn]] void invalid(std::string_view member, const std::string& expected, MemberRules rules) {
  fail(400, std::string(rules.invalid_code),
       "1 validation error detected: Value at '" + std::string(member) +
           "' failed to satisfy constraint: " + expected);
}

std::string checked_string(const nlohmann::json& value, std::string_view member, size_t min_length,
                           size_t max_length, MemberRules rules) {
  if (!value.is_string()) invalid(member, "Member must be a string", rules);
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() < min_length || text.size() > max_length)
    invalid(member,
            "Member must have length between " + std::to_string(min_length) + " and " +
                std::to_string(max_length),
            rules);
  return text;
}

int64_t checked_integer(const nlohmann::json& value, std::string_view member, int64_t min, int64_t max,
                        MemberRules rules) {
  if (!value.is_number_integer()) invalid(member, "Member must be an integer", rules);
  const int64_t number = value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX)
                             ? INT64_MAX
                             : value.get<int64_t>();
  if (number < min || number > max)
    invalid(member, "Member must have value between " + std::to_string(min) + " and " + std::to_string(max),
            rules);
  return number;
}

}  // namespace

std::string required_string(const nlohmann::json& body, std::string_view member, size_t min_length,
                            size_t max_length, MemberRules rules) {
  const nlohmann::json* value = member_of(body, member);
  if (!value) invalid(member, "Member must not be null", rules);
  return checked_string(*value, member, min_length, max_length, rules);
}

std::optional<std::string> optional_string(const nlohmann::json& body, std::string_view member,
                                           size_t min_length, size_t max_length, MemberRules rules) {
  const nlohmann::json* value = member_of(body, member);
  if (!value) return std::nullopt;
  return checked_string(*value, member, min_length, max_length, rules);
}

int64_t required_integer(const nlohmann::json& body, std::string_view member, int64_t min, int64_t max,
                         MemberRules rules) {
  const nlohmann::json* value = member_of(body, member);
  if (!value) invalid(member, "Member must not be null", rules);
  return checked_integer(*value, member, min, max, rules);
}

std::optional<int64_t> optional_integer(const nlohmann::json& body, std::string_view member, int64_t min,
                                        int64_t max, MemberRules rules) {
  const nlohmann::json* value = member_of(body, member);
  if (!value) return std::nullopt;
  return checked_integer(*value, member, min, max, rules);
}

std::optional<bool> optional_boolean(const nlohmann::json& body, std::string_view member, MemberRules rules) {
  const nlohmann::json* value = member_of(body, member);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) invalid(member, "Member must be a boolean", rules);
  return value->get<bool>();
}

namespace {
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) table[static_cast<unsigned char>(kAlphabet[i])] = int8_t(i);
  return table;
}
constexpr auto kDecode = decode_table();
}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n =
        uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return std::nullopt;  // a data character after '='
      v[j] = kDecode[static_cast<unsigned char>(c)];
      if (v[j] < 0) return std::nullopt;
    }
    const uint32_t n = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
    // Canonical encodings only: the bits the padding drops must be zero.
    if ((padding == 1 && (n & 0xff) != 0) || (padding == 2 && (n & 0xffff) != 0)) return std::nullopt;
    out += char(n >> 16);
    if (padding < 2) out += char((n >> 8) & 0xff);
    if (padding < 1) out += char(n & 0xff);
  }
  return out;
}

double epoch_seconds(int64_t unix_millis) { return double(unix_millis) / 1000.0; }

}  // namespace sluice::aws
