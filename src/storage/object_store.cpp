#include "storage/object_store.h"

#include <algorithm>

#include "common/fs.h"

namespace sluice::storage {
namespace {

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string to_hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  if (hex.size() % 2) return out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// The default writer: the object is gathered in memory and put whole at commit. Correct for any
// store; stores with files stream instead.
class BufferedObjectWriter : public ObjectWriter {
 public:
  BufferedObjectWriter(ObjectStore& store, std::string bucket, std::string key)
      : store_(store), bucket_(std::move(bucket)), key_(std::move(key)) {}

  void write(std::string_view data) override { data_.append(data); }
  uint64_t size() const override { return data_.size(); }
  ObjectInfo commit() override {
    if (committed_) throw Error("s3://" + bucket_ + "/" + key_ + " was already committed");
    committed_ = true;
    return store_.put(bucket_, key_, data_);
  }

 private:
  ObjectStore& store_;
  std::string bucket_;
  std::string key_;
  std::string data_;
  bool committed_ = false;
};

}  // namespace

std::unique_ptr<ObjectWriter> ObjectStore::open_writer(std::string_view bucket, std::string_view key) {
  if (!has_bucket(bucket)) throw NotFound("no bucket named \"" + std::string(bucket) + "\"");
  if (std::string why = validate_key(key); !why.empty()) {
    throw Error("invalid key in bucket \"" + std::string(bucket) + "\": " + why + " (key \"" +
                std::string(key.substr(0, 200)) + "\")");
  }
  return std::make_unique<BufferedObjectWriter>(*this, std::string(bucket), std::string(key));
}

std::unique_ptr<ObjectWriter> ObjectStore::open_writer_with(std::string_view bucket, std::string_view key,
                                                            const WriteOptions&) {
  return open_writer(bucket, key);
}

bool ObjectStore::create_bucket(std::string_view bucket) {
  throw Error("cannot create bucket \"" + std::string(bucket) +
              "\": this object store has only the buckets the pipeline file declares");
}

void ObjectStore::remove_bucket(std::string_view bucket) {
  throw Error("cannot delete bucket \"" + std::string(bucket) +
              "\": this object store has only the buckets the pipeline file declares");
}

std::string ObjectStore::get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                                   uint64_t length) const {
  std::string all = get(bucket, key);
  if (offset >= all.size()) return {};
  return all.substr(offset, std::min<uint64_t>(length, all.size() - offset));
}

std::unique_ptr<ReadableObject> ObjectStore::open_readable(std::string_view bucket,
                                                           std::string_view key) const {
  throw Error("cannot read s3://" + std::string(bucket) + "/" + std::string(key) +
              " with SQL: this object store hands out no local files and has no cache");
}

std::string validate_key(std::string_view key) {
  if (key.empty()) return "the key is empty";
  if (key.size() > 1024) return "the key is " + std::to_string(key.size()) + " bytes long; the limit is 1024";
  if (key.front() == '/') return "the key starts with '/'";
  for (unsigned char c : key) {
    if (c == 0) return "the key contains a NUL byte";
    if (c < 0x20 || c == 0x7f) return "the key contains a control character";
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) slash = key.size();
    const std::string_view segment = key.substr(start, slash - start);
    if (segment.empty() && slash != key.size()) return "the key has an empty segment (\"//\")";
    if (segment.empty() && slash == key.size()) return "the key ends with '/'";
    if (segment == "." || segment == "..") return "the key has a \"" + std::string(segment) + "\" segment";
    if (segment.rfind(fs::kTempPrefix, 0) == 0)
      return "the key has a segment starting with the reserved \"" + std::string(fs::kTempPrefix) + "\"";
    start = slash + 1;
  }
  return "";
}

std::string validate_bucket_name(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) {
    return "bucket name " + quote(bucket) + " must be 3 to 63 characters long";
  }
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return "bucket name " + quote(bucket) + " may contain only lower-case letters, digits, '.' and '-'";
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return "bucket name " + quote(bucket) + " must start and end with a letter or digit";
  }
  if (bucket.find("..") != std::string_view::npos)
    return "bucket name " + quote(bucket) + " must not contain \"..\"";
  return "";
}

ListResult list_sorted_keys(const std::vector<std::string>& keys, const ListRequest& request,
                            const std::function<std::optional<ObjectInfo>(const std::string& key)>& head) {
  if (request.max_keys < 0 || request.max_keys > 1000) {
    throw Error("max-keys must be from 0 to 1000, got " + std::to_string(request.max_keys));
  }
  // The continuation token is the hex of the last key or common prefix returned, tagged K or P.
  std::string marker = request.start_after;
  bool marker_is_prefix = false;
  if (!request.continuation_token.empty()) {
    const std::string& token = request.continuation_token;
    const std::string decoded = token.size() > 1 ? from_hex(token.substr(1)) : "";
    if ((token[0] != 'K' && token[0] != 'P') || decoded.empty()) throw Error("invalid continuation token");
    if (decoded > marker) {
      marker = decoded;
      marker_is_prefix = token[0] == 'P';
    }
  }

  ListResult result;
  int count = 0;
  std::string last_emitted;
  bool last_is_prefix = false;
  for (const auto& key : keys) {
    if (key <= marker) continue;
    if (marker_is_prefix && key.compare(0, marker.size(), marker) == 0) continue;
    std::string common;
    if (!request.delimiter.empty()) {
      const size_t at = key.find(request.delimiter, request.prefix.size());
      if (at != std::string::npos) common = key.substr(0, at + request.delimiter.size());
    }
    if (!common.empty() && !result.common_prefixes.empty() && result.common_prefixes.back() == common)
      continue;
    if (count == request.max_keys) {
      result.is_truncated = true;
      break;
    }
    if (!common.empty()) {
      result.common_prefixes.push_back(common);
      last_emitted = common;
      last_is_prefix = true;
    } else {
      auto info = head(key);
      if (!info) continue;  // removed meanwhile
      result.objects.push_back(std::move(*info));
      last_emitted = key;
      last_is_prefix = false;
    }
    ++count;
  }
  if (result.is_truncated) {
    const auto& raw = last_emitted;
    result.next_continuation_token =
        (last_is_prefix ? "P" : "K") + to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  }
  return result;
}

}  // namespace sluice::storage
