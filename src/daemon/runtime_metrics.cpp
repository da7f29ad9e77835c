#include "daemon/runtime_metrics.h"

#include <spdlog/spdlog.h>

#include "stream/local_stream.h"

namespace sluice::daemon {
namespace {

double seconds(std::chrono::duration<double> d) { return d.count(); }

// Records of a shard after `delivered` (all retained ones when nothing is delivered yet), from the
// local back-end's sequence numbers (offsets) when it can; otherwise by reading one record there.
uint64_t records_behind(const stream::Stream& stream, const stream::ShardDescription& shard,
                        const std::optional<std::string>& delivered) {
  if (!shard.last_sequence_number) return 0;
  const auto last = stream::parse_sequence_number(*shard.last_sequence_number);
  if (last) {
    if (delivered) {
      const auto done = stream::parse_sequence_number(*delivered);
      if (done) return last->offset > done->offset ? last->offset - done->offset : 0;
    } else {
      const auto first = shard.first_sequence_number
                             ? stream::parse_sequence_number(*shard.first_sequence_number)
                             : std::nullopt;
      const uint64_t from = first ? first->offset : 0;
      return last->offset >= from ? last->offset - from + 1 : 0;
    }
  }
  const auto start = delivered ? stream::StartingPosition::after_sequence_number(*delivered)
                               : stream::StartingPosition::trim_horizon();
  const auto read = stream.read(stream.position(shard.shard_id, start), 1, 1);
  return read.records.size() + read.behind_latest;
}

}  // namespace

RuntimeMetrics::RuntimeMetrics(metrics::Registry& registry)
    : registry_(registry),
      records_put_(registry.counter("sluice_stream_records_put_total",
                                    "Records put into a stream, per shard.", {"stream", "shard"})),
      bytes_put_(registry.counter("sluice_stream_put_bytes_total",
                                  "Data bytes of the records put into a stream, per shard.",
                                  {"stream", "shard"})),
      runs_(registry.counter("sluice_runs_total",
                             "Runs that ended, by kind (source, crawl, process) and status.",
                             {"kind", "status"})),
      run_seconds_(registry.histogram("sluice_run_duration_seconds", "How long runs took, by kind.", {"kind"},
                                      metrics::latency_seconds_bounds())),
      delivery_latency_(registry.histogram(
          "sluice_delivery_latency_seconds",
          "From a record's arrival in its stream to the delivered object holding it being durable.",
          {"delivery"}, metrics::latency_seconds_bounds())),
      processing_latency_(
          registry.histogram("sluice_processing_latency_seconds",
                             "From an input object's creation to the processor's output being durable.",
                             {"processor"}, metrics::latency_seconds_bounds())),
      processed_(registry.counter("sluice_objects_processed_total",
                                  "Input objects a processor turned into output.", {"processor"})),
      quarantined_(registry.counter(
          "sluice_objects_quarantined_total",
          "Input objects a processor could not process and copied to its error prefix.", {"processor"})),
      failed_(registry.counter(
          "sluice_objects_failed_total",
          "Processing attempts that ended without output nor quarantine (input deleted, or a system failure "
          "that is retried).",
          {"processor"})),
      queries_(registry.counter("sluice_queries_total", "Queries that ended, by state.", {"state"})) {}

std::vector<DeliveryLag> delivery_lag(delivery::DeliveryStreams& deliveries, stream::StreamStore& streams,
                                      delivery::DeliveryProgress& progress) {
  std::vector<DeliveryLag> out;
  for (const auto& name : deliveries.names()) {
    try {
      const auto info = deliveries.describe(name);
      if (info.config.stream.empty() || !info.problem.empty()) continue;  // DirectPut, or no source
      const auto& source = streams.get(info.config.stream);
      for (const auto& shard : source.describe().shards) {
        const auto delivered = progress.load(name, shard.shard_id).delivered;
        out.push_back({name, shard.shard_id, records_behind(source, shard, delivered)});
      }
    } catch (const std::exception&) {
      // Deleted while reading, or trimmed under it: this delivery is left out this time.
    }
  }
  return out;
}

void RuntimeMetrics::collect_lag(delivery::DeliveryStreams& deliveries, stream::StreamStore& streams,
                                 delivery::DeliveryProgress& progress) {
  registry_.collect_gauge(
      "sluice_delivery_lag_records",
      "Records of a delivery's source stream shard not delivered yet (read at scrape time).",
      {"delivery", "shard"}, [&deliveries, &streams, &progress] {
        std::vector<metrics::Sample> samples;
        for (const auto& lag : delivery_lag(deliveries, streams, progress))
          samples.push_back({{lag.delivery, lag.shard}, static_cast<double>(lag.records)});
        return samples;
      });
}

void RuntimeMetrics::record_put(const std::string& stream, std::span<const stream::PutRecord> records,
                                std::span<const stream::PutResult> results) {
  // One child lookup per shard, not per record.
  std::map<std::string, std::pair<uint64_t, uint64_t>> per_shard;
  for (size_t i = 0; i < results.size() && i < records.size(); ++i) {
    auto& [count, bytes] = per_shard[results[i].shard_id];
    ++count;
    bytes += records[i].data.size();
  }
  for (const auto& [shard, figures] : per_shard) {
    records_put_.with({stream, shard}).add(static_cast<double>(figures.first));
    bytes_put_.with({stream, shard}).add(static_cast<double>(figures.second));
  }
}

void RuntimeMetrics::record_run(const std::string& kind, const std::string& status,
                                std::chrono::steady_clock::duration took) {
  runs_.with({kind, status}).add();
  run_seconds_.with({kind}).observe(seconds(took));
}

void RuntimeMetrics::record_processed(const std::string& processor,
                                      std::chrono::milliseconds created_to_durable) {
  processed_.with({processor}).add();
  processing_latency_.with({processor}).observe(seconds(created_to_durable));
}

void RuntimeMetrics::record_quarantined(const std::string& processor) {
  quarantined_.with({processor}).add();
}

void RuntimeMetrics::record_failed(const std::string& processor) { failed_.with({processor}).add(); }

void RuntimeMetrics::record_query(const std::string& state) { queries_.with({state}).add(); }

void RuntimeMetrics::before_poll(delivery::DeliveryStreams& deliveries, stream::StreamStore& streams,
                                 delivery::DeliveryProgress& progress) {
  std::lock_guard lock(marks_mutex_);
  for (const auto& name : deliveries.names()) {
    if (marked_deliveries_.count(name)) continue;  // a poll keeps its marks current
    try {
      const auto info = deliveries.describe(name);
      if (info.config.stream.empty() || !info.problem.empty()) continue;
      for (const auto& shard : streams.get(info.config.stream).describe().shards)
        delivered_marks_[{name, shard.shard_id}] = progress.load(name, shard.shard_id).delivered;
      marked_deliveries_.insert(name);
    } catch (const std::exception&) {
      // Deleted meanwhile: not measured.
    }
  }
}

void RuntimeMetrics::after_poll(const std::vector<delivery::DeliveryStreams::PollResult>& results,
                                TimePoint durable, delivery::DeliveryStreams& deliveries,
                                stream::StreamStore& streams, delivery::DeliveryProgress& progress) {
  std::lock_guard lock(marks_mutex_);
  for (const auto& result : results) {
    if (result.report.records == 0 || !marked_deliveries_.count(result.name)) continue;
    try {
      const auto info = deliveries.describe(result.name);
      if (info.config.stream.empty()) continue;
      const auto& source = streams.get(info.config.stream);
      auto& latency = delivery_latency_.with({result.name});
      for (const auto& shard : source.describe().shards) {
        auto& mark = delivered_marks_[{result.name, shard.shard_id}];
        const auto now_delivered = progress.load(result.name, shard.shard_id).delivered;
        if (!now_delivered || now_delivered == mark) continue;
        const auto start = mark ? stream::StartingPosition::after_sequence_number(*mark)
                                : stream::StartingPosition::trim_horizon();
        mark = now_delivered;
        const auto read = source.read(source.position(shard.shard_id, start), kMaxLatencySamples);
        for (const auto& record : read.records) {
          if (stream::sequence_number_less(*now_delivered, record.sequence_number)) break;
          latency.observe(seconds(durable - record.arrival));
        }
      }
    } catch (const std::exception& e) {
      spdlog::debug("delivery {}: latency not measured: {}", result.name, e.what());
    }
  }
}

}  // namespace sluice::daemon
