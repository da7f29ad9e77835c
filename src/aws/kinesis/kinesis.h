// The Kinesis Data Streams wire API (JSON 1.1, X-Amz-Target "Kinesis_20131202.<Operation>") on the
// streams of the data directory (stream::StreamStore): CreateStream, DeleteStream, DescribeStream,
// DescribeStreamSummary, ListStreams, ListShards, PutRecord, PutRecords, GetShardIterator,
// GetRecords, Increase/DecreaseStreamRetentionPeriod, AddTagsToStream, ListTagsForStream,
// RemoveTagsFromStream.
//
// What a client sees, as AWS documents it:
//   - Malformed input (not JSON, a member of the wrong type or outside the model's limits) is 400
//     SerializationException / ValidationException; requests that are well formed but cannot be
//     done are InvalidArgumentException, ResourceNotFoundException, ResourceInUseException,
//     LimitExceededException, ExpiredIteratorException, ExpiredNextTokenException.
//   - Back-pressure of a stream (stream::Throttled) is 400 ProvisionedThroughputExceededException;
//     PutRecords reports it per record (FailedRecordCount, ErrorCode/ErrorMessage), and a system
//     failure (disk full, I/O error) as per-record InternalFailure, so SDKs retry those records.
//   - Stream ARNs are arn:aws:kinesis:REGION:000000000000:stream/NAME, REGION from the request's SigV4
//     credential scope (default us-east-1). Requests may name a stream by StreamARN instead of
//     StreamName, as newer SDKs do.
//   - Shard iterators are signed tokens (aws/kinesis/shard_iterator.h) valid for 5 minutes.
//   - Only JSON is spoken: a request in CBOR (application/x-amz-cbor-1.1, what the Java SDK sends
//     unless AWS_CBOR_DISABLE=true / -Dcom.amazonaws.sdk.disableCbor=true) is refused with a 400
//     saying so.
//   - Streams created here get StreamConfig's defaults but the shard count (ShardCount, 4 when it is
//     absent as with on-demand streams; at most stream::kMaxShards, LimitExceededException beyond).
#pragma once

#include <functional>
#include <span>
#include <string>

#include "common/time.h"
#include "server/router.h"
#include "stream/stream_store.h"

namespace sluice::aws {

// What the kinesis API works on.
struct KinesisBackend {
  // The data directory's streams; called for each request (it may throw sluice::Error when this
  // process does not own them: answered as a 500 saying so).
  std::function<stream::StreamStore&()> streams;
  // HMAC key of shard iterators; empty: 32 random bytes drawn when the routes are added.
  std::string iterator_key;
  // The clock of iterator expiry and MillisBehindLatest; null: now_ms().
  std::function<TimePoint()> clock;
  // Called after each acknowledged put with the stream's name, the records and their results (one
  // per record, in order): for the daemon's metrics. Null: nothing. Must not throw.
  std::function<void(const std::string& stream, std::span<const stream::PutRecord> records,
                     std::span<const stream::PutResult> results)>
      on_put;
};

// The X-Amz-Target prefix of Kinesis Data Streams.
inline constexpr std::string_view kKinesisTargetPrefix = "Kinesis_20131202";

// Registers the kinesis operations on `group` (its error shaper should be aws_json_errors()).
// Throws std::invalid_argument when `backend.streams` is empty or the group claims the prefix
// already, Error when no random iterator key can be drawn.
void add_kinesis_routes(server::RouteGroup& group, KinesisBackend backend);

}  // namespace sluice::aws
