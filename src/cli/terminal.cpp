#include "cli/terminal.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sluice::cli {
namespace {

constexpr const char* kLogPattern = "%Y-%m-%dT%H:%M:%S.%e %l %v";
constexpr std::string_view kClearLine = "\r\033[K";

void write_stderr(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void line_buffer_stdout() { std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ); }

bool is_interactive(int fd) {
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(fd) == 1;
}

void ConsoleSink::set_status(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!status_.empty() && line.empty()) write_stderr(kClearLine);
  status_ = line;
  draw_status_locked();
}

void ConsoleSink::draw_status_locked() {
  if (!status_.empty()) write_stderr(std::string(kClearLine) + status_);
}

void ConsoleSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  // The log line in one write, on a line of its own: the progress line is cleared first, redrawn after.
  std::string out = status_.empty() ? std::string() : std::string(kClearLine);
  out.append(formatted.data(), formatted.size());
  write_stderr(out);
  draw_status_locked();
}

void ConsoleSink::flush_() { std::fflush(stderr); }

std::shared_ptr<spdlog::logger> make_console_logger(const std::string& name) {
  auto sink = std::make_shared<ConsoleSink>();
  sink->set_pattern(kLogPattern);
  return std::make_shared<spdlog::logger>(name, std::move(sink));
}

// Keeps the formatted warnings and errors until they are taken.
class LogToFile::ProblemSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(lines_, {});
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    lines_.emplace_back(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

LogToFile::LogToFile(const std::filesystem::path& file)
    : previous_(spdlog::default_logger()), problems_(std::make_shared<ProblemSink>()) {
  auto to_file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string());
  problems_->set_level(spdlog::level::warn);
  auto logger =
      std::make_shared<spdlog::logger>(previous_->name(), spdlog::sinks_init_list{to_file, problems_});
  logger->set_pattern(kLogPattern);
  logger->set_level(previous_->level());
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

LogToFile::~LogToFile() { spdlog::set_default_logger(previous_); }

void LogToFile::print_new_problems() {
  const auto lines = problems_->take();
  if (lines.empty()) return;
  std::fflush(stdout);
  std::string out;
  for (const auto& line : lines) out += line;
  write_stderr(out);
}

Progress::Progress(std::function<std::string()> describe, bool enabled) : describe_(std::move(describe)) {
  if (!enabled) return;
  for (const auto& sink : spdlog::default_logger()->sinks())
    if (auto console = std::dynamic_pointer_cast<ConsoleSink>(sink)) sink_ = console;
  drawer_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return done_; })) {
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_)
              .count();
      show(describe_() + " (" + std::to_string(elapsed / 1000) + "." + std::to_string(elapsed % 1000 / 100) +
           " s)");
    }
  });
}

Progress::~Progress() {
  if (!drawer_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  drawer_.join();
  show("");
}

void Progress::show(const std::string& line) {
  if (sink_) {
    sink_->set_status(line);
  } else {
    write_stderr(std::string(kClearLine) + line);
  }
}

}  // namespace sluice::cli
