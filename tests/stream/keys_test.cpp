// Hash keys, shard ranges, shard ids and sequence numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "stream/local_stream.h"
#include "tests/common/expect_error.h"

namespace sluice::stream {
namespace {

HashKey key(const char* decimal) { return parse_hash_key(decimal).value(); }

const HashKey kMax = ~HashKey{0};

// Expected values: MD5 hex digests from `md5sum`, converted to decimal with Python's int(hex, 16).
TEST(StreamKeys, HashKeyIsBigEndianMd5OfThePartitionKey) {
  EXPECT_EQ(hash_key_to_string(hash_key_for("a")), "16955237001963240173058271559858726497");  // 0cc175b9...
  EXPECT_EQ(hash_key_to_string(hash_key_for("hello")),
            "123957004363873451094272536567338222994");  // 5d41402a...
  EXPECT_EQ(hash_key_to_string(hash_key_for("partitionKey")),
            "193318062818912349798954611745638949166");  // 916fb460...
  EXPECT_EQ(hash_key_to_string(hash_key_for("k1")), "242208671286853988395785178707875403226");
  EXPECT_EQ(hash_key_for(""), (HashKey{0xd41d8cd98f00b204ull} << 64) | 0xe9800998ecf8427eull);
}

TEST(StreamKeys, PartitionKeysLandInTheShardOwningTheirMd5) {
  // 1 shard: everything in shard 0.
  for (const char* k : {"a", "hello", "partitionKey", "k1"}) EXPECT_EQ(shard_for_partition_key(k, 1), 0) << k;
  // 2 shards split at 2^127: the top bit of the MD5.
  EXPECT_EQ(shard_for_partition_key("a", 2), 0);             // 0x0c...
  EXPECT_EQ(shard_for_partition_key("hello", 2), 0);         // 0x5d...
  EXPECT_EQ(shard_for_partition_key("partitionKey", 2), 1);  // 0x91...
  EXPECT_EQ(shard_for_partition_key("k1", 2), 1);            // 0xb6...
  // 4 shards split at multiples of 2^126: the top two bits.
  EXPECT_EQ(shard_for_partition_key("a", 4), 0);
  EXPECT_EQ(shard_for_partition_key("hello", 4), 1);
  EXPECT_EQ(shard_for_partition_key("partitionKey", 4), 2);
  EXPECT_EQ(shard_for_partition_key("k1", 4), 2);
  EXPECT_EQ(shard_for_hash_key(hash_key_for(""), 4), 3);  // 0xd4...
}

TEST(StreamKeys, RangesSplitTheSpaceEvenlyLikeKinesis) {
  auto r = shard_hash_range(0, 1);
  EXPECT_EQ(r.starting, 0u);
  EXPECT_EQ(r.ending, kMax);

  const HashKey half = HashKey{1} << 127;
  EXPECT_EQ(hash_key_to_string(half), "170141183460469231731687303715884105728");
  EXPECT_EQ(shard_hash_range(0, 2).ending, half - 1);
  EXPECT_EQ(shard_hash_range(1, 2).starting, half);
  EXPECT_EQ(shard_hash_range(1, 2).ending, kMax);

  for (int i = 0; i < 4; ++i) {
    const auto q = shard_hash_range(i, 4);
    EXPECT_EQ(q.starting, static_cast<HashKey>(i) << 126) << i;
    EXPECT_EQ(q.ending, i == 3 ? kMax : (static_cast<HashKey>(i + 1) << 126) - 1) << i;
  }
  // 3 shards: the values Kinesis's CreateStream gives (floor(i * 2^128 / 3)).
  EXPECT_EQ(hash_key_to_string(shard_hash_range(0, 3).ending), "113427455640312821154458202477256070484");
  EXPECT_EQ(hash_key_to_string(shard_hash_range(1, 3).starting), "113427455640312821154458202477256070485");
  EXPECT_EQ(hash_key_to_string(shard_hash_range(1, 3).ending), "226854911280625642308916404954512140969");
  EXPECT_EQ(hash_key_to_string(shard_hash_range(2, 3).starting), "226854911280625642308916404954512140970");

  // Boundaries: each range's first and last key map to it, the key before it to the previous shard;
  // the ranges tile the space with no gap.
  for (int n : {1, 2, 3, 4, 7, 64}) {
    for (int i = 0; i < n; ++i) {
      const auto range = shard_hash_range(i, n);
      EXPECT_EQ(shard_for_hash_key(range.starting, n), i) << n;
      EXPECT_EQ(shard_for_hash_key(range.ending, n), i) << n;
      if (i > 0) {
        EXPECT_EQ(shard_for_hash_key(range.starting - 1, n), i - 1) << n;
        EXPECT_EQ(shard_hash_range(i - 1, n).ending + 1, range.starting) << n;
      }
    }
    EXPECT_EQ(shard_hash_range(0, n).starting, 0u);
    EXPECT_EQ(shard_hash_range(n - 1, n).ending, kMax);
  }
  EXPECT_TRUE(
      testing_util::fails_with<Error>([&] { shard_hash_range(2, 2); }, "shard index 2 is not in 0..1"));
}

TEST(StreamKeys, ParseHashKeyAcceptsExactlyZeroTo2Pow128Minus1) {
  EXPECT_EQ(parse_hash_key("0"), HashKey{0});
  EXPECT_EQ(parse_hash_key("340282366920938463463374607431768211455"), kMax);
  EXPECT_EQ(hash_key_to_string(kMax), "340282366920938463463374607431768211455");
  EXPECT_EQ(key("000000000000000000000000000000000000042"), HashKey{42});
  for (const char* bad :
       {"", "-1", "+1", "12a", " 1", "340282366920938463463374607431768211456",
        "999999999999999999999999999999999999999", "0000000000000000000000000000000000000001"}) {
    EXPECT_FALSE(parse_hash_key(bad).has_value()) << bad;
  }
}

TEST(StreamKeys, ShardIdsAreKinesisShaped) {
  EXPECT_EQ(shard_id(0), "shardId-000000000000");
  EXPECT_EQ(shard_id(63), "shardId-000000000063");
  EXPECT_EQ(shard_index_of("shardId-000000000063"), 63);
  for (const char* bad :
       {"shardId-63", "shardid-000000000001", "shardId-00000000000x", "", "shardId-0000000000001"}) {
    EXPECT_FALSE(shard_index_of(bad).has_value()) << bad;
  }
}

TEST(StreamKeys, SequenceNumbersRoundTripAndCompareAsStrings) {
  EXPECT_EQ(format_sequence_number(2, 17), "1000200000000000000000017");
  EXPECT_EQ(format_sequence_number(0, UINT64_MAX), "1000018446744073709551615");
  const auto parsed = parse_sequence_number("1000200000000000000000017");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->shard, 2);
  EXPECT_EQ(parsed->offset, 17u);
  EXPECT_EQ(parse_sequence_number(format_sequence_number(0, UINT64_MAX))->offset, UINT64_MAX);

  std::vector<std::pair<int, uint64_t>> values{{0, 0}, {0, 9}, {0, 10}, {0, 99999}, {1, 0}, {1, 5}, {63, 1}};
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    EXPECT_LT(format_sequence_number(values[i].first, values[i].second),
              format_sequence_number(values[i + 1].first, values[i + 1].second));
  }
  for (const char* bad :
       {"", "0000200000000000000000017", "100020000000000000000001", "10002000000000000000000170",
        "1000x00000000000000000017", "1000099999999999999999999"}) {
    EXPECT_FALSE(parse_sequence_number(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sluice::stream
