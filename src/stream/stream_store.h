// sluice::stream::StreamStore — the streams of a data directory (<data dir>/streams): the ones the
// pipeline file declares, and the ones created at run time (Kinesis CreateStream / DeleteStream).
//
// On disk, each stream is <root>/<name> (stream/local_stream.h). A stream created at run time also
// has <root>/<name>/stream.config: its whole configuration, one "key=value" a line, written
// atomically (temporary file, fsync, rename, directory fsync) before the stream exists under its
// name, so that it is opened again at the next start without being declared. A declared stream is
// opened with the pipeline file's configuration, even when it has a stream.config. Directories
// without either (a stream once declared, then removed from the file) are left alone.
//
// Creating and deleting are atomic on disk: a new stream is built in <root>/~creating-<name> and
// renamed to <root>/<name>; a deleted one is renamed to <root>/~deleting-<name> and then removed.
// '~' is not allowed in stream names, so these never collide with a stream; whatever of them a crash
// left behind is removed when the store is opened next.
//
// What changes at run time (Kinesis IncreaseStreamRetentionPeriod / AddTagsToStream, ...), for a
// declared stream as for a created one, is in <root>/<name>/stream.attributes, written atomically at
// each change and applied when the stream is opened:
//   retention_ms=<ms>        the retention set at run time
//   base_retention_ms=<ms>   the configuration's retention when it was set: when the pipeline file's
//                            retention changes later, the file wins and the run-time value is dropped
//   tag=<key>=<value>        one tag, key and value percent-encoded (bytes outside A-Za-z0-9 -_.)
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "stream/stream.h"

namespace sluice::stream {

// Declared in stream/local_stream.h, which includes this header through stream/stream.h.
class LocalStream;
struct StreamHooks;

// The file holding a run-time stream's configuration, beside its segments.
inline constexpr std::string_view kStreamConfigFile = "stream.config";
// The file holding what was changed at run time (retention, tags), for any stream.
inline constexpr std::string_view kStreamAttributesFile = "stream.attributes";

// A stream's attributes that are not part of its configuration, or that change at run time.
using StreamTags = std::map<std::string, std::string, std::less<>>;
struct StreamAttributes {
  std::chrono::milliseconds retention{0};  // in force now (the configuration's or a run-time change)
  StreamTags tags;
  TimePoint created{};  // when the stream's files were made (its stream.meta); epoch 0 when unknown
};

// The text of a stream.config and its parse. parse_stream_config throws Error naming `file` and
// the line when the text is not one that format_stream_config writes (unknown key, bad value),
// or when the configuration is not valid (validate()).
std::string format_stream_config(const StreamConfig& config);
StreamConfig parse_stream_config(std::string_view text, const std::filesystem::path& file);

class StreamStore {
 public:
  // Opens every declared stream and every stream created at run time under `root` (created when
  // absent), and removes what an interrupted create or remove left. Throws Error on a duplicate
  // declared name or any stream's open error, naming the stream (a declared stream whose persisted
  // shard count differs from `declared` is such an error).
  StreamStore(std::filesystem::path root, const std::vector<StreamConfig>& declared);
  // The same, with test hooks given to every stream it opens or creates.
  StreamStore(std::filesystem::path root, const std::vector<StreamConfig>& declared,
              const StreamHooks& hooks);
  // Closes every stream (each drains its queue and syncs).
  ~StreamStore();
  StreamStore(const StreamStore&) = delete;
  StreamStore& operator=(const StreamStore&) = delete;

  // The stream of that name. The reference stays valid until remove(name); code that may run while
  // another thread removes streams (request handlers) uses share() instead. Throws StreamNotFound.
  Stream& get(std::string_view name);
  const Stream& get(std::string_view name) const;
  // The stream of that name, kept alive by the pointer even if it is removed meanwhile (its calls
  // then throw StreamNotFound). Throws StreamNotFound.
  std::shared_ptr<Stream> share(std::string_view name) const;

  // Every stream's name, sorted. Never throws.
  std::vector<std::string> names() const;
  // True when the pipeline file declares the stream (remove() refuses it). Never throws.
  bool declared(std::string_view name) const;

  // CreateStream: makes a new stream with `config` durably (see the header) and opens it; it is
  // opened again at every start until remove(). Throws StreamExists when a stream of that name is
  // open, Error when the configuration is not valid or <root>/<name> already holds another stream's
  // files (one no longer declared), SystemError when the disk failed; nothing is left on failure.
  Stream& create(const StreamConfig& config);

  // DeleteStream: closes the stream (later calls through share() throw StreamNotFound) and deletes
  // its files. Throws StreamNotFound when there is none, Error when the pipeline file declares it
  // (remove it from the file instead) or its directory cannot be renamed (the stream stays).
  void remove(std::string_view name);

  // The stream's retention in force, tags and creation time. Throws StreamNotFound.
  StreamAttributes attributes(std::string_view name) const;
  // Changes the stream's retention (kept across restarts, see the top of this file); its next
  // enforce_retention applies it. Throws StreamNotFound, Error unless `retention` is positive,
  // SystemError when the attributes file cannot be written (the retention is then unchanged).
  void set_retention(std::string_view name, std::chrono::milliseconds retention);
  // Changes the stream's tags: `edit` gets a copy of them and may change it or throw (then nothing
  // changes and the exception propagates); the result is persisted and kept. Serialized with every
  // other change. Throws StreamNotFound, what `edit` throws, SystemError as set_retention.
  void update_tags(std::string_view name, const std::function<void(StreamTags& tags)>& edit);

  // Every stream's description, sorted by name. Throws what Stream::describe throws.
  std::vector<StreamDescription> describe() const;
  // Stream::enforce_retention of every stream; returns the sum. Throws the first stream's Error.
  size_t enforce_retention(TimePoint now);

 private:
  struct Entry {
    std::shared_ptr<LocalStream> stream;
    bool declared = false;
    StreamTags tags;
    std::optional<std::chrono::milliseconds> retention_change;  // set at run time
    TimePoint created{};
  };
  Entry open_entry(const std::filesystem::path& dir, const StreamConfig& config, bool declared) const;
  void write_attributes(const std::string& name, const Entry& entry) const;
  // A copy of the entry of `name` (taken under mutex_). Throws StreamNotFound.
  Entry entry_copy(std::string_view name) const;
  std::shared_ptr<LocalStream> find(std::string_view name) const;  // nullptr when absent
  std::vector<std::shared_ptr<LocalStream>> all() const;
  void open_created();
  void delete_directory(const std::filesystem::path& dir, const std::string& name);

  const std::filesystem::path root_;
  const std::unique_ptr<const StreamHooks> hooks_;
  std::mutex changes_mutex_;  // serializes create and remove (each takes mutex_ only briefly)
  mutable std::mutex mutex_;  // guards streams_
  std::map<std::string, Entry, std::less<>> streams_;
};

}  // namespace sluice::stream
