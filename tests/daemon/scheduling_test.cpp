// The daemon's scheduling promises, pinned before the daemon is reshaped (issue 9), driven through
// SchedulerLoop::tick with chosen times: a schedule whose targets include a crawler fires a full
// crawl at each slot; while the daemon runs every slot fires, several in one tick when the loop is
// late, whatever the catch-up policy; a crawl interrupted by a stop is retried once with its slot.
#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "common/fs.h"
#include "daemon/runtime.h"
#include "daemon/scheduler.h"
#include "metastore/run_log.h"
#include "storage/object_store.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"

namespace sluice::daemon {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class DaemonScheduling : public ::testing::Test {
 protected:
  void SetUp() override { api_.start(); }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(api_.port()); }

  config::Pipeline pipeline(const std::string& yaml) {
    auto p = config::parse_pipeline(yaml, dir_.path() / "p.yaml");
    p.data_dir = dir_.path() / "data";
    return p;
  }
  // A schedule `crawl` of `expression` whose targets are the source users and the crawler lake over
  // the folder users writes to (catalogued only when a run of lake says so).
  std::string crawl_pipeline(const std::string& expression = "cron(* * * * ? *)") const {
    return "buckets: [raw]\n"
           "schedules:\n"
           "  crawl:\n"
           "    expression: " +
           expression +
           "\n"
           "    targets: [users, lake]\n"
           "sources:\n"
           "  users:\n"
           "    url: " +
           base() +
           "/users\n"
           "    to: s3://raw/lake/users/users_{datetime}.json\n"
           "crawlers:\n"
           "  lake:\n"
           "    database: lake\n"
           "    targets: [s3://raw/lake/]\n"
           "    on_change: false\n";
  }
  static TimePoint at(int hour, int minute, int second) {
    return date::sys_days{date::year{2026} / 11 / 24} + std::chrono::hours(hour) +
           std::chrono::minutes(minute) + std::chrono::seconds(second);
  }
  // The run history, oldest first.
  static std::vector<metastore::RunRecord> history(Runtime& rt) {
    auto runs = rt.recent_runs(1000);
    std::reverse(runs.begin(), runs.end());
    return runs;
  }
  static std::vector<std::string> keys(Runtime& rt, const std::string& prefix) {
    storage::ListRequest request;
    request.prefix = prefix;
    std::vector<std::string> out;
    for (const auto& o : rt.objects().list("raw", request).objects) out.push_back(o.key);
    return out;
  }

  testing_util::TempDir dir_;
  fixture::FixtureApi api_{fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json")};
};

TEST_F(DaemonScheduling, AScheduleThatTargetsACrawlerRunsAFullCrawlAtEachSlot) {
  Runtime rt(pipeline(crawl_pipeline()));
  SchedulerLoop loop(rt);
  loop.tick(at(10, 0, 30));  // first sight: nothing is due
  EXPECT_TRUE(history(rt).empty());
  loop.tick(at(10, 1, 5));
  auto runs = history(rt);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].kind, "source");
  EXPECT_EQ(runs[1].kind, "crawl");
  EXPECT_EQ(runs[1].name, "lake");
  EXPECT_EQ(runs[1].trigger, "schedule");
  EXPECT_EQ(runs[1].schedule, "crawl");
  EXPECT_EQ(runs[1].slot, at(10, 1, 0));
  EXPECT_EQ(runs[1].status, metastore::RunStatus::kSucceeded) << runs[1].error;
  EXPECT_EQ(runs[1].records, 1u);  // the one file the source wrote just before
  ASSERT_TRUE(rt.catalog().table("lake", "users").has_value());
  EXPECT_EQ(*rt.query("SELECT count(*) FROM lake.users").rows[0][0], "10");

  // The next slot crawls again and finds the second file.
  loop.tick(at(10, 2, 5));
  runs = history(rt);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[3].kind, "crawl");
  EXPECT_EQ(runs[3].slot, at(10, 2, 0));
  EXPECT_EQ(runs[3].status, metastore::RunStatus::kSucceeded) << runs[3].error;
  EXPECT_EQ(*rt.query("SELECT count(*) FROM lake.users").rows[0][0], "20");
}

