// An I/O context polled on its own thread while a test's thread calls the Fabric: reads block
// after block (one outstanding) of one head and counts completions and errors. Bounded: it stops
// after 60 s whatever the test does.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "nvmemp/mpath.h"

namespace nvmemp::test {

class PolledReader {
 public:
  // The context is made on the thread that polls it (its ring is single-issuer).
  PolledReader(Fabric& f, std::uint32_t head, std::uint32_t block_size) : head_(head), buf_(block_size) {
    thread_ = std::thread([this, &f] {
      auto io = f.create_io_context();
      if (!io) {
        failed_ = 1;
        return;
      }
      io_ = std::move(*io);
      run();
      io_.reset();
    });
  }
  ~PolledReader() {
    stop_ = true;
    thread_.join();
  }
  std::uint64_t done() const { return done_.load(); }
  std::uint64_t failed() const { return failed_.load(); }

 private:
  void run() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool outstanding = false;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      if (!outstanding && io_->ready(head_)) {
        outstanding = io_->read(head_, next_++ % 64, 1, buf_, &PolledReader::on_done, this).has_value();
      }
      (void)io_->poll(std::chrono::milliseconds(1));
      if (io_->outstanding() == 0) outstanding = false;
    }
    // Every callback before the context goes (bounded: io_timeout ends any command).
    const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (io_->outstanding() > 0 && std::chrono::steady_clock::now() < drain_until) {
      (void)io_->poll(std::chrono::milliseconds(10));
    }
  }
  static void on_done(void* arg, const IoResult& r) {
    auto* self = static_cast<PolledReader*>(arg);
    ++self->done_;
    if (!r.status.ok()) ++self->failed_;
  }

  std::uint32_t head_;
  std::vector<std::uint8_t> buf_;
  std::unique_ptr<IoContext> io_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> done_{0}, failed_{0};
  std::uint64_t next_ = 0;
};

}  // namespace nvmemp::test
