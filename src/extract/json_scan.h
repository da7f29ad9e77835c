// A one-pass JSON checker for responses too large to hold in memory: it reads a file (or a string)
// in chunks, checks the whole text against RFC 8259 (UTF-8 included), and hands out on the way the
// parts the extractor needs — the elements of the records array (minified) and one string value (the
// next page's URL) — without ever building the document. Memory is one chunk plus the largest record.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::extract {

struct JsonScanOptions {
  // Dotted path of object keys ("results", "data.items") to the array whose elements go to
  // on_record; "" is the root itself; nullopt: no records are taken. As json::at_path: every step is
  // an object, and of repeated keys the first counts.
  std::optional<std::string> records_path;
  // Dotted path of a string to return in JsonScanResult::string_value ("info.next"); "" for none.
  std::string string_path;
  // Each element of the records array, minified (whitespace outside strings removed; every value
  // kept as written). May throw: the scan stops and the exception propagates.
  std::function<void(std::string_view record)> on_record;
  // Each chunk of the text as it is read, in order (file scans only). May throw, as on_record.
  std::function<void(std::string_view chunk)> on_chunk;
};

struct JsonScanResult {
  // The first error: where (byte offset) and what; nothing after it was looked at, and the other
  // fields describe only what came before it.
  struct Error {
    uint64_t offset = 0;
    std::string reason;
  };
  std::optional<Error> error;

  bool root_is_array = false;
  uint64_t root_elements = 0;  // elements of the root array

  enum class Records { kMissing, kNotArray, kArray };
  Records records = Records::kMissing;  // what records_path leads to
  uint64_t record_count = 0;
  std::optional<std::string> string_value;  // the string at string_path, unescaped (absent: not a string)
};

// Scans the file open on `fd` from byte 0 to its end (it reads with pread; the descriptor's offset is
// left alone). Throws SystemError (or Error) when the file cannot be read, and whatever a callback
// throws; an invalid text is not an exception but JsonScanResult::error.
JsonScanResult scan_json_file(int fd, const JsonScanOptions& options);

// The same over a text in memory (on_chunk is not called).
JsonScanResult scan_json(std::string_view text, const JsonScanOptions& options = {});

}  // namespace sluice::extract
