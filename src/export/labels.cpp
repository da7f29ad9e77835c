#include "export/labels.h"

#include <cctype>

namespace sluice::terraform {
namespace {

std::string kind_prefix(const std::string& kind) {
  static const std::map<std::string, std::string> kPrefixes = {
      {"source", "source_"},        {"processor", "processor_"},    {"delivery_role", "delivery_"},
      {"crawler_role", "crawler_"}, {"schedule_role", "schedule_"},
  };
  auto it = kPrefixes.find(kind);
  return it == kPrefixes.end() ? "" : it->second;
}

// Terraform labels: letters, digits, '_' and '-', starting with a letter or '_'.
std::string sanitize(const std::string& text) {
  std::string out;
  for (unsigned char c : text) out += std::isalnum(c) || c == '_' || c == '-' ? static_cast<char>(c) : '_';
  if (out.empty() || !(std::isalpha(static_cast<unsigned char>(out[0])) || out[0] == '_')) out.insert(0, "_");
  return out;
}

}  // namespace

const std::string& Labels::get(const std::string& kind, const std::string& key, const std::string& base) {
  auto [it, fresh] = assigned_.try_emplace({kind, key});
  if (!fresh) return it->second;
  const std::string wanted = sanitize(base.empty() ? kind_prefix(kind) + key : base);
  std::string label = wanted;
  for (int n = 2; !used_.insert(label).second; ++n) label = wanted + "_" + std::to_string(n);
  it->second = label;
  return it->second;
}

}  // namespace sluice::terraform
