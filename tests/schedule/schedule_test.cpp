#include "schedule/schedule.h"

#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::schedule {
namespace {

using ::testing::HasSubstr;

TimePoint utc(const std::string& iso) {
  auto t = parse_iso8601_utc(iso);
  if (!t) throw std::runtime_error("bad test time " + iso);
  return *t;
}

std::vector<std::string> fires(const std::string& expr, const std::string& zone, const std::string& from,
                               int n) {
  auto e = ScheduleExpression::parse(expr, zone);
  std::vector<std::string> out;
  TimePoint t = utc(from);
  for (int i = 0; i < n; ++i) {
    auto next = e.next_after(t);
    if (!next) {
      out.push_back("none");
      break;
    }
    out.push_back(format_iso8601_utc(*next).substr(0, 16) + "Z");
    t = *next;
  }
  return out;
}

using V = std::vector<std::string>;

TEST(ScheduleCron, OriginalProjectRule) {
  EXPECT_EQ(fires("cron(00 09 * * ? *)", "UTC", "2026-11-24T08:59:59Z", 2),
            (V{"2026-11-24T09:00Z", "2026-11-25T09:00Z"}));
  EXPECT_EQ(fires("cron(0 9 * * ? *)", "UTC", "2026-11-24T09:00:00Z", 1),
            (V{"2026-11-25T09:00Z"}));  // strictly after
}

TEST(ScheduleCron, ParisTenOClockAcrossTheSpringChange) {
  // 10:00 Paris is 09:00Z in winter (CET) and 08:00Z in summer (CEST); the change is 2026-03-29.
  EXPECT_EQ(fires("cron(00 10 * * ? *)", "Europe/Paris", "2026-03-27T12:00:00Z", 3),
            (V{"2026-03-28T09:00Z", "2026-03-29T08:00Z", "2026-03-30T08:00Z"}));
  EXPECT_EQ(fires("cron(00 10 * * ? *)", "Europe/Paris", "2026-10-24T12:00:00Z", 2),
            (V{"2026-10-25T09:00Z", "2026-10-26T09:00Z"}));
}

TEST(ScheduleCron, StepsRangesListsAndNames) {
  EXPECT_EQ(fires("cron(0/15 * * * ? *)", "UTC", "2026-11-24T10:05:00Z", 4),
            (V{"2026-11-24T10:15Z", "2026-11-24T10:30Z", "2026-11-24T10:45Z", "2026-11-24T11:00Z"}));
  EXPECT_EQ(fires("cron(*/20 8-9 * * ? *)", "UTC", "2026-11-24T00:00:00Z", 7),
            (V{"2026-11-24T08:00Z", "2026-11-24T08:20Z", "2026-11-24T08:40Z", "2026-11-24T09:00Z",
               "2026-11-24T09:20Z", "2026-11-24T09:40Z", "2026-11-25T08:00Z"}));
  EXPECT_EQ(fires("cron(10-50/20 12 * * ? *)", "UTC", "2026-11-24T00:00:00Z", 3),
            (V{"2026-11-24T12:10Z", "2026-11-24T12:30Z", "2026-11-24T12:50Z"}));
  // Weekdays only: 2026-11-27 is a Friday.
  EXPECT_EQ(fires("cron(0 18 ? * MON-FRI *)", "UTC", "2026-11-27T12:00:00Z", 2),
            (V{"2026-11-27T18:00Z", "2026-11-30T18:00Z"}));
  EXPECT_EQ(fires("cron(0 12 ? * sun,SAT *)", "UTC", "2026-11-24T00:00:00Z", 3),
            (V{"2026-11-28T12:00Z", "2026-11-29T12:00Z", "2026-12-05T12:00Z"}));
  EXPECT_EQ(fires("cron(0 8 1 * ? *)", "UTC", "2026-11-24T00:00:00Z", 2),
            (V{"2026-12-01T08:00Z", "2027-01-01T08:00Z"}));
  EXPECT_EQ(fires("cron(0 0 1 JAN-MAR ? *)", "UTC", "2026-11-24T00:00:00Z", 4),
            (V{"2027-01-01T00:00Z", "2027-02-01T00:00Z", "2027-03-01T00:00Z", "2028-01-01T00:00Z"}));
  EXPECT_EQ(fires("cron(0 0 1,15 * ? *)", "UTC", "2026-11-24T00:00:00Z", 2),
            (V{"2026-12-01T00:00Z", "2026-12-15T00:00Z"}));
}

TEST(ScheduleCron, LastDayOfMonth) {
  EXPECT_EQ(fires("cron(0 12 L * ? *)", "UTC", "2027-01-15T00:00:00Z", 3),
            (V{"2027-01-31T12:00Z", "2027-02-28T12:00Z", "2027-03-31T12:00Z"}));
  EXPECT_EQ(fires("cron(0 12 L 2 ? *)", "UTC", "2027-03-01T00:00:00Z", 2),
            (V{"2028-02-29T12:00Z", "2029-02-28T12:00Z"}));
}

TEST(ScheduleCron, NearestWeekday) {
  // 2026-08-15 is a Saturday -> Friday 14th; 2026-11-15 a Sunday -> Monday 16th.
  EXPECT_EQ(fires("cron(0 12 15W 8 ? 2026)", "UTC", "2026-01-01T00:00:00Z", 1), (V{"2026-08-14T12:00Z"}));
  EXPECT_EQ(fires("cron(0 12 15W 11 ? 2026)", "UTC", "2026-01-01T00:00:00Z", 1), (V{"2026-11-16T12:00Z"}));
  // 2026-08-01 is a Saturday: 1W is Monday the 3rd, never the previous month.
  EXPECT_EQ(fires("cron(0 12 1W 8 ? 2026)", "UTC", "2026-01-01T00:00:00Z", 1), (V{"2026-08-03T12:00Z"}));
  // Last weekday: 2026-01-31 is a Saturday -> 30th; 2026-05-31 a Sunday -> 29th.
  EXPECT_EQ(fires("cron(0 12 LW 1,5 ? 2026)", "UTC", "2026-01-01T00:00:00Z", 2),
            (V{"2026-01-30T12:00Z", "2026-05-29T12:00Z"}));
}

TEST(ScheduleCron, NthAndLastWeekdayOfMonth) {
  EXPECT_EQ(fires("cron(0 12 ? * 2#1 *)", "UTC", "2026-11-24T00:00:00Z", 2),
            (V{"2026-12-07T12:00Z", "2027-01-04T12:00Z"}));
  // Fifth Friday: only months that have one (Jan 2027 has 29th; Apr 2027 has 30th).
  EXPECT_EQ(fires("cron(0 12 ? * 6#5 *)", "UTC", "2026-11-24T00:00:00Z", 2),
            (V{"2027-01-29T12:00Z", "2027-04-30T12:00Z"}));
  EXPECT_EQ(fires("cron(0 12 ? * 6L *)", "UTC", "2026-11-24T00:00:00Z", 2),
            (V{"2026-11-27T12:00Z", "2026-12-25T12:00Z"}));
}

TEST(ScheduleCron, YearFieldEnds) {
  EXPECT_EQ(fires("cron(0 0 1 1 ? 2027)", "UTC", "2026-11-24T00:00:00Z", 2),
            (V{"2027-01-01T00:00Z", "none"}));
  EXPECT_EQ(fires("cron(0 0 1 6 ? 2026-2027)", "UTC", "2026-11-24T00:00:00Z", 2),
            (V{"2027-06-01T00:00Z", "none"}));
  EXPECT_EQ(fires("cron(0 0 30 2 ? *)", "UTC", "2026-11-24T00:00:00Z", 1), (V{"none"}));  // never exists
}

TEST(ScheduleDst, ParisSkippedHourFiresOnceAtTheTransition) {
  // 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z). 02:30 does not exist that day.
  EXPECT_EQ(fires("cron(30 2 * * ? *)", "Europe/Paris", "2026-03-28T12:00:00Z", 3),
            (V{"2026-03-29T01:00Z", "2026-03-30T00:30Z", "2026-03-31T00:30Z"}));
}

TEST(ScheduleDst, ParisRepeatedHourFiresOnce) {
  // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice; the first (CEST, 00:30Z) fires.
  EXPECT_EQ(fires("cron(30 2 * * ? *)", "Europe/Paris", "2026-10-24T12:00:00Z", 2),
            (V{"2026-10-25T00:30Z", "2026-10-26T01:30Z"}));
  // Hourly across the night: 02:00 local fires once (00:00Z), then 03:00 CET (02:00Z).
  EXPECT_EQ(fires("cron(0 * * * ? *)", "Europe/Paris", "2026-10-24T22:30:00Z", 4),
            (V{"2026-10-24T23:00Z", "2026-10-25T00:00Z", "2026-10-25T02:00Z", "2026-10-25T03:00Z"}));
  // Starting inside the repeated hour (second occurrence) does not fire 02:30 again.
  EXPECT_EQ(fires("cron(30 2 * * ? *)", "Europe/Paris", "2026-10-25T01:10:00Z", 1), (V{"2026-10-26T01:30Z"}));
}

TEST(ScheduleDst, NewYork) {
  // 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z): 02:30 fires once at the transition.
  EXPECT_EQ(fires("cron(30 2 * * ? *)", "America/New_York", "2026-03-07T12:00:00Z", 2),
            (V{"2026-03-08T07:00Z", "2026-03-09T06:30Z"}));
  // 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice; the first is EDT (05:30Z).
  EXPECT_EQ(fires("cron(30 1 * * ? *)", "America/New_York", "2026-10-31T12:00:00Z", 2),
            (V{"2026-11-01T05:30Z", "2026-11-02T06:30Z"}));
}

TEST(ScheduleRate, FromAnchor) {
  auto e = ScheduleExpression::parse("rate(5 minutes)");
  e.set_anchor(utc("2026-11-24T10:02:00Z"));
  EXPECT_EQ(e.next_after(utc("2026-11-24T10:00:00Z")), utc("2026-11-24T10:02:00Z"));
  EXPECT_EQ(e.next_after(utc("2026-11-24T10:02:00Z")), utc("2026-11-24T10:07:00Z"));
  EXPECT_EQ(e.next_after(utc("2026-11-24T10:13:00Z")), utc("2026-11-24T10:17:00Z"));
  auto h = ScheduleExpression::parse("rate(1 hour)");
  h.set_anchor(utc("2026-11-24T10:00:00Z"));
  EXPECT_EQ(h.next_after(utc("2026-11-24T12:30:00Z")), utc("2026-11-24T13:00:00Z"));
  auto d = ScheduleExpression::parse("rate(1 day)");
  d.set_anchor(utc("2026-11-24T10:00:00Z"));
  EXPECT_EQ(d.next_after(utc("2026-11-24T10:00:00Z")), utc("2026-11-25T10:00:00Z"));
  EXPECT_TRUE(d.is_rate());
}

struct Invalid {
  const char* expression;
  size_t column;
  const char* message;
};

TEST(ScheduleInvalid, ErrorsNameTheFieldAndColumn) {
  const Invalid cases[] = {
      {"cron(0 9 * * ?)", 5, "expected 6 fields (minutes hours day-of-month month day-of-week year), got 5"},
      {"cron(61 * * * ? *)", 5, "minutes field: value 61 out of range 0-59"},
      {"cron(0 24 * * ? *)", 7, "hours field: value 24 out of range 0-23"},
      {"cron(0 9 * * * *)", 13, "one of day-of-month and day-of-week must be '?'"},
      {"cron(0 9 ? * ? *)", 9, "cannot both be '?'"},
      {"cron(*/0 * * * ? *)", 7, "minutes field: step \"0\" must be a positive integer"},
      {"cron(0 9 ? FOO * *)", 11, "month field: \"FOO\" is not a number from 1 to 12 or a name (JAN-DEC)"},
      {"cron(0 9 ? * MON-FUN *)", 17, "day-of-week field: \"FUN\""},
      {"cron(0 9 ? * 2#6 *)", 15, "in x#n, n must be 1 to 5"},
      {"cron(0 9 32 * ? *)", 9, "day-of-month field: value 32 out of range 1-31"},
      {"cron(0 9 * * ? 1969)", 15, "year field: value 1969 out of range 1970-2199"},
      {"cron(30-10 * * * ? *)", 5, "range 30-10 goes backwards"},
      {"cron(", 5, "missing closing parenthesis"},
      {"every day", 0, "expected cron(...) or rate(...)"},
      {"rate(0 minutes)", 5, "rate value \"0\" must be a positive integer"},
      {"rate(1 minutes)", 7, "a rate of 1 takes a singular unit (\"minute\")"},
      {"rate(5 minute)", 7, "a rate above 1 takes a plural unit (\"minutes\")"},
      {"rate(5 weeks)", 7, "rate unit \"weeks\" must be minute(s), hour(s) or day(s)"},
      {"rate(5)", 5, "expected rate(value unit)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expression);
    try {
      ScheduleExpression::parse(c.expression);
      ADD_FAILURE() << "accepted";
    } catch (const ScheduleError& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(c.message));
      EXPECT_THAT(std::string(e.what()), HasSubstr(c.expression));
      EXPECT_EQ(e.column(), c.column);
    }
  }
}

TEST(ScheduleInvalid, UnknownZone) {
  try {
    ScheduleExpression::parse("cron(0 9 * * ? *)", "Europe/Atlantis");
    FAIL();
  } catch (const ScheduleError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("unknown time zone \"Europe/Atlantis\""));
  }
}

