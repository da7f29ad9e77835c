// MD5 as S3 uses it: the ETag of a single-part object is the lower-case hex MD5 of its bytes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace sluice::storage {

// An MD5 computed while data streams through (a writer, a fetch into a cache).
class Md5 {
 public:
  // Throws SystemError when OpenSSL cannot start a digest.
  Md5();
  // Adds `data`. Throws SystemError when OpenSSL fails.
  void update(std::string_view data);
  // The lower-case hex digest of everything added; the object cannot be used afterwards. Throws
  // SystemError when OpenSSL fails.
  std::string hex_digest();

 private:
  std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> context_;
};

// Lower-case hex MD5 of `data` (the S3 ETag of a single-part object). Throws like Md5.
std::string md5_hex(std::string_view data);

// Whether `etag` is a single-part ETag (32 lower-case hex digits), i.e. the MD5 of the content; a
// multipart ETag ("<hex>-<parts>") is not.
bool is_md5_etag(std::string_view etag);

}  // namespace sluice::storage
