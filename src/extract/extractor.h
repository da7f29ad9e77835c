// The extraction Lambda: one run of an HTTP source into one object. Requests are retried per the
// source's policy; every response must be valid JSON; pages are followed; and only when everything
// succeeded is the object published (ObjectWriter::commit). A failed or cancelled run writes nothing.
//
// Memory stays about one chunk whatever the response size: each response body is streamed by libcurl
// into an unnamed temporary file in ExtractContext::scratch_dir, checked and read from there in one
// pass (extract/json_scan.h), and the object is written in pieces as the records are found. The
// temporary file has no name (O_TMPFILE, or unlinked as soon as it is created), so it disappears with
// the run on every path out, a crash included. Responses count against max_response_bytes each and
// max_total_bytes together.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "common/time.h"
#include "extract/source_config.h"
#include "storage/object_store.h"

namespace sluice::extract {

struct ExtractContext {
  int64_t run_id = 0;
  TimePoint time;                // the schedule slot (or now): key templates are rendered at it
  std::string timezone = "UTC";  // ... in this zone
  // Environment lookup for auth secrets (tests inject their own).
  std::function<std::optional<std::string>(const std::string&)> env;
  const std::atomic<bool>* cancel = nullptr;  // set to abort the run (transfers and back-off waits)
  // Waits between retries; the default sleeps, waking early when `cancel` is set. Tests record instead.
  std::function<void(std::chrono::milliseconds)> sleep;
  uint64_t jitter_seed = std::random_device{}();
  // For sources whose destination is stream://NAME: receives the extracted JSON (an array of the
  // records, or a single response as received) once everything succeeded, instead of an object put.
  std::function<void(const std::string& stream, const std::string& body)> to_stream;
  // Where response bodies are kept while a run reads them (the daemon: DATA_DIR/tmp); created when
  // missing. Empty: the system's temporary directory.
  std::filesystem::path scratch_dir;
};

struct ExtractResult {
  std::string bucket;  // empty when the destination is a stream
  std::string key;
  std::string stream;  // the stream of a stream:// destination
  uint64_t records = 0;
  uint64_t bytes = 0;
  int pages = 0;
  int attempts = 0;  // HTTP requests made, retries included
};

// Throws sluice::Error with the source name, the URL and what went wrong; SystemError when the
// system failed (no space for the temporary file or the object, an I/O error) — retry later.
ExtractResult run_extract(const SourceConfig& source, const ExtractContext& context,
                          storage::ObjectStore& store);

// Checks a destination "s3://bucket/key-template" or "stream://NAME"; empty when fine, else what is wrong.
std::string validate_destination(const std::string& to);

// The key for `template_key` at `context` ({date} {datetime} {run_id} {source}).
std::string render_key(const std::string& template_key, const std::string& source,
                       const ExtractContext& context);

// Offset of the first JSON syntax error in `text`, or nullopt when it is valid JSON. Used to point at
// the error when simdjson rejects a body.
std::optional<size_t> first_json_error_offset(std::string_view text);

}  // namespace sluice::extract
