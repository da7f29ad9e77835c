#include "aws/sigv4/chunked.h"

#include <algorithm>
#include <cctype>
#include <new>

#include "aws/sigv4/sigv4.h"

namespace sluice::aws {
namespace {

using server::HttpError;

constexpr size_t kInputBufferBytes = 64 << 10;

[[noreturn]] void incomplete() {
  throw HttpError(400, "IncompleteBody",
                  "The request body terminated unexpectedly (aws-chunked body cut short)");
}

[[noreturn]] void invalid_chunk_size(const std::string& why) {
  HttpError error(400, "InvalidChunkSizeError", why);
  throw error;
}

[[noreturn]] void chunk_signature_mismatch(const std::string& why) {
  throw HttpError(403, "SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you provided: " + why);
}

[[noreturn]] void malformed(const std::string& why) { throw HttpError(400, "InvalidRequest", why); }

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The printable start of a client's line, for a message.
std::string quoted(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return "\"" + out + "\"";
}

}  // namespace

Digest::Digest(const EVP_MD* md) : md_(md), context_(EVP_MD_CTX_new()) {
  if (!context_ || EVP_DigestInit_ex(context_.get(), md_, nullptr) != 1) throw std::bad_alloc();
}

void Digest::update(const char* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(context_.get(), data, size);
}

std::string Digest::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_.get(), out, &size);
  EVP_DigestInit_ex(context_.get(), md_, nullptr);
  return std::string(reinterpret_cast<const char*>(out), size);
}

AwsChunkedDecoder::AwsChunkedDecoder(server::BodyReader& source, ChunkedOptions options)
    : source_(source), options_(std::move(options)), chunk_hash_(EVP_sha256()) {
  if (options_.signing) previous_signature_ = options_.signing->seed_signature;
}

// More input into the buffer once it is used up; false when the source has ended.
bool AwsChunkedDecoder::fill() {
  if (at_ < buffer_.size()) return true;
  buffer_.resize(kInputBufferBytes);
  const size_t n = source_.read(buffer_.data(), buffer_.size());
  buffer_.resize(n);
  at_ = 0;
  return n > 0;
}

char AwsChunkedDecoder::next_byte() {
  if (!fill()) incomplete();
  return buffer_[at_++];
}

// One line ending in CRLF (without it), at most `limit` bytes.
std::string AwsChunkedDecoder::read_line(size_t limit, const char* what) {
  std::string line;
  while (true) {
    const char c = next_byte();
    if (c == '\r') {
      if (next_byte() != '\n') malformed(std::string("aws-chunked ") + what + " has a CR without LF");
      return line;
    }
    if (line.size() >= limit)
      malformed(std::string("aws-chunked ") + what + " is longer than " + std::to_string(limit) + " bytes");
    line.push_back(c);
  }
}

void AwsChunkedDecoder::start_chunk(const std::string& line) {
  const size_t semicolon = line.find(';');
  const std::string size_text = line.substr(0, semicolon);
  if (size_text.empty() || size_text.size() > 15 ||
      !std::all_of(size_text.begin(), size_text.end(), [](unsigned char c) { return std::isxdigit(c); }))
    invalid_chunk_size("aws-chunked chunk size " + quoted(size_text) + " is not a hexadecimal number");
  chunk_size_ = std::stoull(size_text, nullptr, 16);
  ++chunks_;
  if (options_.signed_chunks) {
    if (chunk_size_ > 0 && previous_small_)
      invalid_chunk_size("Only the last chunk is allowed to have a size less than 8192 bytes (chunk " +
                         std::to_string(chunks_ - 1) + ")");
    previous_small_ = chunk_size_ < kMinSignedChunkBytes;
    const std::string prefix = ";chunk-signature=";
    if (semicolon == std::string::npos || line.compare(semicolon, prefix.size(), prefix) != 0)
      chunk_signature_mismatch("chunk " + std::to_string(chunks_) + " has no chunk-signature");
    chunk_signature_ = lower(line.substr(semicolon + prefix.size()));
    if (!sigv4::is_sha256_hex(chunk_signature_))
      chunk_signature_mismatch("chunk " + std::to_string(chunks_) +
                               "'s chunk-signature is not 64 hex digits");
  }
  remaining_ = chunk_size_;
  state_ = chunk_size_ == 0 ? State::kTrailer : State::kData;
  if (chunk_size_ == 0 && options_.signed_chunks)
    check_chunk_signature(std::string(sigv4::kEmptyPayloadHash));
}

