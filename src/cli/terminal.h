// The terminal side of the sluice binary: where logs go so that they never cut through output meant
// for people, and a progress line for long commands, shown on a terminal only.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::cli {

// Makes stdout line-buffered even when it is a pipe or a file, so that a log line written to the same
// place lands between two printed lines, never inside one. Call before anything is printed. Never
// throws.
void line_buffer_stdout();

// Whether file descriptor `fd` is a terminal that can redraw a line (not TERM=dumb). Never throws.
bool is_interactive(int fd);

// The log sink of the binary: each log line is written to stderr in one piece, after stdout is
// flushed, and around the progress line when one is shown (cleared first, drawn again after).
class ConsoleSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Shows `line` as the status line on stderr (replacing the previous one); "" removes it. Never
  // throws.
  void set_status(const std::string& line);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void draw_status_locked();
  std::string status_;
};

// The logger main() installs: a ConsoleSink with sluice's pattern. Throws spdlog::spdlog_ex.
std::shared_ptr<spdlog::logger> make_console_logger(const std::string& name);

// While it lives, every log line goes to `file` (appended) instead of the console, and warnings and
// errors are also kept to be shown between sections with print_new_problems(). For `sluice demo`,
// whose background work would otherwise log into the middle of a printed record. Throws
// spdlog::spdlog_ex when the file cannot be opened.
class LogToFile {
 public:
  explicit LogToFile(const std::filesystem::path& file);
  ~LogToFile();
  LogToFile(const LogToFile&) = delete;
  LogToFile& operator=(const LogToFile&) = delete;

  // Flushes stdout, then prints on stderr the warnings and errors logged since the last call. Never
  // throws except std::bad_alloc.
  void print_new_problems();

 private:
  class ProblemSink;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<ProblemSink> problems_;
};

// A progress line on stderr for a long command, redrawn every 200 ms while it lives, only when stderr
// is a terminal (never when output goes to a pipe or a file: scripts see unchanged output). `describe`
// is called from the drawing thread and returns the line (it must be thread-safe); the elapsed time is
// appended. The line is removed when the Progress ends.
class Progress {
 public:
  // Throws std::system_error when the drawing thread cannot start.
  Progress(std::function<std::string()> describe, bool enabled = is_interactive(2));
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

 private:
  void show(const std::string& line);

  std::function<std::string()> describe_;
  std::shared_ptr<ConsoleSink> sink_;  // null: the progress line is written to stderr directly
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread drawer_;
};

}  // namespace sluice::cli
