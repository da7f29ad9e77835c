#include "storage/s3_xml.h"

#include <algorithm>
#include <cctype>
#include <pugixml.hpp>

#include "common/error.h"
#include "common/time.h"

namespace sluice::storage::s3xml {
namespace {

// Parses `body` (no DOCTYPE processing: pugixml expands no declared entities without parse_doctype).
bool load(pugi::xml_document& document, std::string_view body) {
  const auto result =
      document.load_buffer(body.data(), body.size(), pugi::parse_default & ~pugi::parse_doctype);
  return static_cast<bool>(result);
}

std::string text_of(pugi::xml_node parent, const char* name) { return parent.child(name).text().get(); }

}  // namespace

ErrorInfo parse_error(std::string_view body) {
  ErrorInfo info;
  pugi::xml_document document;
  if (body.empty() || !load(document, body)) return info;
  const auto error = document.child("Error");
  if (!error) return info;
  info.code = text_of(error, "Code");
  info.message = text_of(error, "Message");
  return info;
}

std::string normalize_etag(std::string_view etag) {
  if (etag.rfind("W/", 0) == 0) etag.remove_prefix(2);
  std::string out;
  for (char c : etag)
    if (c != '"') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ListResult parse_list_objects_v2(std::string_view body, std::string_view bucket) {
  pugi::xml_document document;
  const auto root = load(document, body) ? document.child("ListBucketResult") : pugi::xml_node();
  if (!root)
    throw Error("cannot read the listing of bucket \"" + std::string(bucket) +
                "\": the answer is not a ListBucketResult document");
  ListResult result;
  for (auto contents : root.children("Contents")) {
    ObjectInfo info;
    info.bucket = std::string(bucket);
    info.key = text_of(contents, "Key");
    info.size = contents.child("Size").text().as_ullong();
    info.etag = normalize_etag(text_of(contents, "ETag"));
    // "2026-11-25T18:08:49.000Z": the milliseconds are dropped to reuse the ISO 8601 parser.
    std::string modified = text_of(contents, "LastModified");
    if (const auto dot = modified.find('.'); dot != std::string::npos)
      modified = modified.substr(0, dot) + "Z";
    if (auto t = parse_iso8601_utc(modified)) info.last_modified = *t;
    result.objects.push_back(std::move(info));
  }
  for (auto prefixes : root.children("CommonPrefixes"))
    result.common_prefixes.push_back(text_of(prefixes, "Prefix"));
  result.is_truncated = std::string_view(root.child("IsTruncated").text().get()) == "true";
  if (result.is_truncated) result.next_continuation_token = text_of(root, "NextContinuationToken");
  return result;
}

std::string parse_upload_id(std::string_view body) {
  pugi::xml_document document;
  const auto root = load(document, body) ? document.child("InitiateMultipartUploadResult") : pugi::xml_node();
  std::string id = root ? text_of(root, "UploadId") : "";
  if (id.empty()) throw Error("the answer to CreateMultipartUpload names no UploadId");
  return id;
}

std::string complete_multipart_document(const std::vector<std::string>& part_etags) {
  pugi::xml_document document;
  auto root = document.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  for (size_t i = 0; i < part_etags.size(); ++i) {
    auto part = root.append_child("Part");
    part.append_child("PartNumber").text() = static_cast<unsigned long long>(i + 1);
    part.append_child("ETag").text() = ("\"" + part_etags[i] + "\"").c_str();
  }
  struct Sink : pugi::xml_writer {
    std::string text;
    void write(const void* data, size_t size) override { text.append(static_cast<const char*>(data), size); }
  } sink;
  document.save(sink, "", pugi::format_raw);
  return sink.text;
}

std::string parse_complete_etag(std::string_view body) {
  pugi::xml_document document;
  const auto root = load(document, body) ? document.child("CompleteMultipartUploadResult") : pugi::xml_node();
  return root ? normalize_etag(text_of(root, "ETag")) : "";
}

}  // namespace sluice::storage::s3xml
