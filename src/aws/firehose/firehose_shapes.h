// Firehose's request and response shapes as sluice's delivery configuration: what a
// CreateDeliveryStream request asks for, and what DescribeDeliveryStream says of a delivery stream.
// Internal to src/aws/firehose.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "delivery/delivery.h"
#include "delivery/delivery_streams.h"
#include "server/http_server.h"

namespace sluice::aws::firehose {

inline constexpr std::string_view kAccount = "000000000000";
inline constexpr std::string_view kDefaultRegion = "us-east-1";

// The region of a SigV4 Authorization header's credential scope; kDefaultRegion without one.
std::string region_of(const server::HttpRequest& request);

// arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME
std::string delivery_stream_arn(std::string_view region, std::string_view name);

// A CreateDeliveryStream request, checked, as the delivery it asks for and the metadata (a JSON
// object) DescribeDeliveryStream needs to answer as the request was written. Throws HttpError 400
// InvalidArgumentException naming the member for anything out of the model's range or unsupported.
struct CreateRequest {
  delivery::DeliveryConfig config;
  nlohmann::json metadata;
};
CreateRequest parse_create_request(const nlohmann::json& body);

// DeliveryStreamDescription of botocore's model for `info`.
nlohmann::json describe(const delivery::DeliveryStreamInfo& info, std::string_view region);

// "DirectPut" or "KinesisStreamAsSource".
std::string_view stream_type(const delivery::DeliveryConfig& config);

}  // namespace sluice::aws::firehose
