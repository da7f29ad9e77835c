#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <variant>

#include "common/error.h"

namespace sluice::metrics {

void Counter::add(double amount) {
  if (!(amount > 0.0)) return;  // also drops NaN
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[static_cast<size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  out.counts.reserve(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    out.counts.push_back(counts_[i].load(std::memory_order_relaxed));
    out.count += out.counts.back();
  }
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

template <typename Metric>
Metric& Family<Metric>::with(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    throw Error("metric " + name_ + " takes " + std::to_string(label_names_.size()) + " label values, got " +
                std::to_string(values.size()));
  }
  {
    std::shared_lock read(mutex_);
    if (auto it = children_.find(values); it != children_.end()) return *it->second;
  }
  std::unique_lock write(mutex_);
  auto& child = children_[values];
  if (!child) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<Metric>();
    }
  }
  return *child;
}

template <typename Metric>
void Family<Metric>::for_each(const std::function<void(const LabelValues&, const Metric&)>& visit) const {
  std::shared_lock read(mutex_);
  for (const auto& [values, child] : children_) visit(values, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

bool valid_name(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

const char* type_name(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` (with `extra` appended, for a bucket's le), or "" when there are no labels.
std::string label_set(const std::vector<std::string>& names, const LabelValues& values,
                      const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  return out.empty() ? out : out + "}";
}

void render_histogram(std::string& out, const HistogramFamily& family) {
  const auto& names = family.label_names();
  family.for_each([&](const LabelValues& values, const Histogram& histogram) {
    const auto snap = histogram.snapshot();
    uint64_t cumulative = 0;
    for (size_t i = 0; i < snap.counts.size(); ++i) {
      cumulative += snap.counts[i];
      const std::string le =
          i < histogram.bounds().size() ? format_value(histogram.bounds()[i]) : std::string("+Inf");
      out += family.name() + "_bucket" + label_set(names, values, "le=\"" + le + "\"") + " " +
             std::to_string(cumulative) + "\n";
    }
    out += family.name() + "_sum" + label_set(names, values) + " " + format_value(snap.sum) + "\n";
    out += family.name() + "_count" + label_set(names, values) + " " + std::to_string(snap.count) + "\n";
  });
}

}  // namespace

struct Registry::Entry {
  Type type;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::variant<std::monostate, std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>>
      family;
  std::string help;                                // of a collector
  std::function<std::vector<Sample>()> collector;  // set for collect_gauge()
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::add(const std::string& name, Type type, const std::string& help,
                               const std::vector<std::string>& label_names,
                               const std::vector<double>& bounds) {
  if (!valid_name(name, true)) throw Error("metric name \"" + name + "\" is not [a-zA-Z_:][a-zA-Z0-9_:]*");
  for (const auto& label : label_names) {
    if (!valid_name(label, false) || label.starts_with("__") || (type == Type::kHistogram && label == "le"))
      throw Error("metric " + name + ": label name \"" + label + "\" is not allowed");
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
      throw Error("metric " + name + ": bucket bounds must be finite and strictly increasing");
  }
  auto& entry = entries_[name];
  if (entry) {
    if (entry->type != type || entry->label_names != label_names || entry->bounds != bounds ||
        entry->collector)
      throw Error("metric " + name + " is already registered as another " + type_name(entry->type));
    return *entry;
  }
  entry = std::make_unique<Entry>();
  entry->type = type;
  entry->label_names = label_names;
  entry->bounds = bounds;
  entry->help = help;
  return *entry;
}

CounterFamily& Registry::counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  auto& entry = add(name, Type::kCounter, help, label_names, {});
  if (entry.family.index() == 0) entry.family = std::make_unique<CounterFamily>(name, help, label_names);
  return *std::get<std::unique_ptr<CounterFamily>>(entry.family);
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  auto& entry = add(name, Type::kGauge, help, label_names, {});
  if (entry.family.index() == 0) entry.family = std::make_unique<GaugeFamily>(name, help, label_names);
  return *std::get<std::unique_ptr<GaugeFamily>>(entry.family);
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto& entry = add(name, Type::kHistogram, help, label_names, bounds);
  if (entry.family.index() == 0)
    entry.family = std::make_unique<HistogramFamily>(name, help, label_names, bounds);
  return *std::get<std::unique_ptr<HistogramFamily>>(entry.family);
}

void Registry::collect_gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names,
                             std::function<std::vector<Sample>()> collect) {
  std::lock_guard lock(mutex_);
  if (entries_.count(name)) throw Error("metric " + name + " is already registered");
  auto& entry = add(name, Type::kGauge, help, label_names, {});
  entry.collector = std::move(collect);
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : entries_) {
    out += "# HELP " + name + " " + escape_help(entry->help) + "\n";
    out += "# TYPE " + name + " " + type_name(entry->type) + "\n";
    const auto& names = entry->label_names;
    if (entry->collector) {
      std::vector<Sample> samples;
      try {
        samples = entry->collector();
      } catch (const std::exception&) {
        continue;  // the figure is unavailable now (a stream being deleted): no samples this scrape
      }
      for (const auto& sample : samples) {
        if (sample.labels.size() != names.size()) continue;
        out += name + label_set(names, sample.labels) + " " + format_value(sample.value) + "\n";
      }
    } else if (const auto* counters = std::get_if<std::unique_ptr<CounterFamily>>(&entry->family)) {
      (*counters)->for_each([&](const LabelValues& values, const Counter& c) {
        out += name + label_set(names, values) + " " + format_value(c.value()) + "\n";
      });
    } else if (const auto* gauges = std::get_if<std::unique_ptr<GaugeFamily>>(&entry->family)) {
      (*gauges)->for_each([&](const LabelValues& values, const Gauge& g) {
        out += name + label_set(names, values) + " " + format_value(g.value()) + "\n";
      });
    } else if (const auto* histograms = std::get_if<std::unique_ptr<HistogramFamily>>(&entry->family)) {
      render_histogram(out, **histograms);
    }
  }
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::string("NaN");
}

std::vector<double> latency_seconds_bounds() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

}  // namespace sluice::metrics