TEST_F(DaemonScheduling, EverySlotFiresWhileTheDaemonRunsEvenSeveralInOneLateTick) {
  for (const std::string policy : {"none", "latest", "all"}) {
    SCOPED_TRACE(policy);
    testing_util::TempDir data;
    auto p = pipeline(testing_util::pipeline_yaml(base(), policy));  // cron(* * * * ? *): users, posts
    p.data_dir = data.path();
    Runtime rt(p);
    SchedulerLoop loop(rt);
    loop.tick(at(10, 0, 30));
    // The loop comes back late (a long run): 10:01, 10:02 and 10:03 are all due, and all fire, in
    // order, each with its own slot (so its own object key) — catch_up is for a stopped daemon only.
    const auto next = loop.tick(at(10, 3, 10));
    EXPECT_EQ(next, at(10, 4, 0));
    std::vector<TimePoint> slots;
    for (const auto& run : history(rt)) {
      EXPECT_EQ(run.trigger, "schedule");
      EXPECT_EQ(run.status, metastore::RunStatus::kSucceeded) << run.error;
      if (run.name == "users") slots.push_back(*run.slot);
    }
    EXPECT_EQ(slots, (std::vector<TimePoint>{at(10, 1, 0), at(10, 2, 0), at(10, 3, 0)}));
    EXPECT_EQ(history(rt).size(), 6u);
    EXPECT_EQ(keys(rt, "raw/users/"), (std::vector<std::string>{"raw/users/users_2026-11-24T10-01-00.json",
                                                                "raw/users/users_2026-11-24T10-02-00.json",
                                                                "raw/users/users_2026-11-24T10-03-00.json"}));
    loop.tick(at(10, 3, 20));  // nothing new
    EXPECT_EQ(history(rt).size(), 6u);
  }
}

TEST_F(DaemonScheduling, TwoSlotsOfARateScheduleDueInOneTickBothFire) {
  Runtime rt(pipeline(crawl_pipeline("rate(1 minute)")));
  SchedulerLoop loop(rt);
  loop.tick(at(10, 0, 30));  // the schedule's anchor: its slots are 10:01:30, 10:02:30, ...
  EXPECT_EQ(loop.tick(at(10, 2, 40)), at(10, 3, 30));
  std::vector<std::pair<std::string, TimePoint>> fired;
  for (const auto& run : history(rt)) {
    EXPECT_EQ(run.status, metastore::RunStatus::kSucceeded) << run.error;
    fired.emplace_back(run.name, *run.slot);
  }
  EXPECT_EQ(fired,
            (std::vector<std::pair<std::string, TimePoint>>{{"users", at(10, 1, 30)},
                                                            {"lake", at(10, 1, 30)},
                                                            {"users", at(10, 2, 30)},
                                                            {"lake", at(10, 2, 30)}}));
  EXPECT_EQ(*rt.query("SELECT count(*) FROM lake.users").rows[0][0], "20");
}

TEST_F(DaemonScheduling, ACrawlThatAStopKeptFromStartingIsRetriedOnceWithItsSlot) {
  // The users request hangs; the daemon stops during it, so the crawl after it never starts.
  api_.script("/users", {fixture::Fault{.delay = 20s}});
  const TimePoint slot = at(10, 0, 0);
  {
    Runtime rt(pipeline(crawl_pipeline()));
    std::thread stopper([&] {
      std::this_thread::sleep_for(300ms);
      rt.cancel();
    });
    rt.fire_schedule(*rt.pipeline().find_schedule("crawl"), slot, "schedule");
    stopper.join();
    auto runs = history(rt);
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[1].kind, "crawl");
    EXPECT_EQ(runs[1].status, metastore::RunStatus::kInterrupted);
    EXPECT_THAT(runs[1].error, HasSubstr("stopped before this run began"));
  }
  {
    Runtime rt(pipeline(crawl_pipeline()));
    rt.retry_interrupted();
    auto runs = history(rt);
    ASSERT_EQ(runs.size(), 4u);
    for (size_t i : {2u, 3u}) {
      EXPECT_EQ(runs[i].trigger, "retry");
      EXPECT_EQ(runs[i].slot, slot);
      EXPECT_EQ(runs[i].status, metastore::RunStatus::kSucceeded) << runs[i].error;
    }
    EXPECT_EQ(runs[3].kind, "crawl");
    EXPECT_EQ(runs[3].name, "lake");
    EXPECT_EQ(runs[3].records, 1u);  // the users object its retried source wrote, at the slot's key
    EXPECT_EQ(keys(rt, "lake/"), (std::vector<std::string>{"lake/users/users_2026-11-24T10-00-00.json"}));
    EXPECT_TRUE(rt.catalog().table("lake", "users").has_value());
    rt.retry_interrupted();  // once only
    EXPECT_EQ(history(rt).size(), 4u);
  }
  Runtime rt(pipeline(crawl_pipeline()));
  rt.retry_interrupted();  // nor after another restart
  EXPECT_EQ(history(rt).size(), 4u);
}

}  // namespace
}  // namespace sluice::daemon
