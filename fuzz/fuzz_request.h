// Fuzz inputs as HTTP requests: "METHOD TARGET\nName: value\n...\n\nBODY" (any line may be missing or
// malformed: what cannot be read becomes an empty part), filled as the server fills HttpRequest.
#pragma once

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_server.h"

namespace sluice::fuzz {

server::HttpRequest request_from(std::string_view input);

// A body handed out `piece` bytes at a time.
class PieceReader final : public server::BodyReader {
 public:
  PieceReader(std::string_view data, size_t piece) : data_(data), piece_(std::max<size_t>(piece, 1)) {}
  size_t read(char* out, size_t max) override {
    const size_t n = std::min({max, piece_, data_.size() - at_});
    if (n > 0) std::memcpy(out, data_.data() + at_, n);
    at_ += n;
    return n;
  }
  std::optional<uint64_t> declared_size() const override { return data_.size(); }
  uint64_t bytes_read() const override { return at_; }

 private:
  std::string_view data_;
  size_t piece_;
  size_t at_ = 0;
};

}  // namespace sluice::fuzz