TEST(SchedulePlan, FirstStartFiresNothing) {
  auto e = ScheduleExpression::parse("cron(0 * * * ? *)");
  auto p = plan(e, std::nullopt, utc("2026-11-24T10:30:00Z"), CatchUp::kLatest);
  EXPECT_TRUE(p.due.empty());
  EXPECT_EQ(p.next, utc("2026-11-24T11:00:00Z"));
}

TEST(SchedulePlan, CatchUpPolicies) {
  auto e = ScheduleExpression::parse("cron(0 * * * ? *)");
  const auto last = utc("2026-11-24T06:00:00Z");
  const auto now = utc("2026-11-24T10:30:00Z");  // 07, 08, 09, 10 missed
  EXPECT_TRUE(plan(e, last, now, CatchUp::kNone).due.empty());
  EXPECT_EQ(plan(e, last, now, CatchUp::kLatest).due, (std::vector<TimePoint>{utc("2026-11-24T10:00:00Z")}));
  EXPECT_EQ(plan(e, last, now, CatchUp::kAll).due,
            (std::vector<TimePoint>{utc("2026-11-24T07:00:00Z"), utc("2026-11-24T08:00:00Z"),
                                    utc("2026-11-24T09:00:00Z"), utc("2026-11-24T10:00:00Z")}));
  auto capped = plan(e, last, now, CatchUp::kAll, 2);
  EXPECT_EQ(capped.due, (std::vector<TimePoint>{utc("2026-11-24T09:00:00Z"), utc("2026-11-24T10:00:00Z")}));
  for (auto policy : {CatchUp::kNone, CatchUp::kLatest, CatchUp::kAll})
    EXPECT_EQ(plan(e, last, now, policy).next, utc("2026-11-24T11:00:00Z"));
}

