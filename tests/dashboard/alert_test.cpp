#include "dashboard/alert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::dashboard {
namespace {

AlertCondition condition(const std::string& text) {
  std::string why;
  auto c = parse_alert_condition(text, why);
  EXPECT_TRUE(c) << why;
  return c.value_or(AlertCondition{});
}

TEST(AlertCondition, ParsesEveryOperatorAndADuration) {
  EXPECT_TRUE(condition("failed_runs > 0").holds(1));
  EXPECT_FALSE(condition("failed_runs > 0").holds(0));
  EXPECT_TRUE(condition("n>=2").holds(2));
  EXPECT_TRUE(condition("n <= -1.5").holds(-2));
  EXPECT_TRUE(condition("n = 3").holds(3));
  EXPECT_TRUE(condition("n != 3").holds(4));
  EXPECT_TRUE(condition("n <> 3").holds(4));
  EXPECT_EQ(condition("Count < 5 over 10m").column, "count");
  EXPECT_EQ(condition("count < 5 over 10m").sustain, std::chrono::minutes(10));
  std::string why;
  for (const char* bad :
       {"", "n >", "n > x", "n ~ 1", "1 > n", "n > 1 for 10m", "n > 1 over soon", "n > inf"})
    EXPECT_FALSE(parse_alert_condition(bad, why)) << bad;
  EXPECT_THAT(why, ::testing::HasSubstr("expected COLUMN OP NUMBER [over DURATION]"));
}

TEST(AlertCondition, FiresOnlyAfterHoldingForItsDurationAndResolves) {
  const auto c = condition("count < 5 over 10m");
  AlertStatus s;
  const TimePoint t0 = from_epoch_ms(1'000'000);
  EXPECT_TRUE(advance(c, s, 9.0, t0));  // unknown -> ok
  EXPECT_EQ(s.state, AlertState::kOk);
  EXPECT_FALSE(advance(c, s, 1.0, t0 + std::chrono::minutes(1)));  // breaching, not yet 10 minutes
  EXPECT_EQ(s.state, AlertState::kOk);
  EXPECT_FALSE(advance(c, s, 2.0, t0 + std::chrono::minutes(10)));
  EXPECT_TRUE(advance(c, s, 2.0, t0 + std::chrono::minutes(11)));  // held 10 minutes
  EXPECT_EQ(s.state, AlertState::kFiring);
  EXPECT_EQ(s.value, 2.0);
  EXPECT_TRUE(advance(c, s, 7.0, t0 + std::chrono::minutes(12)));
  EXPECT_EQ(s.state, AlertState::kOk);
  // A break in the breach starts the wait again.
  advance(c, s, 1.0, t0 + std::chrono::minutes(13));
  advance(c, s, 8.0, t0 + std::chrono::minutes(20));
  EXPECT_FALSE(advance(c, s, 1.0, t0 + std::chrono::minutes(24)));
  EXPECT_EQ(s.state, AlertState::kOk);
  // No value: unknown, never ok.
  EXPECT_TRUE(advance(c, s, std::nullopt, t0 + std::chrono::minutes(25)));
  EXPECT_EQ(s.state, AlertState::kUnknown);
  // Without a duration it fires at once.
  AlertStatus now;
  EXPECT_TRUE(advance(condition("failed > 0"), now, 1.0, t0));
  EXPECT_EQ(now.state, AlertState::kFiring);
}

}  // namespace
}  // namespace sluice::dashboard
