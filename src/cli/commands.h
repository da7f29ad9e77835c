// The sub-commands of the sluice binary. Each returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace sluice::cli {

struct Options {
  std::string pipeline;
  std::string data_dir;  // empty: the pipeline's data_dir
  std::string listen;    // empty: the pipeline's server:
  std::string name;
  int limit = 20;
  std::string format = "table";
  int port = 0;
  std::string sql;
  std::string database;
  std::vector<std::string> args;  // catalog: ACTION [NAME]
  std::string url;                // put/tail: the daemon's address (default: the pipeline's server:)
  std::string partition_key;
  std::string partition_key_field;
  std::string from;      // tail: empty = trim_horizon, or after the consumer's checkpoint
  std::string consumer;  // tail: a named consumer whose checkpoints are kept
  bool follow = false;
  bool serve = false;   // demo: go on serving the console with live data
  bool list = false;    // reprocess: only list the quarantined inputs
  std::string out_dir;  // export terraform: the directory main.tf.json is written to
};

int cmd_validate(const Options& opt);
int cmd_schema(const Options& opt);
int cmd_run(const Options& opt);
int cmd_trigger(const Options& opt);
int cmd_reprocess(const Options& opt);
int cmd_runs(const Options& opt);
int cmd_demo(const Options& opt);
int cmd_fixture(const Options& opt);
int cmd_query(const Options& opt);
int cmd_queries(const Options& opt);
int cmd_catalog(const Options& opt);
int cmd_put(const Options& opt);
int cmd_tail(const Options& opt);
// export terraform PIPELINE DIR: writes DIR/main.tf.json and prints what is not exported on stderr.
int cmd_export_terraform(const Options& opt);

}  // namespace sluice::cli
