#include "metastore/metastore.h"

#include "common/error.h"

namespace sluice::metastore {
namespace {

// Each entry migrates the schema from version i to i + 1. Never edit a released entry: add one.
constexpr const char* kMigrations[] = {
    R"sql(
    CREATE TABLE runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      name TEXT NOT NULL,
      trigger TEXT NOT NULL,
      schedule TEXT NOT NULL DEFAULT '',
      slot_ms INTEGER,
      started_ms INTEGER NOT NULL,
      ended_ms INTEGER,
      status TEXT NOT NULL,
      records INTEGER NOT NULL DEFAULT 0,
      bytes INTEGER NOT NULL DEFAULT 0,
      object TEXT NOT NULL DEFAULT '',
      error TEXT NOT NULL DEFAULT '',
      retried_by INTEGER
    );
    CREATE INDEX runs_by_status ON runs(status);
    CREATE TABLE schedule_state (
      name TEXT PRIMARY KEY,
      last_fired_ms INTEGER,
      anchor_ms INTEGER
    );
    CREATE TABLE object_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      state TEXT NOT NULL,              -- pending | ready
      event_name TEXT NOT NULL,
      bucket TEXT NOT NULL,
      key TEXT NOT NULL,
      size INTEGER NOT NULL,
      etag TEXT NOT NULL,
      event_ms INTEGER NOT NULL
    );
    CREATE INDEX object_events_by_state ON object_events(state, id);
    CREATE TABLE event_deliveries (
      consumer TEXT NOT NULL,
      event_id INTEGER NOT NULL REFERENCES object_events(id) ON DELETE CASCADE,
      state TEXT NOT NULL,              -- leased | acked | failed
      lease_until_ms INTEGER NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0,
      reason TEXT NOT NULL DEFAULT '',
      PRIMARY KEY (consumer, event_id)
    );
    )sql",
    // 2: the Data Catalog (databases, tables, schema versions, files and so partitions) and the
    // query history.
    R"sql(
    CREATE TABLE catalog_databases (
      name TEXT PRIMARY KEY,
      created_ms INTEGER NOT NULL
    );
    CREATE TABLE catalog_tables (
      database TEXT NOT NULL REFERENCES catalog_databases(name),
      name TEXT NOT NULL,
      bucket TEXT NOT NULL,
      prefix TEXT NOT NULL,
      format TEXT NOT NULL,
      columns TEXT NOT NULL,            -- JSON, see catalog/schema.h
      partition_keys TEXT NOT NULL,     -- JSON array of names
      version INTEGER NOT NULL,
      crawler TEXT NOT NULL DEFAULT '',
      created_ms INTEGER NOT NULL,
      updated_ms INTEGER NOT NULL,
      PRIMARY KEY (database, name)
    );
    CREATE TABLE catalog_table_versions (
      database TEXT NOT NULL,
      name TEXT NOT NULL,
      version INTEGER NOT NULL,
      columns TEXT NOT NULL,
      partition_keys TEXT NOT NULL,
      changes TEXT NOT NULL,            -- JSON array of sentences
      created_ms INTEGER NOT NULL,
      PRIMARY KEY (database, name, version)
    );
    CREATE TABLE catalog_files (
      database TEXT NOT NULL,
      table_name TEXT NOT NULL,
      key TEXT NOT NULL,
      etag TEXT NOT NULL,
      size INTEGER NOT NULL,
      format TEXT NOT NULL,
      gzip INTEGER NOT NULL,
      partition_values TEXT NOT NULL,   -- JSON array, in partition key order
      partition_path TEXT NOT NULL,
      columns TEXT NOT NULL,
      PRIMARY KEY (database, table_name, key)
    );
    CREATE TABLE query_history (
      id TEXT PRIMARY KEY,              -- the query id (a UUID, as Athena's)
      seq INTEGER NOT NULL,
      sql TEXT NOT NULL,
      database TEXT NOT NULL,
      state TEXT NOT NULL,              -- RUNNING | SUCCEEDED | FAILED
      submitted_ms INTEGER NOT NULL,
      ended_ms INTEGER,
      planning_ms INTEGER NOT NULL DEFAULT 0,
      execution_ms INTEGER NOT NULL DEFAULT 0,
      rows INTEGER NOT NULL DEFAULT 0,
      bytes_scanned INTEGER NOT NULL DEFAULT 0,
      output TEXT NOT NULL DEFAULT '',
      error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX query_history_by_seq ON query_history(seq);
    )sql",
    // 3: consumer checkpoints of streams, and each delivery's progress per shard.
    R"sql(
    CREATE TABLE stream_checkpoints (
      stream TEXT NOT NULL,
      consumer TEXT NOT NULL,
      shard TEXT NOT NULL,
      sequence_number TEXT NOT NULL,
      updated_ms INTEGER NOT NULL,
      PRIMARY KEY (stream, consumer, shard)
    );
    CREATE TABLE delivery_progress (
      delivery TEXT NOT NULL,
      shard TEXT NOT NULL,
      delivered TEXT,                   -- last sequence number in a durable object
      pending_first TEXT,               -- a batch begun and not yet committed
      pending_last TEXT,
      updated_ms INTEGER NOT NULL,
      PRIMARY KEY (delivery, shard)
    );
    )sql",
    // 4: long SQL is kept in the query history as a bounded prefix: its full length and SHA-256
    // identify it.
    R"sql(
    ALTER TABLE query_history ADD COLUMN sql_bytes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE query_history ADD COLUMN sql_sha256 TEXT NOT NULL DEFAULT '';
    )sql",
};

}  // namespace

