#include "fuzz/fuzz_request.h"

namespace sluice::fuzz {
namespace {

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
  server::set_target(request, space == std::string_view::npos ? "/" : first.substr(space + 1));
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
