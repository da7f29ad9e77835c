// Fuzzes SigV4: the Authorization and presigned-query parsers, the canonicaliser and the authenticator
// of both protocol families, with and without keys. Nothing may crash, leak or overflow; refusals are
// HttpError only.
#include <cstdint>
#include <string_view>

#include "aws/sigv4/sigv4.h"
#include "aws/sigv4/sigv4_authenticator.h"
#include "fuzz/fuzz_request.h"

namespace {

using namespace sluice;

const aws::SigV4Authenticator& keyed(aws::ProtocolFamily family) {
  static const auto make = [](aws::ProtocolFamily f) {
    aws::SigV4Options options;
    options.secrets["AKIAIOSFODNN7EXAMPLE"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    options.now = [] { return int64_t{1369353600}; };  // 20130524T000000Z
    return aws::SigV4Authenticator(f, f == aws::ProtocolFamily::kS3 ? "s3" : "kinesis", options);
  };
  static const aws::SigV4Authenticator s3 = make(aws::ProtocolFamily::kS3);
  static const aws::SigV4Authenticator json = make(aws::ProtocolFamily::kJson);
  return family == aws::ProtocolFamily::kS3 ? s3 : json;
}

void authenticate(const aws::SigV4Authenticator& authenticator, const server::HttpRequest& request) {
  try {
    (void)authenticator.authenticate(request);
  } catch (const server::HttpError&) {
  }
  (void)authenticator.streaming_context(request);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    (void)aws::sigv4::parse_authorization(input);
  } catch (const aws::sigv4::MalformedSignature&) {
  }
  (void)aws::sigv4::canonical_query(input, size % 2 == 0);
  (void)aws::sigv4::canonical_uri(input, false);
  (void)aws::sigv4::parse_amz_date(input);
  const server::HttpRequest request = fuzz::request_from(input);
  (void)aws::signed_for_service(request, "s3");
  authenticate(keyed(aws::ProtocolFamily::kS3), request);
  authenticate(keyed(aws::ProtocolFamily::kJson), request);
  static const aws::SigV4Authenticator open(aws::ProtocolFamily::kS3, "s3", aws::SigV4Options{});
  authenticate(open, request);
  return 0;
}
