// What a retried operation (a reconnect, a configured path that is down) says in the log,
// without a line per attempt: the first failure with what happens next ("retrying every 10 s
// until 12:34:56, then giving up", or "(no limit)"), one reminder a minute while the error
// stays the same, one line when the error changes, and one line when it works again.
// Cold path; owned by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"

namespace nvmemp {

class RetryLog {
 public:
  static constexpr Nanos kReminder = std::chrono::seconds(60);

  // `what` names the thing retried: "ctrl nqn... @ 127.0.0.1:4420", "path nqn... @ ...".
  RetryLog() = default;
  explicit RetryLog(std::string what) : what_(std::move(what)) {}
  void rename(std::string what) { what_ = std::move(what); }

  // An attempt failed with `error`; `plan` says what happens next (retry_plan()).
  void failed(TimePoint now, const std::string& error, const std::string& plan);
  // An attempt worked: returns "back after N s (M failed attempts)" when it had been failing
  // (the caller puts that in its own success line), else nothing. Starts over.
  std::optional<std::string> succeeded(TimePoint now);
  bool failing() const noexcept { return attempts_ != 0; }
  std::uint64_t attempts() const noexcept { return attempts_; }

 private:
  std::string what_;
  std::string error_;
  TimePoint since_{};
  TimePoint last_line_{};
  std::uint64_t attempts_ = 0;
};

// "retrying every 10 s until 12:34:56, then giving up" (local time of `give_up_at`), or
// "retrying every 10 s (no limit)".
std::string retry_plan(std::chrono::milliseconds every,
                       std::optional<std::chrono::system_clock::time_point> give_up_at);

}  // namespace nvmemp
