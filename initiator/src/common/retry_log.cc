#include "common/retry_log.h"

#include <ctime>

#include <fmt/format.h>

#include "common/log.h"

namespace nvmemp {

namespace {

std::string seconds_text(Nanos d) {
  return fmt::format("{} s", std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

std::string every_text(std::chrono::milliseconds every) {
  if (every.count() % 1000 == 0) return fmt::format("{} s", every.count() / 1000);
  return fmt::format("{} ms", every.count());
}

}  // namespace

void RetryLog::failed(TimePoint now, const std::string& error, const std::string& plan) {
  ++attempts_;
  if (attempts_ == 1) {
    since_ = now;
    last_line_ = now;
    error_ = error;
    log(LogLevel::Warn, "{}: {}; {}", what_, error, plan);
    return;
  }
  if (error != error_) {
    error_ = error;
    last_line_ = now;
    log(LogLevel::Warn, "{}: now failing with: {}; {}", what_, error, plan);
    return;
  }
  if (now - last_line_ >= kReminder) {
    last_line_ = now;
    log(LogLevel::Warn, "{}: still failing after {} ({} attempts): {}; {}", what_, seconds_text(now - since_),
        attempts_, error, plan);
  }
}

std::optional<std::string> RetryLog::succeeded(TimePoint now) {
  if (attempts_ == 0) return std::nullopt;
  std::string back = fmt::format("back after {} ({} failed attempt{})", seconds_text(now - since_), attempts_,
                                 attempts_ == 1 ? "" : "s");
  attempts_ = 0;
  error_.clear();
  return back;
}

std::string retry_plan(std::chrono::milliseconds every,
                       std::optional<std::chrono::system_clock::time_point> give_up_at) {
  if (!give_up_at) return fmt::format("retrying every {} (no limit)", every_text(every));
  const std::time_t t = std::chrono::system_clock::to_time_t(*give_up_at);
  std::tm tm{};
  localtime_r(&t, &tm);
  return fmt::format("retrying every {} until {:02}:{:02}:{:02}, then giving up", every_text(every), tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

}  // namespace nvmemp