Statement::Statement(Metastore& db, std::string_view sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db_.handle(), sql_.data(), static_cast<int>(sql_.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    db_.fail("prepare");
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) db_.fail("bind");
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK)
    db_.fail("bind");
  return *this;
}
Statement& Statement::bind(int index, std::nullptr_t) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) db_.fail("bind");
  return *this;
}
Statement& Statement::bind(int index, const std::optional<int64_t>& value) {
  return value ? bind(index, *value) : bind(index, nullptr);
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail("step \"" + sql_.substr(0, 60) + "\"");
}

void Statement::run() {
  while (step()) {
  }
}

int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, index))) : std::string();
}

std::optional<int64_t> Statement::column_optional_int64(int index) const {
  if (sqlite3_column_type(stmt_, index) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, index);
}

Metastore::Metastore(const std::filesystem::path& file) : file_(file) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error("cannot open metastore " + file.string() + ": " + why);
  }
  sqlite3_busy_timeout(db_, 10'000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Metastore::~Metastore() { sqlite3_close(db_); }

namespace {
// SQLite's codes for the system's own failures: the disk is full, an I/O error, no memory, the
// database busy beyond the timeout. They are retryable (SystemError); everything else is a bug or a
// broken file (Error).
bool is_system_failure(int code) {
  switch (code & 0xff) {  // the primary code of an extended one
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return true;
    default:
      return false;
  }
}
}  // namespace

void Metastore::fail(std::string_view what) const {
  const std::string message =
      "metastore " + file_.string() + ": " + std::string(what) + ": " + sqlite3_errmsg(db_);
  if (is_system_failure(sqlite3_extended_errcode(db_))) throw SystemError(message);
  throw Error(message);
}

void Metastore::exec(std::string_view sql) {
  std::lock_guard lock(mutex_);
  std::string text(sql);
  char* message = nullptr;
  if (const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message); rc != SQLITE_OK) {
    std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    const std::string full =
        "metastore " + file_.string() + ": " + why + " (in \"" + text.substr(0, 60) + "\")";
    if (is_system_failure(rc)) throw SystemError(full);
    throw Error(full);
  }
}

int64_t Metastore::last_insert_id() { return sqlite3_last_insert_rowid(db_); }
int Metastore::changes() { return sqlite3_changes(db_); }

void Metastore::begin() {
  exec(depth_ == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT nested");
  ++depth_;
}
void Metastore::commit() {
  exec(depth_ == 1 ? "COMMIT" : "RELEASE nested");
  --depth_;
}
void Metastore::rollback() {
  try {
    exec(depth_ == 1 ? "ROLLBACK" : "ROLLBACK TO nested; RELEASE nested");
  } catch (const Error&) {
    // The transaction may already be gone (SQLite rolls back on some errors); nothing to undo.
  }
  --depth_;
}

void Metastore::migrate() {
  transaction([&] {
    exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    Statement read(*this, "SELECT version FROM schema_version");
    int64_t version = read.step() ? read.column_int64(0) : -1;
    if (version < 0) {
      Statement(*this, "INSERT INTO schema_version VALUES (0)").run();
      version = 0;
    }
    constexpr int64_t latest = static_cast<int64_t>(std::size(kMigrations));
    if (version > latest) {
      throw Error("metastore " + file_.string() + " has schema version " + std::to_string(version) +
                  ", newer than this sluice understands (" + std::to_string(latest) + ")");
    }
    for (; version < latest; ++version) exec(kMigrations[version]);
    Statement(*this, "UPDATE schema_version SET version = ?").bind(1, version).run();
  });
}

}  // namespace sluice::metastore
