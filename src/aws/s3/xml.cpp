#include "aws/s3/xml.h"

#include <sstream>
#include <vector>

#include "server/error_shapes.h"
#include "server/http_server.h"

namespace sluice::aws::s3 {
namespace {

server::HttpError malformed(std::string_view what, const std::string& why) {
  return server::HttpError(400, "MalformedXML",
                           "the XML you provided for " + std::string(what) + " was not well-formed: " + why);
}

// The depth of the deepest element under `node`, counted without recursion (a hostile document
// cannot exhaust the stack). Stops counting once `limit` is passed.
int deepest(pugi::xml_node node, int limit) {
  std::vector<std::pair<pugi::xml_node, int>> pending{{node, 1}};
  int deepest_seen = 0;
  while (!pending.empty()) {
    auto [current, depth] = pending.back();
    pending.pop_back();
    deepest_seen = std::max(deepest_seen, depth);
    if (deepest_seen > limit) return deepest_seen;
    for (auto child : current.children())
      if (child.type() == pugi::node_element) pending.emplace_back(child, depth + 1);
  }
  return deepest_seen;
}

}  // namespace

XmlDocument::XmlDocument(const char* root) {
  auto declaration = document_.append_child(pugi::node_declaration);
  declaration.append_attribute("version") = "1.0";
  declaration.append_attribute("encoding") = "UTF-8";
  root_ = document_.append_child(root);
  root_.append_attribute("xmlns") = kS3Namespace;
}

std::string XmlDocument::str() const {
  std::ostringstream out;
  document_.save(out, "", pugi::format_raw, pugi::encoding_utf8);
  return out.str();
}

pugi::xml_node add_text(pugi::xml_node parent, const char* name, std::string_view text) {
  auto element = parent.append_child(name);
  // xml_escape makes the text carriable; pugixml escapes it again on output, so undo the entities.
  const std::string safe = server::xml_escape(text);
  std::string plain;
  plain.reserve(safe.size());
  for (size_t i = 0; i < safe.size(); ++i) {
    if (safe[i] != '&') {
      plain.push_back(safe[i]);
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&#39;", '\''}};
    bool replaced = false;
    for (const auto& [entity, c] : kEntities) {
      if (safe.compare(i, entity.size(), entity) == 0) {
        plain.push_back(c);
        i += entity.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) plain.push_back('&');
  }
  element.text().set(plain.c_str());
  return element;
}

pugi::xml_node parse_request_xml(pugi::xml_document& document, std::string_view body, const char* root,
                                 std::string_view what) {
  if (body.size() > kMaxXmlBytes) {
    throw malformed(what, "the document is " + std::to_string(body.size()) + " bytes; the limit is " +
                              std::to_string(kMaxXmlBytes));
  }
  // parse_doctype keeps a DOCTYPE as a node, so that it can be refused rather than silently skipped.
  const unsigned options = (pugi::parse_default | pugi::parse_doctype) & ~pugi::parse_pi;
  const auto result = document.load_buffer(body.data(), body.size(), options, pugi::encoding_utf8);
  if (!result)
    throw malformed(what, std::string(result.description()) + " at byte " + std::to_string(result.offset));
  for (auto node : document.children()) {
    if (node.type() == pugi::node_doctype)
      throw malformed(what, "a DOCTYPE (and entity declarations) is not allowed");
  }
  auto element = document.document_element();
  if (deepest(element, kMaxXmlDepth) > kMaxXmlDepth) {
    throw malformed(what, "elements nest deeper than " + std::to_string(kMaxXmlDepth) + " levels");
  }
  if (std::string_view(element.name()) != root) {
    throw malformed(what,
                    "the root element is <" + std::string(element.name()) + ">, expected <" + root + ">");
  }
  return element;
}

std::string child_text(pugi::xml_node parent, const char* name) { return parent.child(name).text().get(); }

}  // namespace sluice::aws::s3
