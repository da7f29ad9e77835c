// Opaque positions of LocalStream: tokens round-trip through a client, and a token that is empty,
// malformed, altered or another stream's is refused with an Error saying which.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "stream/local_stream.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::stream {
namespace {

using ::testing::HasSubstr;

std::vector<PutRecord> records(int n) {
  std::vector<PutRecord> out;
  for (int i = 0; i < n; ++i) out.push_back({"key", "record " + std::to_string(i), std::nullopt});
  return out;
}

StreamConfig config(const std::string& name) {
  return {.name = name, .shards = 1, .fsync = StreamConfig::FsyncPolicy::kNever};
}

class StreamPositions : public ::testing::Test {
 protected:
  testing_util::TempDir tmp_;
};

TEST_F(StreamPositions, TokensArePrintableAndComeBackFromAClient) {
  LocalStream s(tmp_.path() / "orders", config("orders"));
  s.put(records(5));
  const Position start = s.position(shard_id(0), StartingPosition::trim_horizon());
  const std::string token = start.token();
  EXPECT_FALSE(token.empty());
  EXPECT_LE(token.size(), 512u);  // Kinesis's limit for a shard iterator
  for (char c : token)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
  // The token alone (as a client sends it back) reads the same records, and `next` continues.
  auto first = s.read(Position::from_token(token), 2);
  ASSERT_EQ(first.records.size(), 2u);
  EXPECT_EQ(first.records[0].data, "record 0");
  auto rest = s.read(Position::from_token(first.next.token()), 10);
  ASSERT_EQ(rest.records.size(), 3u);
  EXPECT_EQ(rest.records[0].data, "record 2");
  EXPECT_EQ(s.shard_position(rest.next).offset, 5u);

  // The longest stream name still makes a token within the limit.
  const std::string longest(kMaxStreamNameBytes, 'n');
  LocalStream l(tmp_.path() / longest, config(longest));
  EXPECT_LE(l.position(shard_id(0), StartingPosition::latest()).token().size(), 512u);
}

TEST_F(StreamPositions, APositionOfOneStreamIsRefusedByAnother) {
  LocalStream orders(tmp_.path() / "orders", config("orders"));
  LocalStream payments(tmp_.path() / "payments", config("payments"));
  orders.put(records(3));
  payments.put(records(3));
  const Position of_orders = orders.position(shard_id(0), StartingPosition::trim_horizon());
  EXPECT_TRUE(testing_util::fails_with<Error>(
      [&] { payments.read(of_orders); },
      "stream 'payments': the position belongs to stream 'orders'; a position is valid only for the stream "
      "that gave it"));
  EXPECT_EQ(orders.read(of_orders).records.size(), 3u);
}

TEST_F(StreamPositions, TamperedMalformedAndEmptyTokensAreRefused) {
  LocalStream s(tmp_.path() / "orders", config("orders"));
  s.put(records(3));
  const std::string token = s.position(shard_id(0), StartingPosition::trim_horizon()).token();
  // Every single-character change is caught: by the checksum, or by the framing it breaks.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = alphabet[(alphabet.find(token[i]) + 17) % alphabet.size()];
    try {
      s.read(Position::from_token(tampered));
      ADD_FAILURE() << "a token changed at character " << i << " was accepted: " << tampered;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(),
                  ::testing::AnyOf(HasSubstr("was altered or damaged (its checksum does not match)"),
                                   HasSubstr("is not a position sluice gave out (malformed token)")))
          << "character " << i;
    }
  }
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { s.read(Position::from_token(token + "AAAA")); },
                                              "malformed token"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { s.read(Position::from_token(token.substr(0, 20))); },
                                              "malformed token"));
  EXPECT_TRUE(
      testing_util::fails_with<Error>([&] { s.read(Position::from_token("not base64!")); },
                                      "stream 'orders': the position 'not base64!' is not a position"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { s.read(Position::from_token(std::string(100000, 'A'))); },
                                              "malformed token"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { s.read(Position()); }, "the position is empty"));
  // A well-formed position of a shard the stream does not have is refused by read's own checks.
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { s.read(s.position_token({.shard = 3, .offset = 0})); },
                                              "has no shard 3"));
}

}  // namespace
}  // namespace sluice::stream
