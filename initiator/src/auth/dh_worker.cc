#include "auth/dh_worker.h"

#include <utility>

namespace nvmemp::auth {

DhWorker& DhWorker::shared() {
  static DhWorker worker;
  return worker;
}

DhWorker::DhWorker() : thread_([this] { loop(); }) {}

DhWorker::~DhWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void DhWorker::run(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void DhWorker::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and nothing left to do
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // what it captured goes here, not under the lock
    lock.lock();
  }
}

}  // namespace nvmemp::auth
