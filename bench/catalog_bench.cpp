// Crawl and query benchmark (a plain program; figures go to bench/RESULTS.md, never into tests).
//   catalog_bench [FILES]   (default 1000)
// In a temporary data directory: FILES JSON Lines objects of 10 flattened users each (the processed
// shape of the original pipeline) spread over 10 dt= partitions, then
//   - a full crawl (every file read and inferred, one commit per table),
//   - a second full crawl with nothing changed (ETag comparison only),
//   - an incremental crawl of one new object (what on_change does after each processed object),
//   - SELECT * on the 4-row users table of the original pipeline: latency over 50 runs (p50/p99),
//     each a whole query: parse check, catalog lookup, view, DuckDB run, Athena CSV saved, history row,
//   - SELECT count(*) over the FILES-file table and the same pruned to one partition.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "query/engine.h"
#include "storage/local_object_store.h"

namespace {

using Steady = std::chrono::steady_clock;
double ms_since(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

std::string user(int id) {
  return "{\"id\":" + std::to_string(id) +
         ",\"name\":\"Leanne "
         "Graham\",\"username\":\"Bret\",\"email\":\"Sincere@april.biz\",\"address_street\":"
         "\"Kulas Light\",\"address_suite\":\"Apt. "
         "556\",\"address_city\":\"Gwenborough\",\"address_zipcode\":"
         "\"92998-3874\",\"address_geo_lat\":\"-37.3159\",\"address_geo_lng\":\"81.1496\",\"phone\":\"1-770-"
         "736-8031 "
         "x56442\",\"website\":\"hildegard.org\",\"company_name\":\"Romaguera-Crona\",\"company_"
         "catchPhrase\":\"Multi-"
         "layered client-server neural-net\",\"company_bs\":\"harness real-time e-markets\"}\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  const int files = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1000;
  const auto dir =
      std::filesystem::temp_directory_path() / ("sluice-catalog-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    metastore::Metastore db(dir / "metastore.db");
    metastore::EventQueue events(db);
    storage::LocalObjectStore store(dir / "objects", {"lake"}, &events);
    catalog::MetastoreCatalog catalog(db);
    query::QueryLog log(db);
    query::QueryEngine engine(
        {.database = "my_glue_database", .output_bucket = "lake", .output_prefix = "athena/"}, catalog, store,
        log);
    for (int f = 0; f < files; ++f) {
      std::string body;
      for (int i = 0; i < 10; ++i) body += user(f * 10 + i);
      store.put("lake",
                "processed/events/dt=2026-11-" + std::to_string(10 + f % 10) + "/part-" + std::to_string(f) +
                    ".json",
                body);
    }
    std::string users;
    for (int i = 1; i <= 4; ++i) users += user(i);
    store.put("lake", "processed/users/processed_users.json", users);

    catalog::Crawler crawler(
        {.name = "bench", .database = "my_glue_database", .targets = {{"lake", "processed/"}}}, store,
        catalog);
    auto t = Steady::now();
    auto report = crawler.crawl();
    const double full = ms_since(t);
    t = Steady::now();
    auto again = crawler.crawl();
    const double unchanged = ms_since(t);
    store.put("lake", "processed/events/dt=2026-11-30/new.json", user(1));
    t = Steady::now();
    crawler.crawl_objects({{"lake", "processed/events/dt=2026-11-30/new.json"}});
    const double incremental = ms_since(t);
    std::printf(
        "crawl of %d files (+1 users file): full %.1f ms (%llu files read), unchanged %.1f ms (%llu "
        "skipped), "
        "one new object %.1f ms\n",
        files, full, static_cast<unsigned long long>(report.files_scanned), unchanged,
        static_cast<unsigned long long>(again.files_unchanged), incremental);

    std::vector<double> latencies;
    for (int i = 0; i < 50; ++i) {
      t = Steady::now();
      auto r = engine.run("SELECT * FROM my_glue_database.users");
      latencies.push_back(ms_since(t));
      if (r.rows.size() != 4) return 1;
    }
    std::sort(latencies.begin(), latencies.end());
    std::printf("SELECT * FROM users (4 rows x 15 columns), 50 runs: min %.1f ms, p50 %.1f ms, p99 %.1f ms\n",
                latencies.front(), latencies[latencies.size() / 2], latencies[latencies.size() * 99 / 100]);
    t = Steady::now();
    auto all = engine.run("SELECT count(*) FROM events");
    const double all_ms = ms_since(t);
    t = Steady::now();
    auto pruned = engine.run("SELECT count(*) FROM events WHERE dt = '2026-11-15'");
    const double pruned_ms = ms_since(t);
    std::printf(
        "SELECT count(*) FROM events (%s rows, %llu bytes scanned): %.1f ms; WHERE dt = one partition (%s "
        "rows, "
        "%llu bytes scanned): %.1f ms\n",
        all.rows[0][0]->c_str(), static_cast<unsigned long long>(all.bytes_scanned), all_ms,
        pruned.rows[0][0]->c_str(), static_cast<unsigned long long>(pruned.bytes_scanned), pruned_ms);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
