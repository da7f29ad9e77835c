#include "query/query_log.h"

#include <openssl/evp.h>

#include "common/error.h"

namespace sluice::query {
namespace {

using metastore::Statement;

constexpr const char* kColumns =
    "SELECT id, sql, database, state, submitted_ms, ended_ms, planning_ms, execution_ms, rows, "
    "bytes_scanned, output, error, sql_bytes, sql_sha256 FROM query_history ";

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
  r.sql_bytes = static_cast<uint64_t>(s.column_int64(12));
  r.sql_sha256 = s.column_text(13);
  // Rows written before the columns existed hold the whole text.
  if (r.sql_bytes == 0) r.sql_bytes = r.sql.size();
  return r;
}

}  // namespace

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx): the cut then falls before a character's first
  // byte. A character is at most 4 bytes, so invalid UTF-8 costs at most 3 steps.
  for (int steps = 0; steps < 3 && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; ++steps)
    --end;
  return text.substr(0, end);
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw Error("openssl: SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

void QueryLog::start(const std::string& id, std::string_view sql, const std::string& database,
                     size_t max_sql_bytes) {
  const std::string prefix(utf8_prefix(sql, max_sql_bytes));
  const std::string hash = sha256_hex(sql);
  db_.transaction([&] {
    Statement(db_,
              "INSERT INTO query_history (id, seq, sql, database, state, submitted_ms, sql_bytes, "
              "sql_sha256) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM query_history), ?, ?, "
              "'RUNNING', ?, ?, ?)")
        .bind(1, id)
        .bind(2, prefix)
        .bind(3, database)
        .bind(4, to_epoch_ms(now_ms()))
        .bind(5, static_cast<int64_t>(sql.size()))
        .bind(6, hash)
        .run();
  });
}

void QueryLog::finish(const QueryRecord& r) {
  const std::string error(utf8_prefix(r.error, kMaxHistoryErrorBytes));
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
        .bind(8, error)
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
