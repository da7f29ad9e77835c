// Kinesis shard iterators as sluice hands them out: an opaque token naming the stream, the position
// in one of its shards (a stream::Position) and when it was issued, signed so that a client cannot
// forge or edit one.
//
// Format (printable ASCII, at most 512 characters as Kinesis allows):
//   base64url(stream name) "." position token "." issued (epoch ms, decimal) "." base64url(MAC)
// where MAC is the first 16 bytes of HMAC-SHA256(key, everything before the last "."). The key is the
// codec's (per process unless the caller gives one), so iterators do not survive a restart — as with
// Kinesis, where a consumer resumes from its checkpoint, never from an iterator.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time.h"
#include "stream/stream.h"

namespace sluice::aws {

// What an iterator names.
struct ShardIterator {
  std::string stream;
  stream::Position position;
  TimePoint issued{};
};

// Why decode() refused a token.
class BadIterator : public Error {
 public:
  using Error::Error;
};

class ShardIteratorCodec {
 public:
  // How long an iterator is valid after it was issued (Kinesis: 5 minutes).
  static constexpr std::chrono::milliseconds kLifetime{5 * 60 * 1000};

  // A codec signing with `key`; an empty key is replaced by 32 random bytes (per process). Throws
  // Error when no random bytes can be had.
  explicit ShardIteratorCodec(std::string key);

  // The token of `iterator`. Never throws (but for std::bad_alloc).
  std::string encode(const ShardIterator& iterator) const;

  // The iterator a token names. Throws BadIterator (saying what is wrong, without echoing the token
  // whole) when it is not one this codec made, or was changed. Expiry is the caller's to check.
  ShardIterator decode(std::string_view token) const;

 private:
  std::string mac(std::string_view signed_part) const;
  std::string key_;
};

}  // namespace sluice::aws
