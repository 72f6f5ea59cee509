// One event per line on stderr, journald-friendly: when stderr is the journal
// (JOURNAL_STREAM set), lines carry the sd-daemon priority prefix ("<4>"), else a level word.
// Cold path only: connection and controller events, never per I/O.
#pragma once

#include <functional>
#include <string_view>

#include <fmt/format.h>

namespace nvmemp {

enum class LogLevel : int { Error = 3, Warn = 4, Info = 6, Debug = 7 };

void set_log_level(LogLevel max);
// Replaces the stderr sink (tests); nullptr restores it.
void set_log_sink(std::function<void(LogLevel, std::string_view)> sink);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view msg);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(level)) {
    log_line(level, fmt::format(f, std::forward<Args>(args)...));
  }
}

}  // namespace nvmemp
