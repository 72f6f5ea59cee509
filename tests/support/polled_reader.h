// An I/O context polled on its own thread while a test's thread calls the Fabric: reads block
// after block (one outstanding) of one head and counts completions and errors; with `verify`,
// each block of 64 is first written with a pattern of its LBA and a sequence number, then read
// back and compared (mismatches() counts the blocks that differ). Bounded: it stops after 60 s
// whatever the test does.
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
  PolledReader(Fabric& f, std::uint32_t head, std::uint32_t block_size, bool verify = false)
      : head_(head), buf_(block_size), pattern_(block_size), verify_(verify) {
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
  std::uint64_t mismatches() const { return mismatches_.load(); }

 private:
  void run() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool outstanding = false;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      if (!outstanding && io_->ready(head_)) outstanding = issue();
      (void)io_->poll(std::chrono::milliseconds(1));
      if (io_->outstanding() == 0) outstanding = false;
    }
    // Every callback before the context goes (bounded: io_timeout ends any command).
    const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (io_->outstanding() > 0 && std::chrono::steady_clock::now() < drain_until) {
      (void)io_->poll(std::chrono::milliseconds(10));
    }
  }
  // The next command: a read; in verify mode a write of the pattern, then its read-back.
  bool issue() {
    const std::uint64_t lba = next_ % 64;
    if (!verify_ || reading_back_) {
      return io_->read(head_, lba, 1, buf_, &PolledReader::on_done, this).has_value();
    }
    for (std::size_t i = 0; i < pattern_.size(); ++i) {
      pattern_[i] = static_cast<std::uint8_t>((lba * 131 + next_ * 7 + i) & 0xff);
    }
    return io_->write(head_, lba, 1, pattern_, &PolledReader::on_done, this).has_value();
  }
  static void on_done(void* arg, const IoResult& r) {
    auto* self = static_cast<PolledReader*>(arg);
    ++self->done_;
    if (!r.status.ok()) {
      ++self->failed_;
      self->reading_back_ = false;  // a failed write is written again, a failed read read again
      return;
    }
    if (!self->verify_) {
      ++self->next_;
    } else if (!self->reading_back_) {
      self->reading_back_ = true;
    } else {
      if (self->buf_ != self->pattern_) ++self->mismatches_;
      self->reading_back_ = false;
      ++self->next_;
    }
  }

  std::uint32_t head_;
  std::vector<std::uint8_t> buf_;
  std::vector<std::uint8_t> pattern_;  // what the last write wrote (verify mode)
  bool verify_;
  bool reading_back_ = false;
  std::unique_ptr<IoContext> io_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> done_{0}, failed_{0}, mismatches_{0};
  std::uint64_t next_ = 0;
};

}  // namespace nvmemp::test
