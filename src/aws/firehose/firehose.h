// The Amazon Data Firehose wire API (JSON 1.1, X-Amz-Target Firehose_20150804.*) on the delivery
// streams of a data directory (delivery::DeliveryStreams): CreateDeliveryStream (DirectPut and
// KinesisStreamAsSource, to S3), DeleteDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams,
// PutRecord and PutRecordBatch (DirectPut only).
//
// Shapes, limits and error codes are botocore's model of the service (firehose/2015-08-04):
//   ResourceNotFoundException (400)   no delivery stream of that name
//   ResourceInUseException (400)      the name exists; or deleting one the pipeline file declares
//   InvalidArgumentException (400)    a member out of its model's range, an unsupported option
//                                     (destination other than S3, ZIP/Snappy, Lambda processors,
//                                     format conversion), a direct put to a stream-fed delivery
//   LimitExceededException (400)      too many delivery streams
//   ServiceUnavailableException (503) back-pressure or a full disk: retry (PutRecordBatch reports it
//                                     per record, with FailedPutCount)
//   SerializationException (400)      a body that is not a JSON object
// ARNs carry the region of the request's SigV4 credential scope (us-east-1 without one) and the
// account 000000000000.
#pragma once

#include <functional>

#include "server/router.h"

namespace sluice::delivery {
class DeliveryStreams;
}

namespace sluice::aws {

// What the Firehose API works on.
struct FirehoseBackend {
  // The data directory's delivery streams; called for each request (it may throw Error when the
  // process does not serve them, answered 500).
  std::function<delivery::DeliveryStreams&()> deliveries;
};

// The X-Amz-Target prefix of Firehose's operations.
inline constexpr std::string_view kFirehoseTargetPrefix = "Firehose_20150804";

// Registers the Firehose operations on `group`. Throws std::invalid_argument as
// RouteGroup::operation does (the prefix claimed by another group).
void add_firehose_routes(server::RouteGroup& group, FirehoseBackend backend);

}  // namespace sluice::aws
