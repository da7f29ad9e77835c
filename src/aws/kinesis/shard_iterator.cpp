#include "aws/kinesis/shard_iterator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>

namespace sluice::aws {
namespace {

constexpr std::string_view kUrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kMacBytes = 16;

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t bits = 0;
  int count = 0;
  for (const char c : bytes) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kUrlAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kUrlAlphabet[(bits << (6 - count)) & 63];
  return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const auto index = kUrlAlphabet.find(c);
    if (index == std::string_view::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(index);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  if (count >= 6) return std::nullopt;  // a dangling character carries no whole byte
  return out;
}

}  // namespace

ShardIteratorCodec::ShardIteratorCodec(std::string key) : key_(std::move(key)) {
  if (!key_.empty()) return;
  key_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
    throw Error("kinesis: cannot draw a random key for shard iterators (OpenSSL RAND_bytes failed)");
}

std::string ShardIteratorCodec::mac(std::string_view signed_part) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), kMacBytes);
}

std::string ShardIteratorCodec::encode(const ShardIterator& iterator) const {
  std::string signed_part = base64url(iterator.stream) + "." + iterator.position.token() + "." +
                            std::to_string(to_epoch_ms(iterator.issued));
  return signed_part + "." + base64url(mac(signed_part));
}

ShardIterator ShardIteratorCodec::decode(std::string_view token) const {
  const auto last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos) throw BadIterator("the shard iterator is malformed");
  const std::string_view signed_part = token.substr(0, last_dot);
  const auto given_mac = unbase64url(token.substr(last_dot + 1));
  const std::string expected_mac = mac(signed_part);
  if (!given_mac || given_mac->size() != expected_mac.size() ||
      CRYPTO_memcmp(given_mac->data(), expected_mac.data(), expected_mac.size()) != 0)
    throw BadIterator("the shard iterator was not issued by this server, or was altered");
  // Signed by us: the parts are as encode() wrote them.
  const auto first_dot = signed_part.find('.');
  const auto second_dot = signed_part.rfind('.');
  if (first_dot == std::string_view::npos || second_dot == first_dot)
    throw BadIterator("the shard iterator is malformed");
  auto name = unbase64url(signed_part.substr(0, first_dot));
  const std::string_view issued_text = signed_part.substr(second_dot + 1);
  int64_t issued_ms = 0;
  auto [end, ec] = std::from_chars(issued_text.data(), issued_text.data() + issued_text.size(), issued_ms);
  if (!name || ec != std::errc() || end != issued_text.data() + issued_text.size())
    throw BadIterator("the shard iterator is malformed");
  return {std::move(*name),
          stream::Position::from_token(
              std::string(signed_part.substr(first_dot + 1, second_dot - first_dot - 1))),
          from_epoch_ms(issued_ms)};
}

}  // namespace sluice::aws
