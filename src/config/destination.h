// Destinations as the pipeline file writes them — "s3://BUCKET/KEY-OR-PREFIX" and "stream://NAME" —
// parsed once, here, into typed values. Sources (`to`), deliveries (`to`), crawler targets and
// query.output_location all go through these functions; nothing else in sluice takes such a text
// apart.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace sluice::config {

// A place in the object store: an object key, a key template ({date}...) or a prefix ("" for the
// whole bucket), depending on who holds it.
struct S3Location {
  std::string bucket;
  std::string key;
  std::string url() const { return "s3://" + bucket + "/" + key; }
  bool operator==(const S3Location&) const = default;
};

struct StreamName {
  std::string name;
  std::string url() const { return "stream://" + name; }
  bool operator==(const StreamName&) const = default;
};

using Destination = std::variant<S3Location, StreamName>;

// "s3://..." or "stream://..." as it would be written in the file.
std::string to_string(const Destination& destination);
inline const S3Location* s3_location(const Destination& d) { return std::get_if<S3Location>(&d); }
inline const StreamName* stream_name(const Destination& d) { return std::get_if<StreamName>(&d); }

// A source's destination: "s3://BUCKET/KEY-TEMPLATE" (a bucket and a non-empty key) or
// "stream://NAME" (no '/'). nullopt with *why saying what was expected otherwise. Never throws.
std::optional<Destination> parse_destination(std::string_view text, std::string* why);

// A folder: "s3://BUCKET", "s3://BUCKET/" or "s3://BUCKET/PREFIX" with the prefix kept as written
// (deliveries append object names to it). nullopt with *why otherwise. Never throws.
std::optional<S3Location> parse_s3_folder(std::string_view text, std::string* why);
// The same with the prefix ending in '/' (or empty), as crawler targets and the query results
// location use it.
std::optional<S3Location> parse_s3_folder_slash(std::string_view text, std::string* why);

// An object: "s3://BUCKET/KEY" with a non-empty key; nullopt for anything else. Never throws.
std::optional<S3Location> parse_s3_object(std::string_view text);

}  // namespace sluice::config
