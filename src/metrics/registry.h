// Metrics: counters, gauges and histograms with labels, and their Prometheus text exposition
// (format 0.0.4) for GET /metrics. A Registry holds families (one metric name, one help text, fixed
// label names); a family holds one child per combination of label values. The hot path is an atomic
// add on a child: look the child up once (with()) and keep the reference — children live as long as
// the registry and never move. Figures that already live elsewhere (a consumer's lag) are read at
// scrape time by collectors instead of being copied into gauges.
// There is no global registry: its owner (the daemon's Runtime) passes it by reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::metrics {

using LabelValues = std::vector<std::string>;

// A monotonically increasing count (Prometheus counter). Thread-safe, lock-free.
class Counter {
 public:
  // Adds `amount` (>= 0; a negative amount is ignored, as a counter never goes down). Never throws.
  void add(double amount = 1.0);
  // The current total. Never throws.
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (Prometheus gauge). Thread-safe, lock-free.
class Gauge {
 public:
  // Sets the value. Never throws.
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  // Adds `amount` (may be negative). Never throws.
  void add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  // The current value. Never throws.
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A distribution over fixed upper bounds (Prometheus histogram). observe() is lock-free: one
// atomic increment of the bucket the value falls into, plus the sum.
class Histogram {
 public:
  // `bounds` are the buckets' upper bounds, strictly increasing and finite (+Inf is implicit); the
  // family checks them.
  explicit Histogram(const std::vector<double>& bounds);
  // Counts `value` in the first bucket whose bound is >= value (the +Inf bucket when none). Never
  // throws; a NaN is ignored.
  void observe(double value);

  // A consistent-enough copy for rendering: per-bucket counts (not cumulative; the last is +Inf),
  // their total and the sum of observed values.
  struct Snapshot {
    std::vector<uint64_t> counts;
    uint64_t count = 0;
    double sum = 0.0;
  };
  // Reads every bucket (each atomically; an observe() racing it may show in count but not yet in
  // sum). Never throws but for std::bad_alloc.
  Snapshot snapshot() const;
  // The finite upper bounds, as given.
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (the last is +Inf)
  std::atomic<double> sum_{0.0};
};

enum class Type { kCounter, kGauge, kHistogram };

// One metric name with its children. with() takes a shared lock to find an existing child and an
// exclusive one only to create it.
template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // The child for these label values (created at zero when new), valid as long as the registry.
  // Throws Error when the number of values is not the number of label names.
  Metric& with(const LabelValues& values);

  // What the family was registered with.
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls `visit(values, metric)` for each child, in label-value order, under the shared lock.
  void for_each(const std::function<void(const LabelValues&, const Metric&)>& visit) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  mutable std::shared_mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Metric>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One sample a collector reports: label values (in its label names' order) and the value.
struct Sample {
  LabelValues labels;
  double value = 0.0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family, or returns the one already registered under `name` when it has the same
  // type and label names (and bounds). Throws Error naming the metric when the name or a label name
  // is not valid Prometheus ([a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*, no "le" label on a
  // histogram), when the name is taken by a different family, or when bounds are not strictly
  // increasing finite numbers.
  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names, std::vector<double> bounds);

  // A gauge family whose samples `collect` computes at each scrape (a figure that lives elsewhere).
  // A collector that throws is left out of that scrape (its family shows no samples). Throws as
  // gauge() does; `collect` must outlive the registry's renders.
  void collect_gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                     std::function<std::vector<Sample>()> collect);

  // Every family in the text exposition format 0.0.4, sorted by name. Never throws but for
  // std::bad_alloc.
  std::string render() const;

 private:
  struct Entry;
  Entry& add(const std::string& name, Type type, const std::string& help,
             const std::vector<std::string>& label_names, const std::vector<double>& bounds);

  mutable std::mutex mutex_;  // guards entries_ (registration and render; never the hot path)
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

// The exposition format's escapes: of a label value (\\, \", \n) and of a HELP text (\\, \n).
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value or bucket bound as the format writes it: +Inf, -Inf, NaN, or the shortest decimal
// that reads back as the same double.
std::string format_value(double value);

// Bounds in seconds suited to latencies from 5 ms to 5 minutes.
std::vector<double> latency_seconds_bounds();

}  // namespace sluice::metrics
