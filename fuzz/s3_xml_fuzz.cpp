// Fuzzes the S3 XML request reader: parse_request_xml (size, depth and DOCTYPE limits over pugixml)
// for each request document S3 takes, then a walk over the elements as the DeleteObjects and
// CompleteMultipartUpload handlers walk them. A refusal is an HttpError; a crash, leak, overflow or
// any other exception is the bug.
#include <cstdint>
#include <string_view>

#include "aws/s3/xml.h"
#include "server/http_server.h"

namespace {

using namespace sluice;

void walk(pugi::xml_node root) {
  for (pugi::xml_node child : root.children()) {
    (void)aws::s3::child_text(child, "Key");
    (void)aws::s3::child_text(child, "VersionId");
    (void)aws::s3::child_text(child, "PartNumber");
    (void)aws::s3::child_text(child, "ETag");
  }
  (void)aws::s3::child_text(root, "Quiet");
  (void)aws::s3::child_text(root, "LocationConstraint");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const char* root : {"Delete", "CompleteMultipartUpload", "CreateBucketConfiguration"}) {
    try {
      pugi::xml_document document;
      walk(aws::s3::parse_request_xml(document, body, root, "fuzz"));
      // A response built from what was read must serialize (escaping every text).
      aws::s3::XmlDocument out("Result");
      aws::s3::add_text(out.root(), "Echo", body.substr(0, 4096));
      (void)out.str();
    } catch (const server::HttpError&) {
    }
  }
  return 0;
}
