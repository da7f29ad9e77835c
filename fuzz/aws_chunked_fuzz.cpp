// Fuzzes the aws-chunked decoder and verified_body: the input is a request (fuzz_request.h) whose body
// is decoded as its headers say, read in pieces whose size the first byte of the body picks; a
// second pass decodes the whole input as signed chunks verified against AWS's example key. Nothing may
// crash or grow without bound; refusals are HttpError only.
#include <cstdint>
#include <string_view>
#include <vector>

#include "aws/sigv4/body.h"
#include "aws/sigv4/chunked.h"
#include "fuzz/fuzz_request.h"

namespace {

using namespace sluice;

void drain(server::BodyReader& body) {
  char buffer[1024];
  try {
    while (body.read(buffer, sizeof buffer) > 0) {
    }
  } catch (const server::HttpError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const server::HttpRequest head = fuzz::request_from(input);
  const size_t piece = head.body.empty() ? 1 : static_cast<unsigned char>(head.body[0]) + 1;
  fuzz::PieceReader source(head.body, piece);
  const std::vector<server::RouteParam> params;
  const server::RouteRequest request{head, params, &source, "", ""};
  try {
    auto body = aws::verified_body(request, nullptr);
    drain(*body);
  } catch (const server::HttpError&) {
  }
  // The raw input as signed chunks with a trailer, each signature checked.
  fuzz::PieceReader raw(input, 1 + size % 97);
  aws::ChunkedOptions options;
  options.signed_chunks = true;
  options.signed_trailer = size % 2 == 0;
  options.signing = aws::ChunkSigning{std::string(32, 'k'), std::string(64, '0'), "20130524T000000Z",
                                      "20130524/us-east-1/s3/aws4_request"};
  aws::AwsChunkedDecoder decoder(raw, options);
  drain(decoder);
  return 0;
}