TEST(SchedulePlan, RestartBetweenSlotsFiresNothingTwice) {
  auto e = ScheduleExpression::parse("cron(0/10 * * * ? *)");
  // Fired 10:10, then restarted at 10:15 and again at 10:19: nothing due until 10:20.
  const auto fired = utc("2026-11-24T10:10:00Z");
  EXPECT_TRUE(plan(e, fired, utc("2026-11-24T10:15:00Z"), CatchUp::kAll).due.empty());
  EXPECT_TRUE(plan(e, fired, utc("2026-11-24T10:19:59Z"), CatchUp::kAll).due.empty());
  auto p = plan(e, fired, utc("2026-11-24T10:20:00Z"), CatchUp::kAll);
  EXPECT_EQ(p.due, (std::vector<TimePoint>{utc("2026-11-24T10:20:00Z")}));
  // Same inputs, same answer: and after recording 10:20, nothing is due again.
  EXPECT_EQ(plan(e, fired, utc("2026-11-24T10:20:00Z"), CatchUp::kAll).due, p.due);
  EXPECT_TRUE(plan(e, p.due.back(), utc("2026-11-24T10:20:00Z"), CatchUp::kAll).due.empty());
}

TEST(SchedulePlan, LongOutageOfAMinuteScheduleIsCheap) {
  auto e = ScheduleExpression::parse("cron(* * * * ? *)");
  auto p = plan(e, utc("2026-01-01T00:00:00Z"), utc("2026-03-01T00:00:00Z"), CatchUp::kAll, 5);
  ASSERT_EQ(p.due.size(), 5u);
  EXPECT_EQ(p.due.back(), utc("2026-03-01T00:00:00Z"));
  EXPECT_EQ(parse_catch_up("latest"), CatchUp::kLatest);
  EXPECT_FALSE(parse_catch_up("sometimes").has_value());
}

TEST(ScheduleFormat, InZone) {
  // 23:30Z on Nov 24 is already Nov 25 in Paris.
  EXPECT_EQ(format_in_zone(utc("2026-11-24T23:30:00Z"), "Europe/Paris", "%Y-%m-%d"), "2026-11-25");
  EXPECT_EQ(format_in_zone(utc("2026-11-24T23:30:00Z"), "UTC", "%Y-%m-%dT%H-%M-%S"), "2026-11-24T23-30-00");
}

}  // namespace
}  // namespace sluice::schedule
