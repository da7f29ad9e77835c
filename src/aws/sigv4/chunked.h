// The aws-chunked content encoding of S3 uploads (Content-Encoding: aws-chunked), decoded as it
// streams: each chunk is "HEX-SIZE[;chunk-signature=SIG]\r\nDATA\r\n", the last one of size 0,
// followed by optional trailing headers ("x-amz-checksum-crc32:...\r\n", and for a signed trailer
// "x-amz-trailer-signature:SIG\r\n") and an empty line.
//
// Signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) chain: chunk N's signature is
//   HMAC(signing key, "AWS4-HMAC-SHA256-PAYLOAD\n" DATE "\n" SCOPE "\n" SIG(N-1) "\n"
//                     hex(sha256("")) "\n" hex(sha256(DATA(N))))
// SIG(0) being the request's own (seed) signature; the trailer's is
//   HMAC(signing key, "AWS4-HMAC-SHA256-TRAILER\n" DATE "\n" SCOPE "\n" SIG(last chunk) "\n"
//                     hex(sha256("name:value\n" for each trailing header)))
//
// Memory is bounded whatever the client sends: one input buffer (64 KiB), a chunk-size line of at most
// kMaxChunkLineBytes, trailing headers of at most kMaxTrailerBytes; chunk data is hashed as it passes
// and never held whole.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/http_server.h"

namespace sluice::aws {

inline constexpr size_t kMaxChunkLineBytes = 4096;
inline constexpr size_t kMaxTrailerBytes = 16 << 10;
inline constexpr size_t kMaxTrailerLines = 32;
// S3's smallest chunk but the last (InvalidChunkSizeError), for signed chunks.
inline constexpr uint64_t kMinSignedChunkBytes = 8192;

// What signed chunks are checked against (from the request's verified SigV4 header signature).
struct ChunkSigning {
  std::string signing_key;     // raw 32 bytes
  std::string seed_signature;  // hex, the request's own signature
  std::string amz_date;        // YYYYMMDDTHHMMSSZ
  std::string scope;           // DATE/REGION/SERVICE/aws4_request
};

struct ChunkedOptions {
  bool signed_chunks = false;           // every chunk carries ;chunk-signature=
  bool signed_trailer = false;          // the trailer carries x-amz-trailer-signature (signed_chunks only)
  std::optional<ChunkSigning> signing;  // nullopt: signatures are parsed but not checked
};

// Incremental SHA-256 (or another EVP digest) over pieces. Throws std::bad_alloc when OpenSSL cannot
// allocate its context.
class Digest {
 public:
  explicit Digest(const EVP_MD* md);
  void update(const char* data, size_t size);
  // The raw digest of everything given since construction or the last finish(); starts over.
  std::string finish();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  const EVP_MD* md_;
  std::unique_ptr<EVP_MD_CTX, Free> context_;
};

// The decoded body of an aws-chunked `source`. read() throws server::HttpError with S3's codes: 400
// IncompleteBody (the source ended before the last chunk and its empty line), 400
// InvalidChunkSizeError (a size line that is not hex, too long, or a signed chunk but the last
// smaller than 8 KiB), 403 SignatureDoesNotMatch (a chunk or trailer signature missing or wrong),
// 400 InvalidRequest (malformed framing or trailer, bytes after the end), and what `source` throws.
class AwsChunkedDecoder final : public server::BodyReader {
 public:
  AwsChunkedDecoder(server::BodyReader& source, ChunkedOptions options);
  size_t read(char* out, size_t max) override;
  std::optional<uint64_t> declared_size() const override { return std::nullopt; }
  uint64_t bytes_read() const override { return decoded_; }
  // The trailing headers (names lower-case, x-amz-trailer-signature left out), once read() returned 0.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailer, kDone };
  bool fill();
  char next_byte();
  std::string read_line(size_t limit, const char* what);
  void start_chunk(const std::string& line);
  void end_chunk();
  void read_trailer();
  void check_chunk_signature(const std::string& data_hash_hex);

  server::BodyReader& source_;
  ChunkedOptions options_;
  std::string buffer_;
  size_t at_ = 0;
  State state_ = State::kSizeLine;
  uint64_t remaining_ = 0;  // of the current chunk's data
  uint64_t chunk_size_ = 0;
  uint64_t chunks_ = 0;
  uint64_t decoded_ = 0;
  bool previous_small_ = false;  // the previous chunk was below kMinSignedChunkBytes
  std::string chunk_signature_;  // claimed for the current chunk
  std::string previous_signature_;
  Digest chunk_hash_;
  std::vector<std::pair<std::string, std::string>> trailers_;
};

}  // namespace sluice::aws