void AwsChunkedDecoder::check_chunk_signature(const std::string& data_hash_hex) {
  if (!options_.signing) return;
  const ChunkSigning& signing = *options_.signing;
  std::string to_sign(sigv4::kChunkAlgorithm);
  to_sign += "\n" + signing.amz_date + "\n" + signing.scope + "\n" + previous_signature_ + "\n";
  to_sign += std::string(sigv4::kEmptyPayloadHash) + "\n" + data_hash_hex;
  const std::string expected = sigv4::signature(signing.signing_key, to_sign);
  if (!sigv4::constant_time_equal(expected, chunk_signature_))
    chunk_signature_mismatch("the chunk-signature of chunk " + std::to_string(chunks_) + " is wrong");
  previous_signature_ = chunk_signature_;
}

void AwsChunkedDecoder::end_chunk() {
  if (next_byte() != '\r' || next_byte() != '\n')
    malformed("aws-chunked chunk " + std::to_string(chunks_) + " is longer than its size " +
              std::to_string(chunk_size_) + " (no CRLF after its data)");
  if (options_.signed_chunks && options_.signing) check_chunk_signature(sigv4::hex(chunk_hash_.finish()));
  state_ = State::kSizeLine;
}

void AwsChunkedDecoder::read_trailer() {
  size_t total = 0;
  std::string canonical;  // "name:value\n" of each, what the trailer signature covers
  std::optional<std::string> trailer_signature;
  while (true) {
    const std::string line = read_line(kMaxTrailerBytes, "trailer line");
    if (line.empty()) break;
    total += line.size();
    if (total > kMaxTrailerBytes || trailers_.size() >= kMaxTrailerLines)
      malformed("aws-chunked trailer is longer than " + std::to_string(kMaxTrailerBytes) + " bytes or " +
                std::to_string(kMaxTrailerLines) + " lines");
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0)
      malformed("aws-chunked trailer line " + quoted(line) + " has no name:");
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    if (name == "x-amz-trailer-signature") {
      trailer_signature = lower(value);
      continue;
    }
    canonical += name + ":" + value + "\n";
    trailers_.emplace_back(std::move(name), std::move(value));
  }
  if (options_.signed_trailer) {
    if (!trailer_signature) chunk_signature_mismatch("the trailer has no x-amz-trailer-signature");
    if (options_.signing) {
      const ChunkSigning& signing = *options_.signing;
      std::string to_sign(sigv4::kTrailerAlgorithm);
      to_sign += "\n" + signing.amz_date + "\n" + signing.scope + "\n" + previous_signature_ + "\n";
      to_sign += sigv4::sha256_hex(canonical);
      if (!sigv4::constant_time_equal(sigv4::signature(signing.signing_key, to_sign), *trailer_signature))
        chunk_signature_mismatch("the x-amz-trailer-signature is wrong");
    }
  }
  // The final empty line ends the body: anything after it is not the client's object.
  if (fill()) malformed("aws-chunked body has bytes after its final chunk and trailer");
  state_ = State::kDone;
}

size_t AwsChunkedDecoder::read(char* out, size_t max) {
  while (max > 0) {
    switch (state_) {
      case State::kSizeLine:
        start_chunk(read_line(kMaxChunkLineBytes, "chunk-size line"));
        break;
      case State::kData: {
        if (remaining_ == 0) {
          state_ = State::kDataEnd;
          break;
        }
        if (!fill()) incomplete();
        const size_t n = static_cast<size_t>(std::min<uint64_t>({max, remaining_, buffer_.size() - at_}));
        std::copy_n(buffer_.data() + at_, n, out);
        if (options_.signing) chunk_hash_.update(buffer_.data() + at_, n);  // only signatures need it
        at_ += n;
        remaining_ -= n;
        decoded_ += n;
        return n;
      }
      case State::kDataEnd:
        end_chunk();
        break;
      case State::kTrailer:
        read_trailer();
        break;
      case State::kDone:
        return 0;
    }
  }
  return 0;
}

}  // namespace sluice::aws
