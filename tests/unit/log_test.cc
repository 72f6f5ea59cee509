#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/log.h"

TEST_CASE("Log lines go to the sink, filtered by level", "[log]") {
  std::vector<std::pair<nvmemp::LogLevel, std::string>> got;
  nvmemp::set_log_sink([&](nvmemp::LogLevel l, std::string_view m) { got.emplace_back(l, std::string(m)); });
  nvmemp::set_log_level(nvmemp::LogLevel::Info);
  nvmemp::log(nvmemp::LogLevel::Warn, "path {} down: {}", 2, "connection reset");
  nvmemp::log(nvmemp::LogLevel::Debug, "not shown");
  nvmemp::set_log_sink(nullptr);
  REQUIRE(got.size() == 1);
  CHECK(got[0].first == nvmemp::LogLevel::Warn);
  CHECK(got[0].second == "path 2 down: connection reset");
}
