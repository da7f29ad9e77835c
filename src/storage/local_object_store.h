// LocalObjectStore: the embedded default of ObjectStore — each object is a file at
// <root>/<bucket>/<key>. Puts are atomic and durable (temporary file, fdatasync, rename, fsync of the
// directory); the ETag (MD5) is kept in an extended attribute of the file, written before the rename,
// and recomputed from the content where the file system has no user xattrs. Content-Type and user
// metadata live in another extended attribute of the same file (lost where there are none), so they
// are never objects of their own. Buckets created at run time are listed in <root>/.sluice-buckets
// (a name no bucket can have), besides their directories.
//
// Limitation of mapping keys to paths: a key cannot be both an object and a "directory" of other
// keys ("a" and "a/b"); S3 allows it, this store refuses the second put with a clear error.
#pragma once

#include <filesystem>
#include <functional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "storage/md5.h"
#include "storage/object_events.h"
#include "storage/object_store.h"

namespace sluice::storage {

class LocalObjectStore : public ObjectStore {
 public:
  // Creates the bucket directories and, when `recover` (the process that owns the data directory),
  // removes temporary files a crash left behind and settles the events a crash left prepared.
  // `events` receives the ObjectCreated events of this store's writes, two-phase (PutEvents in
  // object_events.h); it may be null (no notifications). Throws Error for an invalid bucket name,
  // SystemError when a directory cannot be created.
  // Buckets created earlier through create_bucket() are opened too.
  LocalObjectStore(std::filesystem::path root, std::vector<std::string> buckets, ObjectEventLog* events,
                   bool recover = true);

  std::vector<std::string> buckets() const override;
  bool has_bucket(std::string_view bucket) const override;
  ObjectInfo put(std::string_view bucket, std::string_view key, std::string_view data) override;
  // Streams to a temporary file beside the object's place; commit() is put()'s fdatasync, event and
  // rename. The key's directory rules are checked at once.
  std::unique_ptr<ObjectWriter> open_writer(std::string_view bucket, std::string_view key) override;
  // As open_writer; the options are written as extended attributes of the temporary file before it
  // is renamed into place, so they appear with the object, atomically.
  std::unique_ptr<ObjectWriter> open_writer_with(std::string_view bucket, std::string_view key,
                                                 const WriteOptions& options) override;
  // Creates <root>/<bucket> and records the name in <root>/.sluice-buckets.
  bool create_bucket(std::string_view bucket) override;
  // Removes the (empty) directory and the name from <root>/.sluice-buckets. A bucket the constructor
  // was given comes back at the next start.
  void remove_bucket(std::string_view bucket) override;
  std::string get(std::string_view bucket, std::string_view key) const override;
  std::string get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                        uint64_t length) const override;
  std::optional<ObjectInfo> head(std::string_view bucket, std::string_view key) const override;
  ListResult list(std::string_view bucket, const ListRequest& request) const override;
  bool remove(std::string_view bucket, std::string_view key) override;
  // The object's own file, no copy: the path names whichever object is in place when DuckDB opens it
  // (a replacing put renames a whole new file into place). Throws NotFound, or Error for an invalid
  // key.
  std::unique_ptr<ReadableObject> open_readable(std::string_view bucket, std::string_view key) const override;
  // The store's root directory.
  std::vector<std::filesystem::path> readable_directories() const override;

  // Test hook: called with "before_rename" (data synced in a temporary file, event prepared) and
  // "after_rename" (object in place, event not yet committed), to simulate a crash there (the hook
  // ends the process; it must not throw).
  void set_crash_hook(std::function<void(std::string_view stage)> hook) { crash_hook_ = std::move(hook); }

 private:
  friend class LocalObjectWriter;
  // The object's path after checking that every directory on the way is a real directory (not an
  // object, not a symlink) and that no keys live below it; creates the parent directories.
  std::filesystem::path prepare_destination(std::string_view bucket, std::string_view key);
  std::filesystem::path bucket_dir(std::string_view bucket) const;                         // throws NotFound
  std::filesystem::path object_path(std::string_view bucket, std::string_view key) const;  // validates

  void save_created_buckets() const;  // with buckets_mutex_ held

  std::filesystem::path root_;
  std::vector<std::string> declared_;  // given to the constructor
  mutable std::shared_mutex buckets_mutex_;
  std::vector<std::string> buckets_;  // declared and created, guarded by buckets_mutex_
  PutEvents put_events_;              // where the events of this store's writes go
  std::function<void(std::string_view)> crash_hook_;
  // Writers hold it shared for their lifetime; remove() prunes emptied directories only when it can take
  // it exclusively, so no put in flight loses its directory.
  mutable std::shared_mutex prune_mutex_;
};

}  // namespace sluice::storage
