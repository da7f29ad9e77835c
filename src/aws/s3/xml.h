// XML for the S3 REST API, through pugixml: documents written with escaping in S3's namespace, and
// request bodies parsed with limits (size, depth) and without DOCTYPE (so no entity can be declared).
#pragma once

#include <cstddef>
#include <pugixml.hpp>
#include <string>
#include <string_view>

namespace sluice::aws::s3 {

// S3's XML namespace, on every response document's root element.
inline constexpr const char* kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// The largest request document accepted (DeleteObjects with 1000 keys of 1024 bytes fits).
inline constexpr size_t kMaxXmlBytes = 2 << 20;
// The deepest element nesting accepted; S3's request documents need four levels.
inline constexpr int kMaxXmlDepth = 16;

// A response document: `root` element in S3's namespace, built with add()/text and serialized by
// str() with the XML declaration. pugixml escapes text and attribute values.
class XmlDocument {
 public:
  // Starts a document whose root element is `root`. Never throws (but for std::bad_alloc).
  explicit XmlDocument(const char* root);
  // The root element, to add children to.
  pugi::xml_node root() { return root_; }
  // The serialized document: declaration, then the elements without indentation.
  std::string str() const;

 private:
  pugi::xml_document document_;
  pugi::xml_node root_;
};

// Appends <name>text</name> to `parent` and returns the new element. Characters XML 1.0 cannot carry
// (control characters, invalid UTF-8) are replaced by U+FFFD first.
pugi::xml_node add_text(pugi::xml_node parent, const char* name, std::string_view text);

// Parses a request body into `document`. Throws server::HttpError 400 MalformedXML naming `what`
// (the operation) when the body is larger than kMaxXmlBytes, not well-formed, has a DOCTYPE (so no
// entity declaration), nests deeper than kMaxXmlDepth, or has no root element `root`. Returns the root.
pugi::xml_node parse_request_xml(pugi::xml_document& document, std::string_view body, const char* root,
                                 std::string_view what);

// The text of the child element `name` of `parent` ("" when absent).
std::string child_text(pugi::xml_node parent, const char* name);

}  // namespace sluice::aws::s3
