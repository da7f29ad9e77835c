#include "server/error_shapes.h"

#include <nlohmann/json.hpp>

namespace sluice::server {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence at the start of `text` (1..4), or 0 when it is not one.
size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  uint32_t code_point = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  constexpr uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
  const bool overlong = code_point < kShortest[length];
  const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  const bool not_in_xml = code_point == 0xFFFE || code_point == 0xFFFF || code_point > 0x10FFFF;
  return overlong || surrogate || not_in_xml ? 0 : length;
}

std::string json_body(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    switch (c) {
      case '&':
        out += "&amp;";
        ++i;
        continue;
      case '<':
        out += "&lt;";
        ++i;
        continue;
      case '>':
        out += "&gt;";
        ++i;
        continue;
      case '"':
        out += "&quot;";
        ++i;
        continue;
      case '\'':
        out += "&apos;";
        ++i;
        continue;
      default:
        break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out += kReplacement;
      ++i;
      continue;
    }
    const size_t length = utf8_sequence_length(text.substr(i));
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

ErrorShaper native_json_errors() {
  return [](const HttpError& error, const HttpRequest&) {
    HttpResponse response;
    response.status = error.status();
    response.headers["Content-Type"] = "application/json";
    response.body = json_body({{"error", error.what()}}) + "\n";
    return response;
  };
}

ErrorShaper aws_json_errors() {
  return [](const HttpError& error, const HttpRequest&) {
    nlohmann::json body = nlohmann::json::object();
    body["__type"] = error.code();
    body["message"] = error.what();
    for (const auto& [name, value] : error.details) body[name] = value;
    HttpResponse response;
    response.status = error.status();
    response.headers["Content-Type"] = "application/x-amz-json-1.1";
    response.headers["x-amzn-ErrorType"] = error.code();
    response.body = json_body(body);
    return response;
  };
}

ErrorShaper s3_xml_errors() {
  return [](const HttpError& error, const HttpRequest& request) {
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" +
                       xml_escape(error.code()) + "</Code><Message>" + xml_escape(error.what()) +
                       "</Message>";
    for (const auto& [name, value] : error.details) {
      // Element names come from the code, never from the client; refuse anything but a plain name.
      const bool plain =
          !name.empty() &&
          name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
              std::string::npos;
      if (plain) body += "<" + name + ">" + xml_escape(value) + "</" + name + ">";
    }
    body += "<Resource>" + xml_escape(request.path) + "</Resource></Error>";
    HttpResponse response;
    response.status = error.status();
    response.headers["Content-Type"] = "application/xml";
    response.body = std::move(body);
    return response;
  };
}

}  // namespace sluice::server
