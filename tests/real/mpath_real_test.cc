// Multipath against nvmet: `mpath-connect bench --connect-all` runs a write-verify workload on
// both ports while the test drives the target's control channel (ANA flips, port down/up,
// namespace down/up, reset). Each test prints the stall around every event.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "real/real_target.h"
#include "support/shell.h"
#include "support/sync_queue.h"

namespace {

using namespace std::chrono_literals;
using nvmemp::test::real_target;
using nvmemp::test::real_target_ctl;

struct Output {
  int exit_code = -1;
  std::string out;
};

Output run_cli(const std::string& args) {
  auto r = nvmemp::test::shell(std::string(MPATH_CONNECT_BIN) + " " + args, 300, false);
  return Output{r.status, r.out};
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Event {
  std::string command;
  std::int64_t at_ms = 0;  // system clock
};

// Runs the bench (seconds `secs`, extra options) and, concurrently, `script`: commands each
// sent `delay` after the previous one. Returns the bench JSON and when each command was sent.
std::pair<nlohmann::json, std::vector<Event>> bench_with(
    double secs, const std::string& extra, const std::vector<std::pair<std::chrono::milliseconds, std::string>>& script) {
  const auto& rt = real_target();
  const std::string args = "bench --connect-all -t tcp -a 127.0.0.1 -s " + std::to_string(rt.port1) + " -n " +
                           rt.nqn + " --nsid 1 -w verify --time " + std::to_string(secs) +
                           " --reconnect-delay 1 -o json -q " + nvmemp::test::kTestHostNqn + " " + extra;
  auto fut = std::async(std::launch::async, [args] { return run_cli(args); });
  std::vector<Event> events;
  for (const auto& [delay, cmd] : script) {
    std::this_thread::sleep_for(delay);
    events.push_back(Event{cmd, unix_ms()});
    auto r = real_target_ctl(rt, cmd);
    INFO(cmd);
    CHECK(r.has_value());
  }
  const Output o = fut.get();
  INFO(o.out);
  REQUIRE(o.out.find('{') != std::string::npos);
  return {nlohmann::json::parse(o.out.substr(o.out.find('{'))), events};
}

// The longest stall that began between just before the event and `window` after it.
double stall_after(const nlohmann::json& j, const Event& e, double window_s = 8) {
  const double at = static_cast<double>(e.at_ms - j.at("start_unix_ms").get<std::int64_t>()) / 1000.0;
  double worst = 0;
  for (const auto& s : j.at("stalls")) {
    const double t = s.at("at_s").get<double>();
    if (t >= at - 0.5 && t <= at + window_s) worst = std::max(worst, s.at("ms").get<double>());
  }
  if (worst > 0) {
    std::printf("  %-28s at %5.1f s: stall %6.0f ms\n", e.command.c_str(), at, worst);
  } else {
    std::printf("  %-28s at %5.1f s: stall < 100 ms\n", e.command.c_str(), at);
  }
  return worst;
}

// Checks that every event was sent at least `tail_s` before the bench ended: the commands run
// over the VM's control channel, which is slower on some kernels (6.12 under emulation took
// ~0.5-1.5 s per command), and an event that lands at the very end cannot be judged.
void events_landed_in_time(const nlohmann::json& j, const std::vector<Event>& events, double tail_s) {
  const double end = j.at("seconds").get<double>();
  for (const auto& e : events) {
    const double at = static_cast<double>(e.at_ms - j.at("start_unix_ms").get<std::int64_t>()) / 1000.0;
    INFO("'" << e.command << "' was sent at " << at << " s of a " << end
             << " s run: the control channel was slow; lengthen the run");
    REQUIRE(at + tail_s <= end);
  }
}

const nlohmann::json& path_of(const nlohmann::json& j, std::uint16_t port) {
  for (const auto& p : j.at("paths")) {
    if (p.at("trsvcid").get<std::uint16_t>() == port) return p;
  }
  FAIL("no path on port " << port << " in " << j.dump());
  return j;
}

}  // namespace

TEST_CASE("multipath bench on nvmet: ANA flip, port down/up, reset with 0 errors (issue 5 acceptance)",
          "[real][multipath]") {
  const auto& rt = real_target();
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  // Port 1 serves nsid 1 (optimized there, non-optimized on port 2).
  auto [j, events] = bench_with(30, "", {{5s, "ana 1 1 inaccessible"},
                                         {4s, "ana 1 1 optimized"},
                                         {4s, "port-down 1"},
                                         {5s, "port-up 1"},
                                         {6s, "reset"}});
  std::printf("bench --connect-all on nvmet (KATO 5 s): ios %llu, failovers %llu, max_stall_ms %.0f\n",
              j.at("ios").get<unsigned long long>(), j.at("failovers").get<unsigned long long>(),
              j.at("max_stall_ms").get<double>());
  for (const auto& e : events) stall_after(j, e);
  INFO(j.dump(2));
  CHECK(j.at("errors") == 0);
  CHECK(j.at("verify_failures") == 0);
  CHECK(j.at("wwid").get<std::string>().rfind("uuid.", 0) == 0);
  CHECK(path_of(j, rt.port1).at("ios").get<std::uint64_t>() > 0);
  CHECK(path_of(j, rt.port2).at("ios").get<std::uint64_t>() > 0);  // non-optimized: used only while port 1 was not
  CHECK(path_of(j, rt.port1).at("reconnects").get<std::uint64_t>() >= 1);  // the port-down took its connection
  // Failovers (commands moved while in flight) depend on what nvmet still held when each event
  // landed: on a loaded machine it may finish them all first (a CI run under ASan at 3.9 K IOPS
  // saw 0, while the I/O did move to port 2 and port 1 reconnected), so the count is printed
  // above, not asserted.
  CHECK(j.at("max_stall_ms").get<double>() <= 6000.0);  // KATO + 1 s
  CHECK(path_of(j, rt.port1).at("ana_state") == "optimized");
}

TEST_CASE("multipath on nvmet: ANA change and persistent loss are left, then failed back", "[real][multipath]") {
  const auto& rt = real_target();
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  // 20 s for 12 s of script: on 6.12 the four commands took 2.5 s more than their delays, and the
  // last one landed after a 14 s run had ended.
  auto [j, events] = bench_with(20, "--policy numa", {{3s, "ana 1 1 change"},
                                                      {3s, "ana 1 1 optimized"},
                                                      {3s, "ana 1 1 persistent-loss"},
                                                      {3s, "ana 1 1 optimized"}});
  for (const auto& e : events) stall_after(j, e, 2);
  INFO(j.dump(2));
  events_landed_in_time(j, events, 2);
  CHECK(j.at("errors") == 0);
  CHECK(j.at("verify_failures") == 0);
  CHECK(path_of(j, rt.port2).at("ios").get<std::uint64_t>() > 0);
  CHECK(path_of(j, rt.port1).at("ana_state") == "optimized");
}

TEST_CASE("multipath on nvmet: namespace moved to another ANA group", "[real][multipath]") {
  const auto& rt = real_target();
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  REQUIRE(real_target_ctl(rt, "ana 1 2 inaccessible").has_value());
  REQUIRE(real_target_ctl(rt, "ana 2 2 optimized").has_value());
  auto [j, events] = bench_with(8, "", {{3s, "ns-grp 1 2"}});
  for (const auto& e : events) stall_after(j, e, 2);
  INFO(j.dump(2));
  CHECK(j.at("errors") == 0);
  CHECK(j.at("verify_failures") == 0);
  CHECK(path_of(j, rt.port2).at("ana_state") == "optimized");
  CHECK(path_of(j, rt.port1).at("ana_state") == "inaccessible");
  CHECK(path_of(j, rt.port2).at("ios").get<std::uint64_t>() > 0);
  REQUIRE(real_target_ctl(rt, "reset").has_value());
}

TEST_CASE("multipath on nvmet: namespace down on every port, I/O waits (no_path_retry queue) and resumes",
          "[real][multipath]") {
  const auto& rt = real_target();
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  auto [j, events] = bench_with(12, "--no-path-retry queue", {{3s, "ns-down 1"}, {4s, "ns-up 1"}});
  for (const auto& e : events) stall_after(j, e, 6);
  INFO(j.dump(2));
  CHECK(j.at("errors") == 0);
  CHECK(j.at("verify_failures") == 0);
  // The namespace was away for about 4 s: I/O waited that long, then went on.
  CHECK(j.at("max_stall_ms").get<double>() >= 3000.0);
  CHECK(j.at("ios").get<std::uint64_t>() > 0);
  REQUIRE(real_target_ctl(rt, "reset").has_value());
}
