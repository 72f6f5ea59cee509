// RetryLog: what a retried operation logs, attempt by attempt, on a clock the test moves.
#include "common/retry_log.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/log.h"

namespace nvmemp {
namespace {

using namespace std::chrono_literals;

struct Lines {
  std::vector<std::string> v;
  Lines() {
    set_log_sink([this](LogLevel, std::string_view l) { v.emplace_back(l); });
  }
  ~Lines() { set_log_sink(nullptr); }
};

}  // namespace

TEST_CASE("retry log: first failure with the plan, a reminder a minute, a line per change, back", "[retry_log]") {
  Lines lines;
  RetryLog r("path X");
  TimePoint t{};
  const std::string plan = retry_plan(1s, std::nullopt);
  CHECK(plan == "retrying every 1 s (no limit)");
  CHECK_FALSE(r.succeeded(t));  // nothing to say when it never failed
  for (int i = 0; i < 125; ++i, t += 1s) r.failed(t, "Connection refused", plan);
  // t = 0 (first), 60 and 120 (reminders): three lines for 125 attempts.
  REQUIRE(lines.v.size() == 3);
  CHECK(lines.v[0] == "path X: Connection refused; retrying every 1 s (no limit)");
  CHECK(lines.v[1] == "path X: still failing after 60 s (61 attempts): Connection refused; retrying every 1 s (no limit)");
  CHECK(lines.v[2].find("after 120 s (121 attempts)") != std::string::npos);
  r.failed(t, "no ICResp within 10000 ms", plan);  // a new error: at once
  REQUIRE(lines.v.size() == 4);
  CHECK(lines.v[3] == "path X: now failing with: no ICResp within 10000 ms; retrying every 1 s (no limit)");
  r.failed(t + 1s, "no ICResp within 10000 ms", plan);
  CHECK(lines.v.size() == 4);
  auto back = r.succeeded(t + 2s);
  REQUIRE(back);
  CHECK(*back == "back after 127 s (127 failed attempts)");
  CHECK_FALSE(r.failing());
  r.failed(t + 3s, "Connection refused", plan);  // starts over: a first line again
  CHECK(lines.v.size() == 5);
}

TEST_CASE("retry log: the plan names when it gives up, in local time", "[retry_log]") {
  const auto at = std::chrono::system_clock::from_time_t(0) + 3h + 4min + 5s;
  const std::time_t tt = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  localtime_r(&tt, &tm);
  const std::string plan = retry_plan(10s, at);
  CHECK(plan == fmt::format("retrying every 10 s until {:02}:{:02}:{:02}, then giving up", tm.tm_hour, tm.tm_min,
                            tm.tm_sec));
  CHECK(retry_plan(1500ms, std::nullopt) == "retrying every 1500 ms (no limit)");
}

}  // namespace nvmemp
