#include "export/iam.h"

namespace sluice::terraform {

void PolicyDocument::allow(std::vector<std::string> actions, std::vector<std::string> resources,
                           nlohmann::json condition) {
  nlohmann::json statement = {
      {"Effect", "Allow"}, {"Action", std::move(actions)}, {"Resource", std::move(resources)}};
  if (!condition.is_null()) statement["Condition"] = std::move(condition);
  statements_.push_back(std::move(statement));
}

std::string PolicyDocument::render() const {
  return nlohmann::json{{"Version", "2012-10-17"}, {"Statement", statements_}}.dump();
}

std::string assume_role_policy(const std::string& service) {
  const nlohmann::json statement = {
      {"Effect", "Allow"}, {"Principal", {{"Service", service}}}, {"Action", "sts:AssumeRole"}};
  return nlohmann::json{{"Version", "2012-10-17"}, {"Statement", {statement}}}.dump();
}

std::string bucket_arn(const std::string& bucket) { return "arn:aws:s3:::" + bucket; }

std::string object_arn(const std::string& bucket, const std::string& pattern) {
  return bucket_arn(bucket) + "/" + pattern;
}

}  // namespace sluice::terraform
