#include "storage/object_store.h"

#include <algorithm>

namespace sluice::storage {
namespace {

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

std::string ObjectStore::get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                                   uint64_t length) const {
  std::string all = get(bucket, key);
  if (offset >= all.size()) return {};
  return all.substr(offset, std::min<uint64_t>(length, all.size() - offset));
}

}  // namespace sluice::storage
