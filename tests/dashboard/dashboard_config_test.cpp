#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/pipeline.h"
#include "tests/common/expect_error.h"

namespace sluice::dashboard {
namespace {

using ::testing::HasSubstr;
using testing_util::fails_with;

const char* kHead = R"(buckets: [lake]
crawlers:
  c: {database: db, targets: [s3://lake/processed/]}
dashboards:
  d:
    title: Users
    parameters:
      user: {type: dropdown, values: "SELECT DISTINCT name FROM users"}
      period: {type: date_range, default: 7d}
      limit: {type: number, default: "10"}
    sheets:
)";

config::Pipeline parse(const std::string& sheets) { return config::parse_pipeline(kHead + sheets, "p.yaml"); }

TEST(DashboardConfig, ADashboardOfEveryVisualTypeParsesWithItsFieldsRefreshDrillAndAlerts) {
  const auto p = parse(R"(      - title: One
        visuals:
          k: {type: kpi, sql: "SELECT count(*) AS n, 1 AS p FROM users", fields: {value: n, previous: p}}
          b:
            type: bar
            sql: "SELECT name, count(*) AS c FROM users WHERE name = {{user}} GROUP BY 1"
            fields: {x: name, y: c}
            drill: {parameter: user, field: x}
            refresh: 30s
            alerts:
              - {name: none, condition: "c < 1 over 10m", webhook: "http://127.0.0.1:1/hook"}
          m: {type: map, sql: "SELECT 1 AS la, 2 AS lo", fields: {lat: la, lng: lo}, refresh: manual}
          t: {type: table, sql: "SELECT * FROM users LIMIT {{limit}}", page_size: 10}
      - title: Two
        visuals:
          h: {type: histogram, sql: "SELECT 1 AS v", fields: {value: v}, bins: 7}
          w: {type: heatmap, sql: "SELECT 1 AS a, 2 AS b, 3 AS c", fields: {x: a, y: b, value: c}}
)");
  ASSERT_EQ(p.dashboards.size(), 1u);
  const auto& d = p.dashboards[0];
  EXPECT_EQ(d.title, "Users");
  ASSERT_EQ(d.sheets.size(), 2u);
  EXPECT_EQ(d.visual_count(), 6u);
  const auto* b = d.visual("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, VisualType::kBar);
  EXPECT_EQ(*b->column("y"), "c");
  EXPECT_EQ(b->refresh.mode, RefreshMode::kInterval);
  EXPECT_EQ(b->refresh.interval, std::chrono::seconds(30));
  ASSERT_TRUE(b->drill);
  EXPECT_EQ(b->drill->parameter, "user");
  ASSERT_EQ(b->alerts.size(), 1u);
  EXPECT_EQ(b->alerts[0].condition.sustain, std::chrono::minutes(10));
  EXPECT_EQ(b->alerts[0].webhook, "http://127.0.0.1:1/hook");
  EXPECT_EQ(d.visual("m")->refresh.mode, RefreshMode::kManual);
  EXPECT_EQ(d.visual("t")->page_size, 10);
  EXPECT_EQ(d.visual("h")->bins, 7);
  EXPECT_EQ(d.visual("k")->refresh.mode, RefreshMode::kOnChange);  // the default
  EXPECT_EQ(d.parameter("period")->default_value, "7d");
}

TEST(DashboardConfig, EveryMistakeIsReportedAtItsLineAndColumn) {
  try {
    parse(R"(      - title: One
        visuals:
          a: {type: gauge, sql: "SELECT 1"}
          b: {type: bar, sql: "SELECT 1 AS x", fields: {x: x, colour: x}}
          c: {type: line, sql: "SELECT {{nobody}}", fields: {x: a, y: b}}
          e: {type: pie, sql: "SELECT * FROM t WHERE a = '{{user}}'", fields: {label: a, value: b}}
          f: {type: bar, sql: "SELECT 1", fields: {x: a, y: b}, drill: {parameter: period, field: x}}
          g: {type: kpi, sql: "SELECT 1", fields: {value: v}, alerts: [{name: x, condition: "v >> 1"}]}
          h: {type: kpi, sql: "SELECT 1", fields: {value: v}, refresh: 10ms}
          h: {type: kpi, sql: "SELECT 1", fields: {value: v}}
)");
    FAIL() << "accepted";
  } catch (const config::ConfigError& e) {
    const std::string all = e.what();
    EXPECT_THAT(all, HasSubstr("p.yaml:14:21: dashboards.d.sheets[0].visuals.a.type"));
    EXPECT_THAT(all, HasSubstr("gauge"));
    EXPECT_THAT(all, HasSubstr("a bar has no field \"colour\" (its fields: x, y, series)"));
    EXPECT_THAT(all, HasSubstr("a bar needs the field \"y\" mapped to a column"));
    EXPECT_THAT(all,
                HasSubstr("{{nobody}} names no parameter of this dashboard (declared: user, period, limit)"));
    EXPECT_THAT(all, HasSubstr("is inside quotes; write it bare"));
    EXPECT_THAT(
        all, HasSubstr("a drill sets a dropdown, text or number parameter, not the date range \"period\""));
    EXPECT_THAT(all, HasSubstr("expected COLUMN OP NUMBER [over DURATION]"));
    EXPECT_THAT(all, HasSubstr("expected on_change, manual or an interval of at least 1s"));
    EXPECT_THAT(all, HasSubstr("p.yaml:21:11"));  // the second h
  }
}

TEST(DashboardConfig, ParametersNeedWhatTheirTypeNeeds) {
  const std::string file = R"(dashboards:
  d:
    parameters:
      a: {type: dropdown}
      b: {type: date_range, default: "last week"}
      c: {type: number, default: "ten"}
      d-e: {type: text}
    sheets:
      - {title: s, visuals: {v: {type: table, sql: "SELECT 1"}}}
)";
  EXPECT_TRUE(
      fails_with<config::ConfigError>([&] { config::parse_pipeline(file, "p.yaml"); },
                                      "p.yaml:4:10: dashboards.d.parameters.a: a dropdown needs values:"));
  EXPECT_TRUE(fails_with<config::ConfigError>([&] { config::parse_pipeline(file, "p.yaml"); },
                                              "expected \"all\", a duration back from now"));
  EXPECT_TRUE(fails_with<config::ConfigError>([&] { config::parse_pipeline(file, "p.yaml"); },
                                              "expected a number, got \"ten\""));
  EXPECT_TRUE(fails_with<config::ConfigError>([&] { config::parse_pipeline(file, "p.yaml"); },
                                              "parameter names are written {{name}} in SQL"));
}

}  // namespace
}  // namespace sluice::dashboard
