#include "query/query_log.h"

#include "common/error.h"

namespace sluice::query {
namespace {

using metastore::Statement;

constexpr const char* kColumns =
    "SELECT id, sql, database, state, submitted_ms, ended_ms, planning_ms, execution_ms, rows, "
    "bytes_scanned, "
    "output, error FROM query_history ";

QueryRecord read(const Statement& s) {
  QueryRecord r;
  r.id = s.column_text(0);
  r.sql = s.column_text(1);
  r.database = s.column_text(2);
  r.state = s.column_text(3);
  r.submitted = from_epoch_ms(s.column_int64(4));
  if (auto e = s.column_optional_int64(5)) r.ended = from_epoch_ms(*e);
  r.planning_ms = s.column_int64(6);
  r.execution_ms = s.column_int64(7);
  r.rows = static_cast<uint64_t>(s.column_int64(8));
  r.bytes_scanned = static_cast<uint64_t>(s.column_int64(9));
  r.output = s.column_text(10);
  r.error = s.column_text(11);
  return r;
}

}  // namespace

void QueryLog::start(const std::string& id, const std::string& sql, const std::string& database) {
  db_.transaction([&] {
    Statement(db_,
              "INSERT INTO query_history (id, seq, sql, database, state, submitted_ms) VALUES "
              "(?, (SELECT coalesce(max(seq), 0) + 1 FROM query_history), ?, ?, 'RUNNING', ?)")
        .bind(1, id)
        .bind(2, sql)
        .bind(3, database)
        .bind(4, to_epoch_ms(now_ms()))
        .run();
  });
}

void QueryLog::finish(const QueryRecord& r) {
  db_.transaction([&] {
    Statement(
        db_,
        "UPDATE query_history SET state = ?, ended_ms = ?, planning_ms = ?, execution_ms = ?, rows = ?, "
        "bytes_scanned = ?, output = ?, error = ? WHERE id = ?")
        .bind(1, r.state)
        .bind(2, to_epoch_ms(now_ms()))
        .bind(3, r.planning_ms)
        .bind(4, r.execution_ms)
        .bind(5, static_cast<int64_t>(r.rows))
        .bind(6, static_cast<int64_t>(r.bytes_scanned))
        .bind(7, r.output)
        .bind(8, r.error)
        .bind(9, r.id)
        .run();
    if (db_.changes() != 1) throw Error("metastore: no query with id " + r.id);
  });
}

std::vector<QueryRecord> QueryLog::list(int limit) {
  std::lock_guard lock(db_.mutex());
  Statement s(db_, std::string(kColumns) + "ORDER BY seq DESC LIMIT ?");
  s.bind(1, int64_t{limit});
  std::vector<QueryRecord> out;
  while (s.step()) out.push_back(read(s));
  return out;
}

std::optional<QueryRecord> QueryLog::get(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  Statement s(db_, std::string(kColumns) + "WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read(s);
}

}  // namespace sluice::query
