// Terraform labels (the NAME of `resource "TYPE" "NAME"`) for the pipeline's entries: every label
// in the document is distinct, so that a reference can never name the wrong resource.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>

namespace sluice::terraform {

class Labels {
 public:
  // The label of entry `key` of `kind` ("bucket", "source", "processor", "stream", ...): the same
  // for every call with the same kind and key. Made, the first time, of `base` (or, when empty, of a
  // kind's prefix — "source_", "processor_", "delivery_", "crawler_", "schedule_" for the *_role kinds —
  // and the key) with every character Terraform does not allow in a label replaced by '_', a leading
  // '_' when it does not start with a letter or '_', and "_2", "_3"... when another entry has it
  // already. Never throws (but std::bad_alloc).
  const std::string& get(const std::string& kind, const std::string& key, const std::string& base = "");

 private:
  std::map<std::pair<std::string, std::string>, std::string> assigned_;  // (kind, key) -> label
  std::set<std::string> used_;
};

}  // namespace sluice::terraform
