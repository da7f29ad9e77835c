// BackgroundLoop: one of the daemon's loops (scheduler, processing, delivery) — a thread that calls
// its step until stopped. The step returns how long to sleep before the next call; wake() cuts a
// sleep short (new data arrived). A step that throws never ends the loop: the error is logged,
// kept in the loop's status, and the step runs again after `error_pause`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/time.h"

namespace sluice::daemon {

// What a loop has done, for the daemon's status (GET /v1/status).
struct LoopStatus {
  std::string name;
  uint64_t ticks = 0;                  // steps that returned
  std::optional<TimePoint> last_tick;  // when the last step returned
  std::string last_error;              // of the last step that threw ("" when it succeeded since)
  std::optional<TimePoint> last_error_time;
  uint64_t errors = 0;  // steps that threw, in all
};

class BackgroundLoop {
 public:
  using Step = std::function<std::chrono::milliseconds()>;

  BackgroundLoop(std::string name, Step step,
                 std::chrono::milliseconds error_pause = std::chrono::seconds(1));
  ~BackgroundLoop();  // stop()s
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Starts the thread; the first step runs at once. At most once.
  void start();
  // Asks the loop to end and joins it: a step in progress finishes first (callers cancel long work
  // before). Idempotent.
  void stop();
  // Ends the current sleep now.
  void wake();
  LoopStatus status() const;

 private:
  void run();

  const std::string name_;
  const Step step_;
  const std::chrono::milliseconds error_pause_;
  mutable std::mutex mutex_;
  std::condition_variable wake_cv_;
  bool stopping_ = false;
  bool woken_ = false;
  LoopStatus status_;
  std::thread thread_;
};

}  // namespace sluice::daemon
