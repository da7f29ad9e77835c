#include "aws/sigv4/body.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "aws/sigv4/chunked.h"
#include "aws/sigv4/sigv4.h"
#include "aws/sigv4/sigv4_authenticator.h"
#include "common/crc32c.h"

namespace sluice::aws {
namespace {

using server::HttpError;

// CRC-32 (IEEE 802.3, zlib's), reflected, table-driven.
class Crc32 {
 public:
  void update(const char* data, size_t size) {
    static const std::array<uint32_t, 256> table = [] {
      std::array<uint32_t, 256> t{};
      for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
      }
      return t;
    }();
    uint32_t c = ~crc_;
    for (size_t i = 0; i < size; ++i) c = table[(c ^ static_cast<unsigned char>(data[i])) & 0xff] ^ (c >> 8);
    crc_ = ~c;
  }
  uint32_t value() const { return crc_; }

 private:
  uint32_t crc_ = 0;
};

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v =
        (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    for (int shift : {18, 12, 6}) out += kAlphabet[(v >> shift) & 63];
    out += "=";
  }
  return out;
}

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
          static_cast<char>(value)};
}

std::string header(const server::HttpRequest& request, const char* name) {
  const auto it = request.headers.find(name);
  return it == request.headers.end() ? std::string() : it->second;
}

// The checksum algorithms S3 takes in x-amz-checksum-* headers and trailers.
enum class Algorithm { kCrc32, kCrc32c, kSha1, kSha256 };
struct AlgorithmName {
  Algorithm algorithm;
  const char* header;  // x-amz-checksum-crc32
  const char* label;   // CRC32, as S3's messages name it
};
constexpr AlgorithmName kAlgorithms[] = {{Algorithm::kCrc32, "x-amz-checksum-crc32", "CRC32"},
                                         {Algorithm::kCrc32c, "x-amz-checksum-crc32c", "CRC32C"},
                                         {Algorithm::kSha1, "x-amz-checksum-sha1", "SHA1"},
                                         {Algorithm::kSha256, "x-amz-checksum-sha256", "SHA256"}};

