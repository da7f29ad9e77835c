// Metastore: the one SQLite database of a data directory (metastore.db, WAL). It holds the run
// history, schedule state, the object event queue, the Data Catalog, the query history, stream
// consumer checkpoints and each delivery's progress (the migrations in metastore.cpp). Writes use synchronous=FULL: a row the metastore acknowledged survives a power loss.
// One connection per process, serialised by a mutex; other processes (the CLI beside the daemon)
// share the file through SQLite's locking with a busy timeout.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::metastore {

class Metastore;

// A prepared statement, finalized when it goes out of scope. The caller holds Metastore::mutex()
// (or is inside Metastore::transaction) while it uses it. Errors throw SystemError for the system's
// failures (disk full, I/O, busy) and Error otherwise.
class Statement {
 public:
  Statement(Metastore& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind by 1-based index.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, const std::optional<int64_t>& value);

  // Steps once: true when a row is available.
  bool step();
  // Steps to completion (for statements without rows).
  void run();

  int64_t column_int64(int index) const;
  std::string column_text(int index) const;
  std::optional<int64_t> column_optional_int64(int index) const;

 private:
  Metastore& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Metastore {
 public:
  explicit Metastore(const std::filesystem::path& file);
  ~Metastore();
  Metastore(const Metastore&) = delete;
  Metastore& operator=(const Metastore&) = delete;

  // Runs `fn` in a transaction (BEGIN IMMEDIATE at the outermost level, a SAVEPOINT when nested),
  // rolled back if it throws. Holds the connection's mutex throughout.
  template <typename Fn>
  auto transaction(Fn&& fn) -> decltype(fn()) {
    std::unique_lock lock(mutex_);
    begin();
    try {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        commit();
      } else {
        auto result = fn();
        commit();
        return result;
      }
    } catch (...) {
      rollback();
      throw;
    }
  }

  void exec(std::string_view sql);
  int64_t last_insert_id();
  int changes();
  std::recursive_mutex& mutex() { return mutex_; }
  sqlite3* handle() { return db_; }
  const std::filesystem::path& file() const { return file_; }
  [[noreturn]] void fail(std::string_view what) const;

 private:
  void migrate();
  void begin();
  void commit();
  void rollback();

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
  std::recursive_mutex mutex_;
  int depth_ = 0;
};

}  // namespace sluice::metastore
