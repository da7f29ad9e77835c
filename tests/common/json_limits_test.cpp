#include "common/json_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string nested_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonLimits, DepthAtTheLimitIsAccepted) {
  EXPECT_EQ(json_depth_problem(nested_arrays(64)), std::nullopt);
  EXPECT_EQ(json_depth_problem(nested_arrays(3), 3), std::nullopt);
  EXPECT_EQ(json_depth_problem(""), std::nullopt);
  EXPECT_EQ(json_depth_problem("{\"a\": [1, {\"b\": 2}], \"c\": [[], []]}", 3), std::nullopt);
  EXPECT_TRUE(parse_json_limited(nested_arrays(64)).is_array());
}

TEST(JsonLimits, OneLevelDeeperIsRefusedWithTheOffset) {
  const auto problem = json_depth_problem(nested_arrays(65));
  ASSERT_TRUE(problem.has_value());
  // The 65th '[' is at byte 64 (0-based).
  EXPECT_EQ(*problem, "the body nests deeper than 64 levels at byte 64");
  // Mixed objects and arrays count alike; the offset points at the first bracket beyond the limit.
  EXPECT_EQ(json_depth_problem("{\"a\": [ {\"b\": [1]}]}", 3).value_or(""),
            "the body nests deeper than 3 levels at byte 14");
}

TEST(JsonLimits, SiblingsDoNotAddUp) {
  // 100 arrays side by side are 2 levels deep, not 101.
  std::string wide = "[";
  for (int i = 0; i < 100; ++i) wide += i ? ",[1]" : "[1]";
  wide += "]";
  EXPECT_EQ(json_depth_problem(wide, 2), std::nullopt);
  EXPECT_TRUE(json_depth_problem(wide, 1).has_value());
}

TEST(JsonLimits, BracketsInsideStringsAreIgnored) {
  const std::string brackets(1000, '[');
  EXPECT_EQ(json_depth_problem("{\"k\": \"" + brackets + "\"}", 2), std::nullopt);
  // An escaped quote does not end the string, so the brackets after it are still inside it.
  EXPECT_EQ(json_depth_problem("[\"a\\\"[[[[\"]", 1), std::nullopt);
  // An escaped backslash does end before the quote: the brackets after the string count.
  EXPECT_EQ(json_depth_problem("[\"a\\\\\", [[1]]]", 2).value_or(""),
            "the body nests deeper than 2 levels at byte 9");
  EXPECT_EQ(parse_json_limited("{\"k\": \"" + brackets + "\"}", 2)["k"].get<std::string>(), brackets);
}

TEST(JsonLimits, AMillionLevelsAreRefusedWithoutRecursion) {
  // Deep enough that any recursive walk would overflow the stack (ASan builds included).
  const std::string deep = nested_arrays(1'000'000);
  EXPECT_EQ(json_depth_problem(deep).value_or(""), "the body nests deeper than 64 levels at byte 64");
  try {
    parse_json_limited(deep);
    FAIL() << "a million levels were parsed";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "the body nests deeper than 64 levels at byte 64");
  }
}

TEST(JsonLimits, MalformedJsonIsAOneLineError) {
  try {
    parse_json_limited("{\"a\": \n\xff\xfe");
    FAIL() << "malformed JSON was parsed";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_THAT(message, StartsWith("the body is not JSON: "));
    EXPECT_THAT(message, HasSubstr("parse error"));
    EXPECT_EQ(message.find('\n'), std::string::npos);
    for (char c : message) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << message;
  }
  // Unbalanced closers are the parser's business, not the depth check's.
  EXPECT_EQ(json_depth_problem("]]]}}"), std::nullopt);
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { parse_json_limited("]]]}}"); }, "the body is not JSON"));
}

}  // namespace
}  // namespace sluice
