// Hash keys, shard ids and sequence numbers: the pure functions of stream/stream.h and of the local
// sequence-number format (stream/local_stream.h).
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <memory>

#include "stream/local_stream.h"

namespace sluice::stream {
namespace {

constexpr HashKey kMaxHashKey = ~HashKey{0};
constexpr std::string_view kShardIdPrefix = "shardId-";
constexpr size_t kShardIdDigits = 12;
constexpr size_t kSequenceShardDigits = 4;
constexpr size_t kSequenceOffsetDigits = 20;
constexpr size_t kSequenceDigits = 1 + kSequenceShardDigits + kSequenceOffsetDigits;

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string zero_padded(uint64_t value, size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

// floor(i * 2^128 / n) without 2^128: with 2^128 = q*n + r it is i*q + floor(i*r / n).
HashKey range_start(int i, int n) {
  const auto un = static_cast<HashKey>(n);
  HashKey q = kMaxHashKey / un;
  HashKey r = kMaxHashKey % un + 1;  // (2^128 - 1) % n + 1 = 2^128 - q*n, at most n
  if (r == un) {
    ++q;
    r = 0;
  }
  const auto ui = static_cast<HashKey>(i);
  return ui * q + (ui * r) / un;
}

}  // namespace

HashKey hash_key_for(std::string_view partition_key) {
  // Fetched once: EVP_md5() makes OpenSSL 3 look the algorithm up on every call, which more than
  // doubles the cost of routing a record (~570 ns against ~240 ns a key). The handle is immutable;
  // it is freed at exit before OpenSSL's own clean-up, which was registered earlier.
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md5(EVP_MD_fetch(nullptr, "MD5", nullptr),
                                                                   &EVP_MD_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (md5 == nullptr ||
      EVP_Digest(partition_key.data(), partition_key.size(), digest, &size, md5.get(), nullptr) != 1 ||
      size != 16) {
    throw Error("cannot compute the MD5 of a partition key: OpenSSL refused MD5 (FIPS mode?)");
  }
  HashKey key = 0;
  for (unsigned int i = 0; i < 16; ++i) key = key << 8 | digest[i];
  return key;
}

std::string hash_key_to_string(HashKey key) {
  if (key == 0) return "0";
  std::string out;
  while (key != 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(key % 10)));
    key /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<HashKey> parse_hash_key(std::string_view text) {
  if (text.empty() || text.size() > 39 || !all_digits(text)) return std::nullopt;
  HashKey value = 0;
  for (char c : text) {
    const auto digit = static_cast<HashKey>(c - '0');
    if (value > (kMaxHashKey - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

HashKeyRange shard_hash_range(int shard_index, int shard_count) {
  if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count) {
    throw Error("shard index " + std::to_string(shard_index) + " is not in 0.." +
                std::to_string(shard_count - 1));
  }
  const HashKey start = range_start(shard_index, shard_count);
  const HashKey end =
      shard_index + 1 == shard_count ? kMaxHashKey : range_start(shard_index + 1, shard_count) - 1;
  return {start, end};
}

int shard_for_hash_key(HashKey key, int shard_count) {
  // The last shard whose range starts at or below `key`; starts increase with the index.
  int lo = 0, hi = shard_count - 1;
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (range_start(mid, shard_count) <= key) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

std::string shard_id(int shard_index) {
  return std::string(kShardIdPrefix) + zero_padded(static_cast<uint64_t>(shard_index), kShardIdDigits);
}

std::optional<int> shard_index_of(std::string_view id) {
  if (!id.starts_with(kShardIdPrefix)) return std::nullopt;
  id.remove_prefix(kShardIdPrefix.size());
  if (id.size() != kShardIdDigits || !all_digits(id)) return std::nullopt;
  uint64_t value = 0;
  std::from_chars(id.data(), id.data() + id.size(), value);
  if (value > static_cast<uint64_t>(INT_MAX)) return std::nullopt;
  return static_cast<int>(value);
}

std::string format_sequence_number(int shard_index, uint64_t offset) {
  return "1" + zero_padded(static_cast<uint64_t>(shard_index), kSequenceShardDigits) +
         zero_padded(offset, kSequenceOffsetDigits);
}

std::optional<SequenceNumber> parse_sequence_number(std::string_view text) {
  if (text.size() != kSequenceDigits || text[0] != '1' || !all_digits(text)) return std::nullopt;
  SequenceNumber out;
  std::from_chars(text.data() + 1, text.data() + 1 + kSequenceShardDigits, out.shard);
  const char* first = text.data() + 1 + kSequenceShardDigits;
  // from_chars reports values above 2^64 - 1 (20 digits can reach 10^20 - 1) as out of range.
  auto [ptr, ec] = std::from_chars(first, text.data() + text.size(), out.offset);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return out;
}

bool sequence_number_less(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

}  // namespace sluice::stream
