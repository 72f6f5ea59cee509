// nvme-mpathd's discovery controllers against the simulated target: a persistent discovery
// controller's log (and its referral's) brings every port of the subsystem in; a Discovery
// Log Page Change event that removes a port's entry takes its path away, one that adds it
// back connects it again. A non-persistent one is read once.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "daemon_support.h"
#include "sim_support.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<mpathd::Daemon> start_daemon(const sim::SimTarget& sim, bool persistent) {
  const std::string dir = test_dir("disc-test");
  return start_daemon_with(dir, fmt::format("[host]\nhostnqn = \"{}\"\n[defaults]\nkeep_alive_tmo = 2\nreconnect_delay = 1\n"
                                            "[daemon]\ncontrol_socket = \"{}/control.sock\"\n[[discovery]]\n"
                                            "traddr = \"127.0.0.1\"\ntrsvcid = {}\npersistent = {}\n",
                                            kTestHostNqn, dir, sim.ports()[0], persistent));
}

// Ticks the daemon until head nsid 1 has `n` paths (bounded).
bool wait_paths(mpathd::Daemon& d, const std::string& nqn, std::size_t n, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    d.tick();
    auto h = d.fabric().find_head(nqn, 1);
    if (h && h->paths.size() == n) return true;
    if (!h && n == 0) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace

TEST_CASE("nvme-mpathd: a persistent discovery controller's log changes add and remove paths", "[daemon][discovery]") {
  auto sim = start_sim();
  auto d = start_daemon(*sim, true);
  // Port 1's log lists port 1 and refers to port 2's discovery controller, which lists port 2.
  REQUIRE(wait_paths(*d, sim->nqn(), 2));
  const auto ports_of = [&] {
    std::set<std::uint16_t> out;
    for (const auto& p : d->fabric().topology().paths) out.insert(p.trsvcid);
    return out;
  };
  CHECK(ports_of() == std::set<std::uint16_t>{sim->ports()[0], sim->ports()[1]});
  // The head can lose a path (its controller went dead on the target's reset) a moment before
  // the daemon has read the new log and disconnected it: tick until the path set settles.
  const auto settles_to = [&](const std::set<std::uint16_t>& want) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      d->tick();
      if (ports_of() == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };

  // The subsystem leaves port 2 (its discovery controller stays): the event, the log re-read,
  // the path leaves.
  REQUIRE(sim->control("unlink 2").has_value());
  REQUIRE(wait_paths(*d, sim->nqn(), 1));
  CHECK(settles_to({sim->ports()[0]}));
  // ... and comes back: the path joins its head again.
  REQUIRE(sim->control("link 2").has_value());
  REQUIRE(wait_paths(*d, sim->nqn(), 2));
  CHECK(settles_to({sim->ports()[0], sim->ports()[1]}));
}

TEST_CASE("nvme-mpathd: a non-persistent discovery controller is read once", "[daemon][discovery]") {
  auto sim = start_sim();
  auto d = start_daemon(*sim, false);
  REQUIRE(wait_paths(*d, sim->nqn(), 2));
  // Its log is not followed: an unlinked port's path stays (reconnecting), nothing is removed.
  REQUIRE(sim->control("unlink 2").has_value());
  std::this_thread::sleep_for(500ms);
  d->tick();
  CHECK(d->fabric().topology().paths.size() == 2);
}

}  // namespace nvmemp::test
