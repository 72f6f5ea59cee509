#include "common/log.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace nvmemp {

namespace {
std::mutex g_mu;  // log lines come from several threads; whole lines only
LogLevel g_max = LogLevel::Info;
std::function<void(LogLevel, std::string_view)> g_sink;

const char* word(LogLevel l) {
  switch (l) {
    case LogLevel::Error: return "error";
    case LogLevel::Warn: return "warning";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "?";
}
}  // namespace

void set_log_level(LogLevel max) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_max = max;
}

void set_log_sink(std::function<void(LogLevel, std::string_view)> sink) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sink = std::move(sink);
}

bool log_enabled(LogLevel level) {
  std::lock_guard<std::mutex> lock(g_mu);
  return static_cast<int>(level) <= static_cast<int>(g_max);
}

void log_line(LogLevel level, std::string_view msg) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_sink) {
    g_sink(level, msg);
    return;
  }
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string line = journal ? fmt::format("<{}>{}\n", static_cast<int>(level), msg)
                             : fmt::format("nvme-mpath {}: {}\n", word(level), msg);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace nvmemp
