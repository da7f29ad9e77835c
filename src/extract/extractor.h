// The extraction Lambda: one run of an HTTP source into one object. Requests are retried per the
// source's policy; every response must be valid JSON; pages are followed; and only when everything
// succeeded is the object written, in one atomic put. A failed or cancelled run writes nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
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

// Throws sluice::Error with the source name, the URL and what went wrong.
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
