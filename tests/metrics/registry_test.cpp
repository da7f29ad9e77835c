#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "common/error.h"

namespace sluice::metrics {
namespace {

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.starts_with(prefix)) out.push_back(line);
    start = end + 1;
  }
  return out;
}

TEST(MetricsFormat, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("plain é"), "plain é");
}

TEST(MetricsFormat, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escape_help("x\\y\n\"z\""), "x\\\\y\\n\"z\"");
}

TEST(MetricsFormat, ValuesAreShortestDecimalsOrInfNaN) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(MetricsRegistry, CounterRendersHelpTypeAndEscapedLabels) {
  Registry registry;
  auto& puts =
      registry.counter("sluice_test_records_total", "Records put.\nSecond line", {"stream", "shard"});
  puts.with({"clicks", "shard-0"}).add(2);
  puts.with({"clicks", "shard-0"}).add(3);
  puts.with({"we\"ird\\name\n", "shard-1"}).add();
  puts.with({"clicks", "shard-0"}).add(-4);  // ignored: counters never go down
  const std::string text = registry.render();
  EXPECT_EQ(lines_starting(text, "# HELP sluice_test_records_total"),
            std::vector<std::string>{"# HELP sluice_test_records_total Records put.\\nSecond line"});
  EXPECT_EQ(lines_starting(text, "# TYPE"),
            std::vector<std::string>{"# TYPE sluice_test_records_total counter"});
  EXPECT_EQ(
      lines_starting(text, "sluice_test_records_total{"),
      (std::vector<std::string>{R"(sluice_test_records_total{stream="clicks",shard="shard-0"} 5)",
                                R"(sluice_test_records_total{stream="we\"ird\\name\n",shard="shard-1"} 1)"}));
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  auto& h = registry.histogram("sluice_test_seconds", "Durations.", {"kind"}, {0.1, 1, 10});
  auto& source = h.with({"source"});
  for (double v : {0.05, 0.1, 0.5, 5.0, 50.0, 70.0}) source.observe(v);
  const std::string text = registry.render();
  EXPECT_EQ(lines_starting(text, "# TYPE"), std::vector<std::string>{"# TYPE sluice_test_seconds histogram"});
  EXPECT_EQ(lines_starting(text, "sluice_test_seconds_bucket"),
            (std::vector<std::string>{R"(sluice_test_seconds_bucket{kind="source",le="0.1"} 2)",
                                      R"(sluice_test_seconds_bucket{kind="source",le="1"} 3)",
                                      R"(sluice_test_seconds_bucket{kind="source",le="10"} 4)",
                                      R"(sluice_test_seconds_bucket{kind="source",le="+Inf"} 6)"}));
  EXPECT_EQ(lines_starting(text, "sluice_test_seconds_sum"),
            std::vector<std::string>{R"(sluice_test_seconds_sum{kind="source"} 125.65)"});
  EXPECT_EQ(lines_starting(text, "sluice_test_seconds_count"),
            std::vector<std::string>{R"(sluice_test_seconds_count{kind="source"} 6)"});
}

TEST(MetricsRegistry, UnlabelledHistogramHasOnlyTheLeLabel) {
  Registry registry;
  registry.histogram("sluice_test_latency_seconds", "L.", {}, {1}).with({}).observe(2);
  const std::string text = registry.render();
  EXPECT_EQ(lines_starting(text, "sluice_test_latency_seconds_bucket"),
            (std::vector<std::string>{R"(sluice_test_latency_seconds_bucket{le="1"} 0)",
                                      R"(sluice_test_latency_seconds_bucket{le="+Inf"} 1)"}));
  EXPECT_EQ(lines_starting(text, "sluice_test_latency_seconds_count"),
            std::vector<std::string>{"sluice_test_latency_seconds_count 1"});
}

TEST(MetricsRegistry, CollectedGaugesAreReadAtEachScrapeAndAThrowingOneIsSkipped) {
  Registry registry;
  double lag = 7;
  registry.collect_gauge("sluice_test_lag_records", "Lag.", {"shard"}, [&lag] {
    return std::vector<Sample>{{{"shard-0"}, lag}};
  });
  registry.collect_gauge("sluice_test_broken", "Broken.", {},
                         []() -> std::vector<Sample> { throw Error("gone"); });
  EXPECT_EQ(lines_starting(registry.render(), "sluice_test_lag_records{"),
            std::vector<std::string>{R"(sluice_test_lag_records{shard="shard-0"} 7)"});
  lag = 3;
  const std::string text = registry.render();
  EXPECT_EQ(lines_starting(text, "sluice_test_lag_records{"),
            std::vector<std::string>{R"(sluice_test_lag_records{shard="shard-0"} 3)"});
  EXPECT_EQ(lines_starting(text, "# TYPE sluice_test_broken"),
            std::vector<std::string>{"# TYPE sluice_test_broken gauge"});
  EXPECT_TRUE(lines_starting(text, "sluice_test_broken").empty());
}

TEST(MetricsRegistry, RegisteringTheSameFamilyTwiceReturnsItButAConflictThrows) {
  Registry registry;
  auto& a = registry.counter("sluice_test_total", "T.", {"x"});
  EXPECT_EQ(&a, &registry.counter("sluice_test_total", "T.", {"x"}));
  EXPECT_THROW(registry.counter("sluice_test_total", "T.", {"y"}), Error);
  EXPECT_THROW(registry.gauge("sluice_test_total", "T.", {"x"}), Error);
  EXPECT_THROW(registry.counter("9bad", "T."), Error);
  EXPECT_THROW(registry.counter("sluice_ok_total", "T.", {"bad-label"}), Error);
  EXPECT_THROW(registry.histogram("sluice_h", "T.", {"le"}, {1}), Error);
  EXPECT_THROW(registry.histogram("sluice_h2", "T.", {}, {2, 1}), Error);
  EXPECT_THROW(a.with({"1", "2"}), Error);
}

TEST(MetricsRegistry, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  auto& family = registry.counter("sluice_test_total", "T.", {"t"});
  auto& histogram = registry.histogram("sluice_test_seconds", "T.", {}, {1}).with({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        family.with({std::to_string(t % 2)}).add();
        histogram.observe(0.5);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(family.with({"0"}).value() + family.with({"1"}).value(), 40000);
  EXPECT_EQ(histogram.snapshot().count, 40000u);
  EXPECT_EQ(histogram.snapshot().sum, 20000);
}

}  // namespace
}  // namespace sluice::metrics
