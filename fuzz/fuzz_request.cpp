#include "fuzz/fuzz_request.h"

namespace sluice::fuzz {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(plus_is_space && text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

std::string_view next_line(std::string_view& input) {
  const size_t end = input.find('\n');
  const std::string_view line = input.substr(0, end);
  input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  return line;
}

}  // namespace

server::HttpRequest request_from(std::string_view input) {
  server::HttpRequest request;
  const std::string_view first = next_line(input);
  const size_t space = first.find(' ');
  request.method = std::string(first.substr(0, space));
  request.target = space == std::string_view::npos ? "/" : std::string(first.substr(space + 1));
  const size_t question = request.target.find('?');
  request.raw_path = request.target.substr(0, question);
  request.raw_query = question == std::string::npos ? "" : request.target.substr(question + 1);
  request.path = decode(request.raw_path, false);
  std::string_view query = request.raw_query;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      std::string name = decode(pair.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1), true);
      request.query[name] = value;
      request.query_params.emplace_back(std::move(name), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  while (!input.empty()) {
    const std::string_view line = next_line(input);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.headers[std::string(line.substr(0, colon))] = std::string(value);
  }
  request.body = std::string(input);
  request.peer = "127.0.0.1:1";
  return request;
}

}  // namespace sluice::fuzz
