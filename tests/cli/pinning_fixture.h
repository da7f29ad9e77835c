// Shared by the tests that pin what the README promises of the sluice binary and its daemon's HTTP
// API: requests with headers, a daemon started on a pipeline of the test's own, the binary run in a
// chosen directory with a chosen environment, and NDJSON fed to `sluice put`.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "tests/cli/cli_fixture.h"

namespace sluice::cli_testing {

// A TCP port on 127.0.0.1 that was free a moment ago (for pipelines that must name their port).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// `text` quoted for /bin/sh.
inline std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The lines of `text`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A pipeline of the fixture's sources (bucket raw; users and posts, retried quickly) whose one
// schedule never fires, on ./data and any free port, followed by `extra` (more top-level sections).
inline std::string quiet_pipeline(const std::string& base_url, const std::string& extra = "") {
  return "data_dir: ./data\nserver: {port: 0}\n" +
         testing_util::pipeline_yaml(base_url, "none", "cron(0 0 1 1 ? 2199)") + extra;
}

// The quiet pipeline with `more` appended right after its sources (so more sources, indented by two,
// then other sections); every BASE in `more` becomes the fixture's URL.
inline std::string with_sources(const std::string& base_url, std::string more) {
  for (auto at = more.find("BASE"); at != std::string::npos; at = more.find("BASE", at))
    more.replace(at, 4, base_url);
  return quiet_pipeline(base_url, more);
}

// http://127.0.0.1:PORT followed by `path`.
inline std::string url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// GET `target` as JSON (an empty object, and a test failure, when it does not answer 200).
inline nlohmann::json get_json(const std::string& target, const std::vector<std::string>& headers = {}) {
  auto r = http_request("GET", target, "", headers);
  EXPECT_EQ(r.status, 200) << target << ": " << r.body;
  return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json::object();
}

class Pinning : public Cli {
 protected:
  void write_yaml(const std::string& yaml) { fs::write_file_atomic(pipeline_, yaml); }

  // The daemon on the test's pipeline, with extra environment ("NAME=value").
  std::unique_ptr<Process> start_daemon_with(std::vector<std::string> env) {
    env.push_back("SLUICE_LOG=info");
    return std::make_unique<Process>(std::vector<std::string>{kSluice, "run", pipeline_.string()},
                                     dir_.path(), std::move(env));
  }

  // The binary run by /bin/sh in `cwd` with `args` (each quoted), stdin from `input` when given, and
  // the extra environment; the test's own SLUICE_PIPELINE and SLUICE_TOKEN are not passed on unless
  // `env` sets them.
  testing_util::Result sluice_in(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                                 std::vector<std::string> env = {},
                                 const std::optional<std::filesystem::path>& input = std::nullopt) {
    std::string command = "cd " + shell_quote(cwd.string()) + " && unset SLUICE_PIPELINE SLUICE_TOKEN";
    for (const auto& e : env) command += " && export " + shell_quote(e);
    command += " && exec " + shell_quote(kSluice);
    for (const auto& a : args) command += " " + shell_quote(a);
    if (input) command += " < " + shell_quote(input->string());
    return testing_util::run({"/bin/sh", "-c", command}, dir_.path());
  }

  // `sluice put STREAM ARGS...` with `ndjson` on its stdin.
  testing_util::Result put(const std::string& ndjson, const std::vector<std::string>& args,
                           std::vector<std::string> env = {}) {
    static int counter = 0;
    const auto input = dir_.path() / ("put-" + std::to_string(counter++) + ".ndjson");
    fs::write_file_atomic(input, ndjson);
    std::vector<std::string> full = {"put"};
    full.insert(full.end(), args.begin(), args.end());
    return sluice_in(dir_.path(), full, std::move(env), input);
  }
};

}  // namespace sluice::cli_testing
