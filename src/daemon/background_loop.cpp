#include "daemon/background_loop.h"

#include <spdlog/spdlog.h>

namespace sluice::daemon {

BackgroundLoop::BackgroundLoop(std::string name, Step step, std::chrono::milliseconds error_pause)
    : name_(std::move(name)), step_(std::move(step)), error_pause_(error_pause) {
  status_.name = name_;
}

BackgroundLoop::~BackgroundLoop() { stop(); }

void BackgroundLoop::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void BackgroundLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

LoopStatus BackgroundLoop::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void BackgroundLoop::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    std::chrono::milliseconds pause;
    std::string error;
    try {
      pause = step_();
    } catch (const std::exception& e) {
      // A failing step (metastore busy, disk full) must not end the daemon: noted, tried again soon.
      error = e.what();
      pause = error_pause_;
      spdlog::error("{}: {}", name_, error);
    }
    lock.lock();
    const TimePoint now = now_ms();
    if (error.empty()) {
      ++status_.ticks;
      status_.last_tick = now;
      status_.last_error.clear();
    } else {
      ++status_.errors;
      status_.last_error = error;
      status_.last_error_time = now;
    }
    wake_cv_.wait_for(lock, pause, [&] { return stopping_ || woken_; });
  }
}

}  // namespace sluice::daemon
