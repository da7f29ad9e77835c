// GetPartitions' Expression: a small predicate language over partition keys (see glue.h).
#include <cctype>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "aws/glue/glue.h"
#include "catalog/schema.h"
#include "common/error.h"

namespace sluice::aws {
namespace {

struct Token {
  enum class Kind { kName, kString, kNumber, kOperator, kOpen, kClose, kComma, kEnd } kind;
  std::string text;
};

[[noreturn]] void malformed(std::string_view expression, const std::string& why) {
  throw Error("Expression \"" + std::string(expression.substr(0, 128)) + "\": " + why);
}

std::vector<Token> tokenize(std::string_view e) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < e.size()) {
    const char c = e[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '\'') {
      std::string text;
      for (++i;; ++i) {
        if (i >= e.size()) malformed(e, "a quoted value is not closed");
        if (e[i] == '\'' && i + 1 < e.size() && e[i + 1] == '\'') {
          text += '\'';
          ++i;
        } else if (e[i] == '\'') {
          break;
        } else {
          text += e[i];
        }
      }
      ++i;
      out.push_back({Token::Kind::kString, text});
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
      size_t j = i + 1;
      while (j < e.size() && (std::isdigit(static_cast<unsigned char>(e[j])) || e[j] == '.')) ++j;
      out.push_back({Token::Kind::kNumber, std::string(e.substr(i, j - i))});
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '`') {
      const bool quoted = c == '`';
      size_t j = i + 1;
      while (j < e.size() &&
             (quoted ? e[j] != '`' : (std::isalnum(static_cast<unsigned char>(e[j])) || e[j] == '_')))
        ++j;
      if (quoted && j >= e.size()) malformed(e, "a `quoted` name is not closed");
      out.push_back(
          {Token::Kind::kName, std::string(e.substr(quoted ? i + 1 : i, quoted ? j - i - 1 : j - i))});
      i = quoted ? j + 1 : j;
    } else if (c == '(' || c == ')' || c == ',') {
      out.push_back({c == '('   ? Token::Kind::kOpen
                     : c == ')' ? Token::Kind::kClose
                                : Token::Kind::kComma,
                     {}});
      ++i;
    } else {
      size_t j = i;
      while (j < e.size() && j < i + 2 && std::string_view("=<>!").find(e[j]) != std::string_view::npos) ++j;
      const std::string op(e.substr(i, j - i));
      if (op != "=" && op != "<>" && op != "!=" && op != "<" && op != "<=" && op != ">" && op != ">=")
        malformed(e, "unexpected \"" + std::string(e.substr(i, 1)) + "\"");
      out.push_back({Token::Kind::kOperator, op});
      i = j;
    }
  }
  out.push_back({Token::Kind::kEnd, {}});
  return out;
}

std::optional<double> number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

// -1, 0, 1: numerically when both are numbers, else as strings.
int compare(const std::string& value, const Token& literal) {
  if (literal.kind == Token::Kind::kNumber) {
    const auto a = number(value), b = number(literal.text);
    if (a && b) return *a < *b ? -1 : *a > *b ? 1 : 0;
  }
  return value < literal.text ? -1 : value > literal.text ? 1 : 0;
}

bool holds(const std::string& op, int c) {
  if (op == "=") return c == 0;
  if (op == "<>" || op == "!=") return c != 0;
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

class Parser {
 public:
  Parser(std::string_view expression, const std::vector<std::string>& keys,
         const std::vector<std::string>& values)
      : expression_(expression), tokens_(tokenize(expression)), keys_(keys), values_(values) {}

  bool conjunction() {
    bool result = condition();
    while (keyword("AND")) result = condition() && result;
    if (tokens_[at_].kind != Token::Kind::kEnd) malformed(expression_, "expected AND or the end");
    return result;
  }

 private:
  bool keyword(const char* word) {
    if (tokens_[at_].kind == Token::Kind::kName &&
        catalog::lower(tokens_[at_].text) == catalog::lower(word)) {
      ++at_;
      return true;
    }
    return false;
  }
  const Token& literal() {
    const Token& t = tokens_[at_];
    if (t.kind != Token::Kind::kString && t.kind != Token::Kind::kNumber)
      malformed(expression_, "expected a 'quoted' value or a number");
    ++at_;
    return t;
  }
  bool condition() {
    const Token& key = tokens_[at_];
    if (key.kind != Token::Kind::kName) malformed(expression_, "expected a partition key");
    ++at_;
    size_t index = 0;
    while (index < keys_.size() && catalog::lower(keys_[index]) != catalog::lower(key.text)) ++index;
    if (index == keys_.size())
      malformed(expression_, "\"" + key.text + "\" is not a partition key of the table");
    const std::string& value = index < values_.size() ? values_[index] : std::string();
    if (keyword("IN")) return in_list(value);
    if (keyword("BETWEEN")) {
      const Token& low = literal();
      if (!keyword("AND")) malformed(expression_, "expected AND in BETWEEN");
      return compare(value, low) >= 0 && compare(value, literal()) <= 0;
    }
    if (tokens_[at_].kind != Token::Kind::kOperator)
      malformed(expression_, "expected = <> < <= > >= IN or BETWEEN");
    const std::string op = tokens_[at_++].text;
    return holds(op, compare(value, literal()));
  }
  bool in_list(const std::string& value) {
    if (tokens_[at_++].kind != Token::Kind::kOpen) malformed(expression_, "expected ( after IN");
    bool found = false;
    do {
      found = compare(value, literal()) == 0 || found;
    } while (tokens_[at_].kind == Token::Kind::kComma && ++at_);
    if (tokens_[at_++].kind != Token::Kind::kClose) malformed(expression_, "expected ) closing IN");
    return found;
  }

  std::string_view expression_;
  std::vector<Token> tokens_;
  size_t at_ = 0;
  const std::vector<std::string>& keys_;
  const std::vector<std::string>& values_;
};

}  // namespace

bool partition_matches(std::string_view expression, const std::vector<std::string>& keys,
                       const std::vector<std::string>& values) {
  if (expression.find_first_not_of(" \t\r\n") == std::string_view::npos) return true;
  return Parser(expression, keys, values).conjunction();
}

}  // namespace sluice::aws
