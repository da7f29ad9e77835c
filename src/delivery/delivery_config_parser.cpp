#include "delivery/delivery_config_parser.h"

#include <array>

#include "config/destination.h"

namespace sluice::delivery {
namespace {

using config::Kind;
using config::Node;
using config::Reader;
using config::Section;

const Section& buffer_section() {
  static const Section section{{
      {.name = "size",
       .kind = Kind::kSize,
       .description = "an object is written when this much is buffered",
       .default_value = "5MiB",
       .min = static_cast<int64_t>(kMinBufferBytes),
       .max = static_cast<int64_t>(kMaxBufferBytes)},
      {.name = "interval",
       .kind = Kind::kDuration,
       .description = "... or when the oldest buffered record is this old",
       .default_value = "300s",
       .max = kMaxBufferInterval.count()},
  }};
  return section;
}

void parse_destination(Reader& r, const Node& node, const std::string& path, DeliveryConfig& d) {
  const auto to = r.string(node, delivery_section()["to"], path);
  if (!to) return;
  std::string why;
  const auto folder = config::parse_s3_folder(*to, &why);
  if (!folder) {
    r.error(node["to"], path + ".to", why);
    return;
  }
  r.check_bucket_declared(node["to"], path + ".to", folder->bucket);
  // The prefix is kept as written: Firehose appends names to it.
  d.bucket = folder->bucket;
  d.prefix = folder->key;
  if (auto bad = validate_prefix(d.prefix); !bad.empty()) r.error(node["to"], path + ".to", bad);
}

// Where the records come from: a declared stream, or producers directly (direct_put: true) — exactly
// one of the two.
void parse_source(Reader& r, const Node& node, const std::string& path, DeliveryConfig& d) {
  const Section& keys = delivery_section();
  if (auto direct = r.boolean(node, keys["direct_put"], path)) d.direct_put = *direct;
  if (auto s = r.string(node, keys["stream"], path)) {
    d.stream = *s;
    if (d.direct_put) {
      r.error(node["stream"], path + ".stream",
              "a direct_put delivery is fed by PutRecord/PutRecordBatch, not by a stream: remove stream: or "
              "direct_put: true");
    } else if (!r.declared().streams.count(*s)) {
      r.error(node["stream"], path + ".stream", "no stream named \"" + *s + "\" is declared under streams:");
    }
  } else if (!d.direct_put && !node["stream"]) {
    r.error(node, path,
            "missing required key \"stream\" (the declared stream it reads), or direct_put: true");
  }
  // A delivery's name is a Firehose delivery stream name (and a DirectPut one names its buffer).
  if (d.name.empty() || d.name.size() > kMaxDeliveryNameBytes ||
      d.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    r.error(node, path,
            "a delivery's name must be 1 to " + std::to_string(kMaxDeliveryNameBytes) +
                " characters of A-Z a-z 0-9 _ . - (a Firehose delivery stream name)");
  }
}

}  // namespace

const Section& delivery_section() {
  static const Section section{{
      {.name = "stream", .description = "the declared stream it reads (or direct_put: true)"},
      {.name = "direct_put",
       .kind = Kind::kBoolean,
       .description = "fed by Firehose PutRecord/PutRecordBatch instead of a stream",
       .default_value = "false"},
      {.name = "to",
       .description = "s3://BUCKET/PREFIX; may hold !{timestamp:...} and !{partitionKeyFromQuery:...}",
       .required = true,
       .pattern = "^s3://[^/]+"},
      {.name = "error_prefix",
       .description = "+ NAME/: records that cannot be partitioned",
       .default_value = "delivery-errors/"},
      {.name = "buffer",
       .kind = Kind::kMapping,
       .description = "buffering hints, whichever comes first",
       .section = &buffer_section()},
      {.name = "compression",
       .kind = Kind::kEnum,
       .description = "of the objects written",
       .default_value = "none",
       .values = {"none", "gzip", "zstd"}},
      {.name = "delimiter", .description = "appended after each record", .default_value = "\n"},
  }};
  return section;
}

void parse_delivery(Reader& r, const Reader::Entry& entry, DeliveryConfig& d) {
  const Section& keys = delivery_section();
  const Node& node = entry.value;
  const std::string& path = entry.path;
  d.name = entry.name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, keys);
  parse_source(r, node, path, d);
  parse_destination(r, node, path, d);
  if (auto e = r.string(node, keys["error_prefix"], path)) {
    d.error_prefix = *e;
    if (auto bad = validate_prefix(*e); !bad.empty())
      r.error(node["error_prefix"], path + ".error_prefix", bad);
  }
  if (const Node buffer = r.mapping(node, keys["buffer"], path)) {
    const std::string p = path + ".buffer";
    if (auto v = r.size(buffer, buffer_section()["size"], p)) d.buffer_bytes = *v;
    if (auto v = r.duration(buffer, buffer_section()["interval"], p)) d.buffer_interval = *v;
  }
  if (auto c = r.choice(node, keys["compression"], path))
    d.compression = std::array{Compression::kNone, Compression::kGzip, Compression::kZstd}[*c];
  if (auto v = r.string(node, keys["delimiter"], path)) d.delimiter = *v;
}

}  // namespace sluice::delivery
