#include "common/compress.h"

#include <libdeflate.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "common/error.h"

namespace sluice::compress {
namespace {

struct FreeCompressor {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct FreeDecompressor {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

}  // namespace

bool is_gzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

std::string gzip(std::string_view data, int level) {
  std::unique_ptr<libdeflate_compressor, FreeCompressor> c(libdeflate_alloc_compressor(level));
  if (!c) throw Error("gzip: cannot allocate a compressor at level " + std::to_string(level));
  std::string out(libdeflate_gzip_compress_bound(c.get(), data.size()), '\0');
  const size_t n = libdeflate_gzip_compress(c.get(), data.data(), data.size(), out.data(), out.size());
  if (n == 0) throw Error("gzip: compression failed");
  out.resize(n);
  return out;
}

std::string gunzip(std::string_view data, size_t max_bytes) {
  std::unique_ptr<libdeflate_decompressor, FreeDecompressor> d(libdeflate_alloc_decompressor());
  if (!d) throw Error("gunzip: cannot allocate a decompressor");
  std::string out;
  while (!data.empty()) {
    if (!is_gzip(data)) throw Error("gunzip: not gzip data (no gzip header)");
    // The trailer of a member holds its size modulo 2^32: a good first guess, grown when short.
    size_t guess = data.size() >= 4
                       ? (static_cast<size_t>(static_cast<unsigned char>(data[data.size() - 4])) |
                          static_cast<size_t>(static_cast<unsigned char>(data[data.size() - 3])) << 8 |
                          static_cast<size_t>(static_cast<unsigned char>(data[data.size() - 2])) << 16 |
                          static_cast<size_t>(static_cast<unsigned char>(data[data.size() - 1])) << 24)
                       : 0;
    guess = std::max(guess, data.size() * 4);
    while (true) {
      if (guess > max_bytes) guess = max_bytes;
      std::string buffer(guess, '\0');
      size_t in_used = 0, out_used = 0;
      const auto r = libdeflate_gzip_decompress_ex(d.get(), data.data(), data.size(), buffer.data(),
                                                   buffer.size(), &in_used, &out_used);
      if (r == LIBDEFLATE_SUCCESS) {
        out.append(buffer.data(), out_used);
        if (out.size() > max_bytes)
          throw Error("gunzip: data exceeds " + std::to_string(max_bytes) + " bytes");
        data.remove_prefix(in_used);
        break;
      }
      if (r != LIBDEFLATE_INSUFFICIENT_SPACE) throw Error("gunzip: corrupt gzip data");
      if (guess >= max_bytes) throw Error("gunzip: data exceeds " + std::to_string(max_bytes) + " bytes");
      guess *= 2;
    }
  }
  return out;
}

std::string zstd(std::string_view data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

std::string unzstd(std::string_view data, size_t max_bytes) {
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) throw Error("unzstd: not zstd data");
  if (size != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (size > max_bytes) throw Error("unzstd: data exceeds " + std::to_string(max_bytes) + " bytes");
    std::string out(size, '\0');
    const size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n)) throw Error(std::string("unzstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  // Streaming frames without a recorded size.
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::string out;
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    const size_t r = ZSTD_decompressStream(ctx.get(), &o, &in);
    if (ZSTD_isError(r)) throw Error(std::string("unzstd: ") + ZSTD_getErrorName(r));
    out.append(chunk.data(), o.pos);
    if (out.size() > max_bytes) throw Error("unzstd: data exceeds " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

}  // namespace sluice::compress
