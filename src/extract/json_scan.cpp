#include "extract/json_scan.h"

#include <simdjson.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.h"

namespace sluice::extract {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
constexpr int kMaxDepth = 1024;  // as simdjson's default

// Thrown inside the scanner at the first error; run() turns it into JsonScanResult::error.
struct Invalid {
  uint64_t offset;
  std::string reason;
};

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty()) return out;
  size_t start = 0;
  for (;;) {
    const auto dot = path.find('.', start);
    out.emplace_back(
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Recursive descent over a text that arrives in chunks. Positions are byte offsets in the whole text.
class Scanner {
 public:
  Scanner(const JsonScanOptions& options, JsonScanResult& result)
      : options_(options), result_(result), strings_(split_path(options.string_path)) {
    if (options.records_path) records_ = split_path(*options.records_path);
  }

  void from_file(int fd) {
    fd_ = fd;
    buffer_.resize(kChunkBytes);
    data_ = buffer_.data();
  }
  void from_text(std::string_view text) {
    data_ = text.data();
    end_ = text.size();
  }

  void run() {
    try {
      skip_space();
      value(0, options_.records_path ? 0 : -1, strings_.empty() ? -1 : 0);
      skip_space();
      if (peek() >= 0) fail("unexpected text after the JSON value", offset());
    } catch (const Invalid& e) {
      result_.error = JsonScanResult::Error{e.offset, e.reason};
    }
  }

 private:
  [[noreturn]] static void fail(std::string reason, uint64_t at) { throw Invalid{at, std::move(reason)}; }

  uint64_t offset() const { return base_ + pos_; }

  // The next chunk of a file; false at its end (or for a text in memory).
  bool fill() {
    if (fd_ < 0) return false;
    if (capturing_) {
      captured_.append(data_ + capture_start_, end_ - capture_start_);
      capture_start_ = 0;
    }
    base_ += end_;
    pos_ = end_ = 0;
    ssize_t n;
    do {
      n = ::pread(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(base_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      const int error = errno;
      const std::string message = "cannot read a response back from its temporary file at byte " +
                                  std::to_string(base_) + ": " + std::strerror(error);
      if (is_system_errno(error)) throw SystemError(message);
      throw sluice::Error(message);
    }
    end_ = static_cast<size_t>(n);
    if (end_ == 0) return false;
    if (options_.on_chunk) options_.on_chunk(std::string_view(data_, end_));
    return true;
  }

  // The next byte (0..255) without taking it, or -1 at the end of the text.
  int peek() {
    if (pos_ == end_ && !fill()) return -1;
    return static_cast<unsigned char>(data_[pos_]);
  }

  void skip_space() {
    for (;;) {
      while (pos_ < end_ && is_space(data_[pos_])) ++pos_;
      if (pos_ < end_ || !fill()) return;
    }
  }

  void value(int depth, int records_matched, int string_matched) {
    if (depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth) + " levels", offset());
    const bool records_here = records_matched >= 0 && static_cast<size_t>(records_matched) == records_.size();
    const bool string_here = string_matched >= 0 && static_cast<size_t>(string_matched) == strings_.size();
    const int c = peek();
    if (records_here && c != '[') result_.records = JsonScanResult::Records::kNotArray;
    if (c == '{') return object(depth, records_matched, string_matched);
    if (c == '[') return array(depth, records_here);
    if (c == '"') {
      if (!string_here) return string(nullptr);
      std::string token;
      string(&token);
      result_.string_value = unescape(token);
      return;
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    if (c == '-' || is_digit(c)) return number();
    fail(c < 0 ? "expected a JSON value, found the end of the response" : "expected a JSON value", offset());
  }

  void object(int depth, int records_matched, int string_matched) {
    ++pos_;  // '{'
    bool records_key_seen = false, string_key_seen = false;
    skip_space();
    if (peek() == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      int c = peek();
      if (c != '"') fail(c < 0 ? "unterminated object" : "expected a string (an object key)", offset());
      const bool records_wanted =
          !records_key_seen && records_matched >= 0 && static_cast<size_t>(records_matched) < records_.size();
      const bool string_wanted =
          !string_key_seen && string_matched >= 0 && static_cast<size_t>(string_matched) < strings_.size();
      int records_child = -1, string_child = -1;
      if (records_wanted || string_wanted) {
        std::string token;
        string(&token);
        const auto key = unescape(token);
        if (key && records_wanted && *key == records_[static_cast<size_t>(records_matched)]) {
          records_child = records_matched + 1;
          records_key_seen = true;  // of repeated keys the first counts
        }
        if (key && string_wanted && *key == strings_[static_cast<size_t>(string_matched)]) {
          string_child = string_matched + 1;
          string_key_seen = true;
        }
      } else {
        string(nullptr);
      }
      skip_space();
      if (peek() != ':') fail("expected ':' after an object key", offset());
      ++pos_;
      skip_space();
      value(depth + 1, records_child, string_child);
      skip_space();
      c = peek();
      if (c == ',') {
        ++pos_;
        skip_space();
        continue;
      }
      if (c == '}') {
        ++pos_;
        return;
      }
      fail(c < 0 ? "unterminated object" : "expected ',' or '}' after an object member", offset());
    }
  }

  void array(int depth, bool records_here) {
    ++pos_;  // '['
    if (records_here) result_.records = JsonScanResult::Records::kArray;
    if (depth == 0) result_.root_is_array = true;
    skip_space();
    if (peek() == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      if (records_here) begin_capture();
      value(depth + 1, -1, -1);
      if (records_here) {
        emit_record(end_capture());
        ++result_.record_count;
      }
      if (depth == 0) ++result_.root_elements;
      skip_space();
      const int c = peek();
      if (c == ',') {
        ++pos_;
        skip_space();
        continue;
      }
      if (c == ']') {
        ++pos_;
        return;
      }
      fail(c < 0 ? "unterminated array" : "expected ',' or ']' after an array element", offset());
    }
  }

  // A string token; its bytes (quotes included) are appended to `token` when given.
  void string(std::string* token) {
    const uint64_t start = offset();
    ++pos_;  // '"'
    if (token) token->push_back('"');
    for (;;) {
      const size_t run = pos_;
      while (pos_ < end_) {
        const auto c = static_cast<unsigned char>(data_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++pos_;
      }
      if (token) token->append(data_ + run, pos_ - run);
      const int c = peek();
      if (c < 0) fail("unterminated string (it starts at byte " + std::to_string(start) + ")", offset());
      if (c == '"') {
        ++pos_;
        if (token) token->push_back('"');
        return;
      }
      if (c < 0x20) fail("control character in a string (it must be escaped)", offset());
      if (c == '\\') {
        escape(token);
      } else if (c >= 0x80) {
        utf8_sequence(token);
      }  // else: plain text at the start of a new chunk, taken by the next run
    }
  }

  void take(std::string* token) {
    if (token) token->push_back(data_[pos_]);
    ++pos_;
  }

  void escape(std::string* token) {
    const uint64_t at = offset();
    take(token);  // '\'
    const int c = peek();
    if (c == 'u') {
      take(token);
      const unsigned unit = hex4(token);
      if (unit >= 0xDC00 && unit <= 0xDFFF)
        fail("invalid \\u escape (a low surrogate without a high one)", at);
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        // A high surrogate must be followed by a low one: \uD83D\uDE00.
        if (peek() != '\\') fail("invalid \\u escape (a high surrogate without a low one)", at);
        take(token);
        if (peek() != 'u') fail("invalid \\u escape (a high surrogate without a low one)", at);
        take(token);
        const unsigned low = hex4(token);
        if (low < 0xDC00 || low > 0xDFFF) fail("invalid \\u escape (a high surrogate without a low one)", at);
      }
      return;
    }
    if (c <= 0 || std::strchr("\"\\/bfnrt", c) == nullptr) fail("invalid escape in a string", offset());
    take(token);
  }

  // The 4 hex digits of a \u escape.
  unsigned hex4(std::string* token) {
    unsigned unit = 0;
    for (int i = 0; i < 4; ++i) {
      const int c = peek();
      if (!is_hex(c)) fail("invalid \\u escape (it needs 4 hex digits)", offset());
      unit = unit * 16 + static_cast<unsigned>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
      take(token);
    }
    return unit;
  }

  // One multi-byte UTF-8 character (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
  void utf8_sequence(std::string* token) {
    const uint64_t at = offset();
    const int lead = peek();
    int more = 0;
    int low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      more = 1;
    } else if (lead == 0xE0) {
      more = 2, low = 0xA0;
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
      more = 2;
    } else if (lead == 0xED) {
      more = 2, high = 0x9F;
    } else if (lead == 0xF0) {
      more = 3, low = 0x90;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      more = 3;
    } else if (lead == 0xF4) {
      more = 3, high = 0x8F;
    } else {
      fail("invalid UTF-8", at);
    }
    take(token);
    for (int i = 0; i < more; ++i) {
      const int c = peek();
      if (c < low || c > high) fail("invalid UTF-8", at);
      take(token);
      low = 0x80, high = 0xBF;
    }
  }

  void digits() {
    while (is_digit(peek())) ++pos_;
  }

  void number() {
    if (peek() == '-') ++pos_;
    const int first = peek();
    if (first == '0') {
      ++pos_;
    } else if (is_digit(first)) {
      digits();
    } else {
      fail("expected a digit", offset());
    }
    if (peek() == '.') {
      ++pos_;
      if (!is_digit(peek())) fail("expected a digit after the decimal point", offset());
      digits();
    }
    if (const int e = peek(); e == 'e' || e == 'E') {
      ++pos_;
      if (const int sign = peek(); sign == '+' || sign == '-') ++pos_;
      if (!is_digit(peek())) fail("expected a digit in the exponent", offset());
      digits();
    }
  }

  void literal(std::string_view word) {
    const uint64_t start = offset();
    for (char expected : word) {
      if (peek() != static_cast<unsigned char>(expected))
        fail("invalid literal (expected " + std::string(word) + ")", start);
      ++pos_;
    }
  }

  void begin_capture() {
    capturing_ = true;
    capture_start_ = pos_;
    captured_.clear();
  }

  std::string_view end_capture() {
    capturing_ = false;
    if (captured_.empty()) return std::string_view(data_ + capture_start_, pos_ - capture_start_);
    captured_.append(data_ + capture_start_, pos_ - capture_start_);
    return captured_;
  }

  void emit_record(std::string_view record) {
    minified_.resize(record.size());
    size_t length = 0;
    if (simdjson::minify(record.data(), record.size(), minified_.data(), length) != simdjson::SUCCESS) {
      minified_.assign(record);  // cannot happen for a checked value; keep it as written
      length = record.size();
    }
    if (options_.on_record) options_.on_record(std::string_view(minified_.data(), length));
  }

  // The value of a string token (quotes included); nullopt when it has a lone surrogate escape.
  std::optional<std::string> unescape(const std::string& token) {
    if (token.find('\\') == std::string::npos) return token.substr(1, token.size() - 2);
    std::string_view value;
    if (token_parser_.parse(token).get_string().get(value)) return std::nullopt;
    return std::string(value);
  }

  const JsonScanOptions& options_;
  JsonScanResult& result_;
  std::vector<std::string> records_;  // records_path split at dots
  std::vector<std::string> strings_;  // string_path split at dots

  int fd_ = -1;
  std::string buffer_;
  const char* data_ = nullptr;
  size_t pos_ = 0, end_ = 0;  // in data_
  uint64_t base_ = 0;         // offset of data_[0] in the text

  bool capturing_ = false;
  size_t capture_start_ = 0;
  std::string captured_;  // a record that spans chunks
  std::string minified_;
  simdjson::dom::parser token_parser_;
};

}  // namespace

JsonScanResult scan_json_file(int fd, const JsonScanOptions& options) {
  JsonScanResult result;
  Scanner scanner(options, result);
  scanner.from_file(fd);
  scanner.run();
  return result;
}

JsonScanResult scan_json(std::string_view text, const JsonScanOptions& options) {
  JsonScanResult result;
  Scanner scanner(options, result);
  scanner.from_text(text);
  scanner.run();
  return result;
}

}  // namespace sluice::extract