const AlgorithmName* algorithm_of_header(std::string_view name) {
  for (const auto& entry : kAlgorithms) {
    if (name.size() == std::string_view(entry.header).size() &&
        std::equal(name.begin(), name.end(), entry.header,
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
      return &entry;
  }
  return nullptr;
}

// Every digest the request's headers ask for, over the decoded body as it passes.
class Digests {
 public:
  void want(Algorithm algorithm) { wanted_[static_cast<size_t>(algorithm)] = true; }
  void want_md5() { md5_.emplace(EVP_md5()); }
  void want_sha256_hex() { want(Algorithm::kSha256); }
  void start() {
    if (wanted_[static_cast<size_t>(Algorithm::kSha1)]) sha1_.emplace(EVP_sha1());
    if (wanted_[static_cast<size_t>(Algorithm::kSha256)]) sha256_.emplace(EVP_sha256());
  }
  void update(const char* data, size_t size) {
    if (wanted_[static_cast<size_t>(Algorithm::kCrc32)]) crc32_.update(data, size);
    if (wanted_[static_cast<size_t>(Algorithm::kCrc32c)]) crc32c_ = crc32c::extend(crc32c_, data, size);
    if (sha1_) sha1_->update(data, size);
    if (sha256_) sha256_->update(data, size);
    if (md5_) md5_->update(data, size);
  }
  // The raw digests, once the body ended (each computed once).
  void finish() {
    if (sha1_) sha1_raw_ = sha1_->finish();
    if (sha256_) sha256_raw_ = sha256_->finish();
    if (md5_) md5_raw_ = md5_->finish();
  }
  std::string raw(Algorithm algorithm) const {
    switch (algorithm) {
      case Algorithm::kCrc32:
        return big_endian(crc32_.value());
      case Algorithm::kCrc32c:
        return big_endian(crc32c_);
      case Algorithm::kSha1:
        return sha1_raw_;
      case Algorithm::kSha256:
        return sha256_raw_;
    }
    return {};
  }
  const std::string& md5() const { return md5_raw_; }

 private:
  std::array<bool, 4> wanted_{};
  Crc32 crc32_;
  uint32_t crc32c_ = 0;
  std::optional<Digest> sha1_, sha256_, md5_;
  std::string sha1_raw_, sha256_raw_, md5_raw_;
};

// What the request's headers say the decoded body must be.
struct Expectations {
  std::optional<std::string> sha256_hex;                                // x-amz-content-sha256 as a hash
  std::optional<std::string> content_md5;                               // base64
  std::vector<std::pair<const AlgorithmName*, std::string>> checksums;  // header, base64 value
  const AlgorithmName* trailer = nullptr;                               // announced by x-amz-trailer
  std::optional<uint64_t> decoded_length;                               // x-amz-decoded-content-length
};

// The checked body: decoded (when aws-chunked), digested, compared when it ends.
class VerifiedBody final : public server::BodyReader {
 public:
  VerifiedBody(server::BodyReader& raw, std::unique_ptr<AwsChunkedDecoder> decoder, Expectations expect)
      : raw_(raw), decoder_(std::move(decoder)), expect_(std::move(expect)) {
    if (expect_.sha256_hex) digests_.want_sha256_hex();
    if (expect_.content_md5) digests_.want_md5();
    for (const auto& [algorithm, value] : expect_.checksums) digests_.want(algorithm->algorithm);
    if (expect_.trailer) digests_.want(expect_.trailer->algorithm);
    digests_.start();
  }

  size_t read(char* out, size_t max) override {
    if (failure_) throw *failure_;
    if (done_ || max == 0) return 0;
    try {
      const size_t n = decoder_ ? decoder_->read(out, max) : raw_.read(out, max);
      if (n > 0) {
        digests_.update(out, n);
        decoded_ += n;
        if (expect_.decoded_length && decoded_ > *expect_.decoded_length)
          throw HttpError(400, "IncompleteBody",
                          "the decoded body is longer than x-amz-decoded-content-length " +
                              std::to_string(*expect_.decoded_length));
        return n;
      }
      finish();
      done_ = true;
      return 0;
    } catch (const HttpError& e) {
      failure_ = e;
      throw;
    }
  }
  std::optional<uint64_t> declared_size() const override {
    if (expect_.decoded_length) return expect_.decoded_length;
    return decoder_ ? std::nullopt : raw_.declared_size();
  }
  uint64_t bytes_read() const override { return decoded_; }

 private:
  void finish();

  server::BodyReader& raw_;
  std::unique_ptr<AwsChunkedDecoder> decoder_;
  Expectations expect_;
  Digests digests_;
  uint64_t decoded_ = 0;
  bool done_ = false;
  std::optional<HttpError> failure_;
};

[[noreturn]] void bad_digest(const std::string& label) {
  throw HttpError(400, "BadDigest", "The " + label + " you specified did not match the calculated checksum.");
}

void VerifiedBody::finish() {
  if (expect_.decoded_length && decoded_ != *expect_.decoded_length)
    throw HttpError(
        400, "IncompleteBody",
        "You did not provide the number of bytes specified by the x-amz-decoded-content-length header (" +
            std::to_string(decoded_) + " of " + std::to_string(*expect_.decoded_length) + ")");
  digests_.finish();
  if (expect_.sha256_hex) {
    const std::string computed = sigv4::hex(digests_.raw(Algorithm::kSha256));
    if (!sigv4::constant_time_equal(computed, *expect_.sha256_hex)) {
      HttpError error(400, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was computed.");
      error.details = {{"ClientComputedContentSHA256", *expect_.sha256_hex},
                       {"S3ComputedContentSHA256", computed}};
      throw error;
    }
  }
  if (expect_.content_md5 && base64(digests_.md5()) != *expect_.content_md5)
    throw HttpError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
  for (const auto& [algorithm, value] : expect_.checksums)
    if (base64(digests_.raw(algorithm->algorithm)) != value) bad_digest(algorithm->label);
  if (!decoder_) return;
  for (const auto& [name, value] : decoder_->trailers()) {
    const AlgorithmName* algorithm = algorithm_of_header(name);
    if (!algorithm) continue;
    if (algorithm != expect_.trailer)
      throw HttpError(400, "InvalidRequest", "The trailer " + name + " was not announced in x-amz-trailer");
    if (base64(digests_.raw(algorithm->algorithm)) != value) bad_digest(algorithm->label);
  }
  if (expect_.trailer) {
    const auto& trailers = decoder_->trailers();
    const bool present = std::any_of(trailers.begin(), trailers.end(), [&](const auto& t) {
      return algorithm_of_header(t.first) == expect_.trailer;
    });
    if (!present)
      throw HttpError(
          400, "InvalidRequest",
          std::string("x-amz-trailer announced ") + expect_.trailer->header + ", which the body lacks");
  }
}

Expectations expectations_of(const server::HttpRequest& request, bool chunked) {
  Expectations expect;
  const std::string content_sha256 = header(request, "x-amz-content-sha256");
  if (sigv4::is_sha256_hex(content_sha256) && !chunked) {
    std::string lower = content_sha256;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    expect.sha256_hex = lower;
  }
  if (const std::string md5 = header(request, "Content-MD5"); !md5.empty()) {
    if (md5.size() != 24 || md5[22] != '=' || md5[23] != '=')
      throw HttpError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
    expect.content_md5 = md5;
  }
  for (const auto& [name, value] : request.headers)
    if (const AlgorithmName* algorithm = algorithm_of_header(name))
      expect.checksums.emplace_back(algorithm, value);
  if (const std::string trailer = header(request, "x-amz-trailer"); !trailer.empty()) {
    expect.trailer = algorithm_of_header(trailer);
    if (!expect.trailer)
      throw HttpError(400, "InvalidRequest",
                      "x-amz-trailer " + trailer.substr(0, 80) +
                          " is not one of x-amz-checksum-crc32, -crc32c, -sha1, -sha256");
  }
  if (const std::string length = header(request, "x-amz-decoded-content-length"); !length.empty()) {
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), value);
    if (ec != std::errc() || end != length.data() + length.size())
      throw HttpError(400, "InvalidArgument",
                      "x-amz-decoded-content-length must be a number, got " + length.substr(0, 40));
    expect.decoded_length = value;
  }
  return expect;
}

// The aws-chunked decoder `request` asks for (by x-amz-content-sha256 STREAMING-..., or Content-Encoding
// aws-chunked); null for a plain body.
std::unique_ptr<AwsChunkedDecoder> decoder_for(const server::RouteRequest& request,
                                               const SigV4Authenticator* authenticator) {
  const std::string content_sha256 = header(request.http, "x-amz-content-sha256");
  const bool aws_chunked = header(request.http, "Content-Encoding").find("aws-chunked") != std::string::npos;
  const bool streaming = content_sha256.rfind("STREAMING-", 0) == 0;
  if (!streaming && !aws_chunked) return nullptr;
  ChunkedOptions options;
  options.signed_chunks = content_sha256 == sigv4::kStreamingSignedPayload ||
                          content_sha256 == sigv4::kStreamingSignedPayloadTrailer;
  options.signed_trailer = content_sha256 == sigv4::kStreamingSignedPayloadTrailer;
  if (streaming && !options.signed_chunks && content_sha256 != sigv4::kStreamingUnsignedPayloadTrailer)
    throw HttpError(
        400, "InvalidArgument",
        "x-amz-content-sha256 " + content_sha256.substr(0, 80) + " is not a streaming mode S3 knows");
  if (options.signed_chunks && authenticator && authenticator->verifies()) {
    const std::optional<StreamingContext> context = authenticator->streaming_context(request.http);
    if (!context || !context->verify_signatures)
      throw HttpError(403, "SignatureDoesNotMatch",
                      "signed aws-chunked bodies need a request signed with an Authorization header");
    options.signing =
        ChunkSigning{context->signing_key, context->seed_signature, context->amz_date, context->scope};
  }
  return std::make_unique<AwsChunkedDecoder>(*request.body, std::move(options));
}

}  // namespace

std::unique_ptr<server::BodyReader> verified_body(const server::RouteRequest& request,
                                                  const SigV4Authenticator* authenticator) {
  auto decoder = decoder_for(request, authenticator);
  const bool chunked = decoder != nullptr;
  return std::make_unique<VerifiedBody>(*request.body, std::move(decoder),
                                        expectations_of(request.http, chunked));
}

}  // namespace sluice::aws
