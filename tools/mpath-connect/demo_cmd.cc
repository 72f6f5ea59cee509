// `mpath-connect demo`: an embedded simulated fabric with two paths. It shows the topology,
// runs write-verify I/O with a live progress line, makes the optimized path inaccessible, takes
// its port down and up, and shows each failover (stall, errors), the failback and a summary.
// Needs nothing outside this process; takes about 25 seconds.
#include "demo_cmd.h"

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "bench.h"
#include "common/log.h"
#include "daemon_cmds.h"
#include "sim_target.h"
#include "topology_json.h"

namespace nvmemp::tools {

namespace {

using namespace std::chrono_literals;

constexpr const char* kDemoHost = "nqn.2014-08.org.nvmexpress:uuid:de300000-0000-4000-8000-000000000001";

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Event {
  std::string what;
  std::int64_t at_ms;
};

}  // namespace

int run_demo(bool verbose) {
  // The story is told on stdout; the library's own events (reconnect attempts refused while the
  // port is down, ...) go to stderr only with -v.
  if (!verbose) set_log_sink([](LogLevel, std::string_view) {});
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  std::printf("== nvme-mpath demo: a simulated NVMe/TCP target with one subsystem on two ports\n");
  sim::SimConfig sc;
  auto sim = sim::SimTarget::start(sc);
  if (!sim) {
    std::fprintf(stderr, "demo: the simulated target did not start: %s\n", sim.error().message.c_str());
    return 1;
  }
  const auto p1 = (*sim)->ports()[0];
  const auto p2 = (*sim)->ports()[1];
  FabricOptions fo;
  fo.hostnqn = kDemoHost;
  fo.keep_alive_tmo = 2s;
  fo.reconnect_delay = 1s;
  fo.ctrl_loss_tmo = std::chrono::seconds(-1);

  {  // The topology as `mpath-connect list` shows it.
    auto f = Fabric::start(fo);
    if (!f) return std::fprintf(stderr, "demo: %s\n", f.error().message.c_str()), 1;
    for (auto p : {p1, p2}) {
      if (auto r = (*f)->connect(Endpoint{"127.0.0.1", p, "", ""}, (*sim)->nqn()); !r) {
        std::fprintf(stderr, "demo: %s\n", r.error().message.c_str());
        return 1;
      }
    }
    std::printf("== topology (namespace heads -> paths, ANA state per path):\n%s",
                list_text(mpathd::list_json((*f)->topology())).c_str());
  }

  BenchTarget t;
  t.subnqn = (*sim)->nqn();
  t.paths = {Endpoint{"127.0.0.1", p1, "", ""}, Endpoint{"127.0.0.1", p2, "", ""}};
  BenchOptions b;
  b.workload = Workload::Verify;
  b.iodepth = 16;
  b.seconds = 18;
  std::printf("== write-verify I/O on nsid 1 through both paths (queue-depth policy, keep-alive timeout 2 s)\n");
  std::fflush(stdout);
  auto run = std::async(std::launch::async, [&] {
    return run_bench(fo, t, b, [&](std::uint64_t ios, double secs) {
      if (secs > 0) {
        std::printf("%s  [%4.1fs] %9.0f IOPS  %llu I/Os verified so far   %s", tty ? "\r" : "", secs,
                    static_cast<double>(ios) / secs, static_cast<unsigned long long>(ios), tty ? "" : "\n");
        std::fflush(stdout);
      }
    });
  });
  std::vector<Event> events;
  auto act = [&](std::chrono::milliseconds after, const std::string& what, const std::string& line) {
    std::this_thread::sleep_for(after);
    events.push_back(Event{what, unix_ms()});
    std::printf("%s  -> %s\n", tty ? "\n" : "", what.c_str());
    std::fflush(stdout);
    if (auto r = (*sim)->control(line); !r) std::fprintf(stderr, "demo: %s: %s\n", line.c_str(), r.error().message.c_str());
  };
  act(4000ms, fmt::format("ANA: port {} (optimized) becomes inaccessible", p1), fmt::format("ana {} 1 inaccessible", p1));
  act(3000ms, fmt::format("ANA: port {} optimized again (failback)", p1), fmt::format("ana {} 1 optimized", p1));
  act(3000ms, fmt::format("port {} goes down", p1), fmt::format("port-down {}", p1));
  act(3000ms, fmt::format("port {} comes back (reconnect, failback)", p1), fmt::format("port-up {}", p1));
  auto r = run.get();
  std::printf("\n");
  if (!r) {
    std::fprintf(stderr, "demo: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("== what each event cost (longest gap with no completion right after it):\n");
  for (const auto& e : events) {
    const double at = static_cast<double>(e.at_ms - r->start_unix_ms) / 1000.0;
    double worst = 0;
    for (const auto& s : r->stalls) {
      if (s.at_s >= at - 0.5 && s.at_s <= at + 3) worst = std::max(worst, s.ms);
    }
    std::printf("  %-55s stall %s\n", e.what.c_str(),
                worst > 0 ? fmt::format("{:.0f} ms", worst).c_str() : "< 100 ms");
  }
  std::printf("  (a write in flight on a lost connection waits the keep-alive timeout before it moves: it can\n"
              "   never land late over newer data; reads and new I/O move at once)\n");
  std::printf("== paths at the end:\n");
  for (const auto& p : r->paths) {
    std::printf("  %s:%u cntlid %u %s %-13s I/Os %-8llu failovers %llu reconnects %llu\n", p.traddr.c_str(), p.trsvcid,
                p.cntlid, p.state.c_str(), p.ana_state.c_str(), static_cast<unsigned long long>(p.ios),
                static_cast<unsigned long long>(p.failovers), static_cast<unsigned long long>(p.reconnects));
  }
  std::printf("== summary: %llu I/Os in %.0f s, %llu failovers, errors %llu, verify failures %llu, longest stall %.0f ms\n",
              static_cast<unsigned long long>(r->ios), r->seconds, static_cast<unsigned long long>(r->failovers),
              static_cast<unsigned long long>(r->errors), static_cast<unsigned long long>(r->verify_failures),
              r->max_stall_ms);
  if (!r->first_error.empty()) std::printf("   first error: %s\n", r->first_error.c_str());
  return (r->errors == 0 && r->verify_failures == 0) ? 0 : 1;
}

}  // namespace nvmemp::tools
