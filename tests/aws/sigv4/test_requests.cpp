#include "tests/aws/sigv4/test_requests.h"

#include <algorithm>
#include <ctime>

namespace sluice::aws::testing {
namespace {

std::string decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

server::HttpRequest make_request(std::string method, const std::string& target,
                                 std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  server::HttpRequest request;
  request.method = std::move(method);
  request.target = target;
  const size_t question = target.find('?');
  request.raw_path = target.substr(0, question);
  request.raw_query = question == std::string::npos ? "" : target.substr(question + 1);
  request.path = decode(request.raw_path);
  size_t start = 0;
  while (!request.raw_query.empty() && start <= request.raw_query.size()) {
    size_t end = request.raw_query.find('&', start);
    if (end == std::string::npos) end = request.raw_query.size();
    const std::string pair = request.raw_query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key = decode(pair.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : decode(pair.substr(eq + 1));
    request.query[key] = value;
    request.query_params.emplace_back(std::move(key), std::move(value));
  }
  for (auto& [name, value] : headers) request.headers[name] = std::move(value);
  request.body = std::move(body);
  request.peer = "127.0.0.1:40000";
  return request;
}

int64_t utc(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

size_t PieceReader::read(char* out, size_t max) {
  const size_t n = std::min({max, piece_, data_.size() - at_});
  std::copy_n(data_.data() + at_, n, out);
  at_ += n;
  return n;
}

}  // namespace sluice::aws::testing
