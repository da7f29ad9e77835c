// Processing throughput: N users-shaped records (the JSONPlaceholder users, repeated with new ids)
// through the original processor's steps (flatten + a filter that keeps every record)
// to JSON Lines and to Parquet, with process::transform — the same call the daemon makes.
// Usage: process_bench [RECORDS] [jsonl|parquet|both]
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "process/processor.h"

using namespace sluice;

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const std::string which = argc > 2 ? argv[2] : "both";
  nlohmann::ordered_json user = {{"id", 1},
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
  std::string input;
  input.reserve(n * 400);
  for (size_t i = 0; i < n; ++i) {
    user["id"] = i + 1;
    input += user.dump();
    input += '\n';
  }
  process::ProcessorConfig config;
  config.name = "users";
  config.bucket = "raw";
  // Every record is kept (id > 0), so the figure counts records written, not just read.
  config.steps = {process::Step{.kind = process::Step::Kind::kFlatten},
                  process::Step{.kind = process::Step::Kind::kFilter, .expression = "id > 0"}};
  for (auto format : {process::OutputFormat::kJsonLines, process::OutputFormat::kParquet}) {
    const bool jsonl = format == process::OutputFormat::kJsonLines;
    if (which != "both" && which != (jsonl ? "jsonl" : "parquet")) continue;
    config.output_format = format;
    const auto start = std::chrono::steady_clock::now();
    auto out =
        process::transform(config, input, "raw/users/users.json", std::filesystem::temp_directory_path());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "%-8s %zu records (%.1f MB JSON Lines in) -> %llu records, %.1f MB out in %.2f s: %.0f records/s\n",
        jsonl ? "jsonl" : "parquet", n, input.size() / 1e6, static_cast<unsigned long long>(out.records),
        out.bytes.size() / 1e6, seconds, n / seconds);
  }
}
