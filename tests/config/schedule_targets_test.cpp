// A schedule's targets may name crawlers as well as sources (README: "A schedule's `targets` may name
// crawlers as well as sources"), pinned in the parser before config moves beside its components.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/pipeline.h"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;

// Sections in the order users write them: schedules first, the crawler they target declared later.
constexpr char kCrawlSchedule[] = R"(buckets: [raw]
schedules:
  nightly:
    expression: cron(0 2 * * ? *)
    targets: [users, lake]
  recrawl:
    expression: rate(6 hours)
    targets: [lake]
sources:
  users:
    url: http://127.0.0.1:1/users
    to: s3://raw/raw/users/{date}.json
crawlers:
  lake:
    database: lake
    targets: [s3://raw/raw/]
    on_change: false
)";

TEST(ConfigSchedules, TargetsMayNameCrawlersAsWellAsSourcesInFileOrder) {
  const Pipeline p = parse_pipeline(kCrawlSchedule, "p.yaml");
  ASSERT_EQ(p.schedules.size(), 2u);
  EXPECT_THAT(p.schedules[0].targets, ElementsAre("users", "lake"));
  EXPECT_THAT(p.schedules[1].targets, ElementsAre("lake"));
  ASSERT_NE(p.find_schedule("recrawl"), nullptr);
  EXPECT_EQ(p.find_source("lake"), nullptr);  // a crawler, not a source
  ASSERT_NE(p.find_crawler("lake"), nullptr);
  EXPECT_EQ(p.find_crawler("lake")->database, "lake");
  EXPECT_FALSE(p.find_crawler("lake")->on_change);
}

TEST(ConfigSchedules, ATargetNamingNeitherIsRefusedAtItsPlace) {
  std::string yaml = kCrawlSchedule;
  yaml.replace(yaml.find("targets: [lake]"), 15, "targets: [lakes]");
  try {
    parse_pipeline(yaml, "p.yaml");
    FAIL() << "accepted a schedule target that names nothing";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].to_string(),
              "p.yaml:8:15: schedules.recrawl.targets[0]: no source or crawler named \"lakes\" is declared "
              "under sources: or crawlers:");
  }
}

}  // namespace
}  // namespace sluice::config
