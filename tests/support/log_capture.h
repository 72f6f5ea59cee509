// Collects the library's log lines while it lives (and, with `echo`, still prints them to
// stderr, where a failing test's output shows them).
#pragma once

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "common/log.h"

namespace nvmemp::test {

class LogCapture {
 public:
  explicit LogCapture(bool echo = true) {
    set_log_sink([this, echo](LogLevel lvl, std::string_view line) {
      std::lock_guard<std::mutex> g(mu_);
      lines_.emplace_back(line);
      if (echo) std::fprintf(stderr, "log %d: %.*s\n", static_cast<int>(lvl), static_cast<int>(line.size()), line.data());
    });
  }
  ~LogCapture() { set_log_sink(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Lines holding `needle`.
  std::size_t count(const std::string& needle) const {
    std::lock_guard<std::mutex> g(mu_);
    return static_cast<std::size_t>(std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) {
      return l.find(needle) != std::string::npos;
    }));
  }
  // Every line so far, each ending in '\n'.
  std::string text() const {
    std::lock_guard<std::mutex> g(mu_);
    std::string t;
    for (const auto& l : lines_) t.append(l).push_back('\n');
    return t;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace nvmemp::test
