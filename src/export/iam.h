// IAM policy documents of the exported roles, built statement by statement, rendered as the JSON
// string that aws_iam_role_policy.policy and aws_iam_role.assume_role_policy take.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice::terraform {

class PolicyDocument {
 public:
  // Adds an Allow statement for `actions` on `resources` (ARNs or Terraform references to ARNs),
  // with an optional Condition block. Never throws (but std::bad_alloc).
  void allow(std::vector<std::string> actions, std::vector<std::string> resources,
             nlohmann::json condition = nullptr);
  // {"Version": "2012-10-17", "Statement": [...]} as compact JSON. Never throws.
  std::string render() const;

 private:
  nlohmann::json statements_ = nlohmann::json::array();
};

// The trust policy that lets the AWS service `service` ("lambda.amazonaws.com") assume a role, as
// compact JSON. Never throws.
std::string assume_role_policy(const std::string& service);

// "arn:aws:s3:::BUCKET". Never throws.
std::string bucket_arn(const std::string& bucket);
// "arn:aws:s3:::BUCKET/PATTERN": the objects whose keys match PATTERN (IAM's '*' and '?'). Never throws.
std::string object_arn(const std::string& bucket, const std::string& pattern);

}  // namespace sluice::terraform
