// How a processor's steps become one DuckDB query: each step is a CTE over the previous one's
// result, and user SQL is always followed by a newline before anything is added after it (so that a
// trailing `-- comment` ends there). Internal to the processor.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "process/processor.h"
#include "sql/appender.h"

namespace sluice::process {

// `sql` without a trailing `;` (and the whitespace and comments around it); unchanged when it has
// none. Quotes, identifiers, dollar-quoted strings and comments are skipped, so a `;` inside them
// is kept.
std::string_view strip_trailing_semicolons(std::string_view sql);

// The one query of a chain of steps over `source` (a FROM item: a table or a table function call).
class QueryBuilder {
 public:
  QueryBuilder(sql::Session& session, std::string source);

  // Adds `step` (step number `index` in the processor, for messages). Throws sluice::Error when a
  // flatten would lose values (names that collide or cannot be columns) and SystemError/Error when
  // the result so far does not bind (flatten must describe it).
  void add(const Step& step, size_t index);
  // WITH s0 AS (...), s1 AS (...) ... SELECT * FROM s<last>
  std::string query() const;

 private:
  std::string flatten_body(const Step& step, size_t index, const std::string& previous);
  sql::Session& session_;
  std::vector<std::pair<std::string, std::string>> ctes_;  // name, body
};

// The step's SQL as it is compiled, standing alone (the filter in a WHERE over a table `t`, the sql
// step over an `input`), for a syntax check without any table; empty for steps without SQL text.
std::string standalone_sql(const Step& step);

// "step 2 (filter)" for messages.
std::string step_label(const Step& step, size_t index);

}  // namespace sluice::process
