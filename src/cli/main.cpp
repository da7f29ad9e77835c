// sluice: the command-line entry point. Each sub-command is a thin shell over the components; every
// failure ends as one line on stderr and a non-zero exit status.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/terminal.h"
#include "common/error.h"
#include "config/pipeline.h"

namespace {

std::string default_pipeline() {
  const char* env = std::getenv("SLUICE_PIPELINE");
  return env ? env : "pipeline.yaml";
}

// The sub-commands, each with the function that runs it.
using Commands = std::vector<std::pair<CLI::App*, int (*)(const sluice::cli::Options&)>>;

// The pipeline and daemon commands: validate, schema, run, trigger, reprocess, runs, demo, fixture.
void add_pipeline_commands(CLI::App& app, sluice::cli::Options& opt, Commands& commands) {
  auto* validate = app.add_subcommand("validate", "Check a pipeline file and report every problem");
  validate->add_option("PIPELINE", opt.pipeline, "Pipeline file")->required();
  commands.emplace_back(validate, sluice::cli::cmd_validate);

  auto* schema = app.add_subcommand("schema", "Print the JSON Schema of the pipeline file");
  commands.emplace_back(schema, sluice::cli::cmd_schema);

  auto* run = app.add_subcommand("run", "Run the daemon: scheduler and HTTP API, until SIGINT/SIGTERM");
  run->add_option("PIPELINE", opt.pipeline, "Pipeline file")->required();
  run->add_option("--data-dir", opt.data_dir, "Data directory (overrides data_dir: in the file)");
  run->add_option("--listen", opt.listen, "HOST:PORT for the HTTP API (overrides server: in the file)");
  commands.emplace_back(run, sluice::cli::cmd_run);

  auto* trigger = app.add_subcommand("trigger", "Run a schedule's targets, one source or one crawler now");
  trigger->add_option("NAME", opt.name, "Schedule, source or crawler name")->required();
  trigger->add_option("-p,--pipeline", opt.pipeline,
                      "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  trigger->add_option("--data-dir", opt.data_dir, "Data directory (overrides data_dir: in the file)");
  commands.emplace_back(trigger, sluice::cli::cmd_trigger);

  auto* reprocess = app.add_subcommand(
      "reprocess", "Process a processor's quarantined inputs again (all, or those with the given keys)");
  reprocess->add_option("PROCESSOR", opt.name, "Processor name")->required();
  reprocess->add_option("KEY", opt.args, "Keys of quarantined inputs (default: every one)");
  reprocess->add_flag("--list", opt.list, "Only list the quarantined inputs and why they failed");
  reprocess->add_option("-p,--pipeline", opt.pipeline,
                        "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  reprocess->add_option("--data-dir", opt.data_dir, "Data directory (overrides data_dir: in the file)");
  commands.emplace_back(reprocess, sluice::cli::cmd_reprocess);

  auto* runs = app.add_subcommand("runs", "Show the run history");
  runs->add_option("-p,--pipeline", opt.pipeline,
                   "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  runs->add_option("--data-dir", opt.data_dir, "Data directory (overrides data_dir: in the file)");
  runs->add_option("--limit", opt.limit, "How many runs, newest first")->check(CLI::Range(1, 100000));
  runs->add_option("--format", opt.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  commands.emplace_back(runs, sluice::cli::cmd_runs);

  auto* demo =
      app.add_subcommand("demo", "Offline demo: a loopback JSONPlaceholder, the example pipeline, a run");
  demo->add_option("--data-dir", opt.data_dir, "Keep the demo's data here instead of a temporary directory");
  demo->add_flag("--serve", opt.serve,
                 "Then run the daemon with the console at /ui/ while random users arrive, until Ctrl-C");
  demo->add_option("--listen", opt.listen, "HOST:PORT of the console with --serve (default: the example's)");
  commands.emplace_back(demo, sluice::cli::cmd_demo);

  auto* fixture = app.add_subcommand(
      "fixture",
      "Serve the loopback stand-in for jsonplaceholder.typicode.com and randomuser.me (tests, demos)");
  fixture->add_option("--port", opt.port, "Port on 127.0.0.1 (0: any free port, printed on stdout)")
      ->check(CLI::Range(0, 65535));
  commands.emplace_back(fixture, sluice::cli::cmd_fixture);
}

// The Athena and Glue side: query, queries, catalog.
void add_query_commands(CLI::App& app, sluice::cli::Options& opt, Commands& commands) {
  auto* query = app.add_subcommand("query", "Run one read-only SQL query over the catalog (Athena)");
  query->add_option("SQL", opt.sql, "The SELECT to run")->required();
  query->add_option("-p,--pipeline", opt.pipeline,
                    "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  query->add_option("--data-dir", opt.data_dir, "Data directory (overrides data_dir: in the file)");
  query->add_option("--database", opt.database,
                    "Database of unqualified table names (default: query.database)");
  query->add_option("--format", opt.format, "table, csv (Athena's) or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  commands.emplace_back(query, sluice::cli::cmd_query);

  auto* queries = app.add_subcommand("queries", "Show the query history");
  queries->add_option("-p,--pipeline", opt.pipeline,
                      "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  queries->add_option("--data-dir", opt.data_dir, "Data directory (overrides data_dir: in the file)");
  queries->add_option("--limit", opt.limit, "How many queries, newest first")->check(CLI::Range(1, 100000));
  queries->add_option("--format", opt.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  commands.emplace_back(queries, sluice::cli::cmd_queries);

  auto* catalog = app.add_subcommand(
      "catalog", "Show the Data Catalog: databases | tables [DB] | describe DB.TABLE | partitions DB.TABLE");
  catalog->add_option("ACTION", opt.args, "databases, tables [DB], describe DB.TABLE or partitions DB.TABLE")
      ->required()
      ->expected(1, 2);
  catalog->add_option("-p,--pipeline", opt.pipeline,
                      "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  catalog->add_option("--data-dir", opt.data_dir, "Data directory (overrides data_dir: in the file)");
  catalog->add_option("--format", opt.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  commands.emplace_back(catalog, sluice::cli::cmd_catalog);
}

// The Kinesis side, through the running daemon: put, tail.
void add_stream_commands(CLI::App& app, sluice::cli::Options& opt, Commands& commands) {
  auto* put = app.add_subcommand("put", "Send NDJSON records from stdin to a stream of the running daemon");
  put->add_option("STREAM", opt.name, "Stream name")->required();
  put->add_option("-p,--pipeline", opt.pipeline, "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  put->add_option("--url", opt.url, "The daemon's address (default: http://server.host:server.port)");
  put->add_option("--partition-key", opt.partition_key, "One partition key for every record");
  put->add_option("--partition-key-field", opt.partition_key_field,
                  "Take each record's partition key from this dotted field (default: the record's MD5)");
  commands.emplace_back(put, sluice::cli::cmd_put);

  auto* tail =
      app.add_subcommand("tail", "Print a stream's records (data, one per line) from the running daemon");
  tail->add_option("STREAM", opt.name, "Stream name")->required();
  tail->add_option("-p,--pipeline", opt.pipeline,
                   "Pipeline file (default $SLUICE_PIPELINE or pipeline.yaml)");
  tail->add_option("--url", opt.url, "The daemon's address (default: http://server.host:server.port)");
  tail->add_option("--from", opt.from,
                   "trim_horizon (default), latest, a sequence number, or an ISO-8601 UTC time");
  tail->add_flag("-f,--follow", opt.follow, "Keep printing new records until interrupted");
  tail->add_option("--consumer", opt.consumer,
                   "A named consumer: start after its checkpoints, and checkpoint what was printed");
  commands.emplace_back(tail, sluice::cli::cmd_tail);
}

// export terraform PIPELINE DIR: the pipeline as AWS resources (export/terraform.h).
void add_export_commands(CLI::App& app, sluice::cli::Options& opt, Commands& commands) {
  auto* exporter = app.add_subcommand("export", "Export the pipeline to run elsewhere");
  exporter->require_subcommand(1);
  auto* terraform = exporter->add_subcommand(
      "terraform", "Write DIR/main.tf.json: the pipeline as AWS resources, sluice as the Lambda functions");
  terraform->add_option("PIPELINE", opt.pipeline, "Pipeline file")->required();
  terraform->add_option("DIR", opt.out_dir, "Directory to write main.tf.json in")->required();
  commands.emplace_back(terraform, sluice::cli::cmd_export_terraform);
}

}  // namespace

int main(int argc, char** argv) {
  // Log lines go to stderr whole, around the progress line of a long command (cli/terminal.h).
  spdlog::set_default_logger(sluice::cli::make_console_logger("sluice"));
  if (const char* level = std::getenv("SLUICE_LOG")) spdlog::set_level(spdlog::level::from_str(level));

  CLI::App app{"sluice — a self-hosted data pipeline: schedule, extract, store, process, query"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sluice 0.1.0");
  sluice::cli::Options opt;
  opt.pipeline = default_pipeline();
  Commands commands;
  add_pipeline_commands(app, opt, commands);
  add_query_commands(app, opt, commands);
  add_stream_commands(app, opt, commands);
  add_export_commands(app, opt, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    for (const auto& [command, run] : commands)
      if (*command) return run(opt);
  } catch (const sluice::config::ConfigError& e) {
    std::cerr << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "sluice: " << e.what() << '\n';
    return 1;
  }
  return 2;
}
