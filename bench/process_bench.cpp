// Processing throughput: N users-shaped records (the JSONPlaceholder users, repeated with new ids)
// through the original processor's steps (flatten + a filter that keeps every record) to JSON Lines
// and to Parquet, with process::transform — the same call the daemon makes — and, in the same run,
// DuckDB alone doing the same transformation as one SQL statement: the flatten written out by hand
// over read_json of the same records in a file on disk, COPY'd to a file (FORMAT json / parquet).
// Each is timed as one call, wall clock; the runs alternate so that both see the same machine.
// Usage: process_bench [RECORDS] [jsonl|parquet|both] [REPEATS]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "process/processor.h"
#include "sql/appender.h"

using namespace sluice;

namespace {

nlohmann::ordered_json user_record() {
  return {{"id", 1},
          {"name", "Leanne Graham"},
          {"username", "Bret"},
          {"email", "Sincere@april.biz"},
          {"address",
           {{"street", "Kulas Light"},
            {"suite", "Apt. 556"},
            {"city", "Gwenborough"},
            {"zipcode", "92998-3874"},
            {"geo", {{"lat", "-37.3159"}, {"lng", "81.1496"}}}}},
          {"phone", "1-770-736-8031 x56442"},
          {"website", "hildegard.org"},
          {"company",
           {{"name", "Romaguera-Crona"},
            {"catchPhrase", "Multi-layered client-server neural-net"},
            {"bs", "harness real-time e-markets"}}}};
}

// The flatten as DuckDB users write it: address.geo.lat AS address_geo_lat, in source order.
void flatten_select(const nlohmann::ordered_json& object, const std::string& expr, const std::string& name,
                    std::string& select) {
  for (const auto& [key, value] : object.items()) {
    const std::string child_expr =
        expr.empty() ? sql::quote_identifier(key) : expr + "." + sql::quote_identifier(key);
    const std::string child_name = name.empty() ? key : name + "_" + key;
    if (value.is_object()) {
      flatten_select(value, child_expr, child_name, select);
    } else {
      select += (select.empty() ? "" : ", ") + child_expr + " AS " + sql::quote_identifier(child_name);
    }
  }
}

double seconds_of(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void report(const char* who, const char* format, size_t n, size_t input_bytes, uint64_t records,
            size_t out_bytes, double seconds) {
  std::printf(
      "%-13s %-8s %zu records (%.1f MB JSON Lines in) -> %llu records, %.1f MB out in %.2f s: %.0f "
      "records/s\n",
      who, format, n, input_bytes / 1e6, static_cast<unsigned long long>(records), out_bytes / 1e6, seconds,
      n / seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const std::string which = argc > 2 ? argv[2] : "both";
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 1;
  auto user = user_record();
  std::string input;
  input.reserve(n * 400);
  for (size_t i = 0; i < n; ++i) {
    user["id"] = i + 1;
    input += user.dump();
    input += '\n';
  }
  const auto dir = std::filesystem::temp_directory_path() / ("process_bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto input_path = dir / "users.jsonl";
  std::ofstream(input_path, std::ios::binary).write(input.data(), static_cast<std::streamsize>(input.size()));
  std::string select;
  flatten_select(user_record(), "", "", select);
  const std::string duckdb_query =
      "SELECT " + select + " FROM read_json(" + sql::quote_literal(input_path.string()) + ") WHERE id > 0";

  process::ProcessorConfig config;
  config.name = "users";
  config.bucket = "raw";
  // Every record is kept (id > 0), so the figure counts records written, not just read.
  config.steps = {process::Step{.kind = process::Step::Kind::kFlatten},
                  process::Step{.kind = process::Step::Kind::kFilter, .expression = "id > 0"}};
  for (int repeat = 0; repeat < repeats; ++repeat) {
    for (auto format : {process::OutputFormat::kJsonLines, process::OutputFormat::kParquet}) {
      const bool jsonl = format == process::OutputFormat::kJsonLines;
      const char* name = jsonl ? "jsonl" : "parquet";
      if (which != "both" && which != name) continue;
      config.output_format = format;
      process::TransformOutput out;
      double seconds =
          seconds_of([&] { out = process::transform(config, input, "raw/users/users.json", dir); });
      report("sluice", name, n, input.size(), out.records, out.bytes.size(), seconds);
      out = {};

      const auto out_path = dir / (jsonl ? "duckdb.jsonl" : "duckdb.parquet");
      uint64_t records = 0;
      seconds = seconds_of([&] {
        sql::Session duckdb({});
        records = duckdb.execute("COPY (" + duckdb_query + ") TO " + sql::quote_literal(out_path.string()) +
                                 (jsonl ? " (FORMAT json)" : " (FORMAT parquet)"));
      });
      report("DuckDB alone", name, n, input.size(), records, std::filesystem::file_size(out_path), seconds);
      std::filesystem::remove(out_path);
    }
  }
  std::filesystem::remove_all(dir);
}
