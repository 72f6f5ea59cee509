// nvme-mpathd (the binary) against nvmet: it connects both ports from a configuration,
// `mpath-connect list -o json` shows ns1 and ns2 with the ANA states the real-target README
// states (port 1 optimized, port 2 non-optimized), and an nbdcopy round trip through the NBD
// export still matches after `ctl.sh ana 1 1 inaccessible`.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "real/real_target.h"
#include "support/shell.h"
#include "support/sync_queue.h"

namespace {

using namespace std::chrono_literals;
using nvmemp::test::shell;

// nvme-mpathd started in the background; SIGTERM (then SIGKILL) when this goes.
struct DaemonProcess {
  pid_t pid = -1;
  std::string log;
  DaemonProcess(const std::string& config, const std::string& log_path) : log(log_path) {
    auto r = shell(fmt::format("{} --config {} --foreground -v >{} 2>&1 & echo $!", NVME_MPATHD_BIN, config, log_path));
    pid = std::atoi(r.out.c_str());
  }
  ~DaemonProcess() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
    ::kill(pid, SIGKILL);
  }
};

nlohmann::json list_json(const std::string& sock) {
  auto r = shell(fmt::format("{} list -o json --socket {}", MPATH_CONNECT_BIN, sock), 30, false);
  if (r.status != 0) return {};
  return nlohmann::json::parse(r.out, nullptr, false);
}

}  // namespace

TEST_CASE("nvme-mpathd on nvmet: both ports from a config, list -o json with ANA states, nbdcopy through the "
          "export after the optimized path became inaccessible",
          "[real][daemon]") {
  const auto& rt = nvmemp::test::real_target();
  REQUIRE(nvmemp::test::real_target_ctl(rt, "reset").has_value());
  for (const char* t : {"nbdcopy"}) {
    INFO(t << " is missing: install Debian's libnbd-bin (./build.sh test does)");
    REQUIRE(shell(fmt::format("command -v {}", t)).status == 0);
  }
  const std::string dir = fmt::format("/tmp/nvme-mpath-real-daemon-{}", ::getpid());
  REQUIRE(shell("mkdir -p " + dir).status == 0);
  const std::string sock = dir + "/control.sock", nbd = dir + "/ns1.sock", cfg = dir + "/mpath.toml";
  std::ofstream(cfg, std::ios::trunc) << fmt::format(
      "[host]\nhostnqn = \"{}\"\n[defaults]\nkeep_alive_tmo = 5\nreconnect_delay = 1\n[daemon]\n"
      "control_socket = \"{}\"\n[[subsystem]]\nnqn = \"{}\"\n"
      "[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n"
      "[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n"
      "[[export]]\nname = \"ns1\"\nnqn = \"{}\"\nnsid = 1\nunix_socket = \"{}\"\n",
      nvmemp::test::kTestHostNqn, sock, rt.nqn, rt.port1, rt.port2, rt.nqn, nbd);
  DaemonProcess d(cfg, dir + "/nvme-mpathd.log");
  REQUIRE(d.pid > 0);

  // Both paths of both namespaces, within a few seconds.
  nlohmann::json list;
  for (int i = 0; i < 100; ++i) {
    list = list_json(sock);
    if (list.is_object() && list["heads"].size() == 2 && list["heads"][0]["paths"].size() == 2 &&
        list["heads"][1]["paths"].size() == 2) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  INFO(list.dump(2) << "\nlog: " << shell("tail -20 " + d.log).out);
  REQUIRE(list["heads"].size() == 2);
  for (const auto& h : list["heads"]) {
    CHECK(h["transport"] == "nvme");
    CHECK(h["nqn"] == rt.nqn);
    CHECK(h["size_bytes"] == 64u << 20);
    REQUIRE(h["paths"].size() == 2);
    for (const auto& p : h["paths"]) {
      CHECK(p["state"] == "live");
      CHECK(p["ana_grpid"] == h["nsid"]);  // ns n is in ANA group n
      CHECK(p["ana_state"] == (p["trsvcid"] == rt.port1 ? "optimized" : "non-optimized"));
      CHECK(p["current"] == (p["trsvcid"] == rt.port1));
    }
    if (h["nsid"] == 1) {
      REQUIRE(h["exports"].size() == 1);
      CHECK(h["exports"][0] == "nbd+unix:///ns1?socket=" + nbd);
    }
  }

  // ANA group 1 inaccessible on port 1: ns1's I/O moves to port 2; the round trip matches.
  REQUIRE(nvmemp::test::real_target_ctl(rt, "ana 1 1 inaccessible").has_value());
  const std::string uri = "nbd+unix:///ns1?socket=" + nbd;
  const std::string in = dir + "/in.bin", out = dir + "/out.bin";
  REQUIRE(shell(fmt::format("head -c 33554432 /dev/urandom > {}", in)).status == 0);
  auto put = shell(fmt::format("nbdcopy {} \"{}\"", in, uri));
  INFO(put.out);
  REQUIRE(put.status == 0);
  auto get = shell(fmt::format("nbdcopy \"{}\" - | head -c 33554432 > {} && cmp {} {}", uri, out, in, out));
  INFO(get.out);
  CHECK(get.status == 0);
  list = list_json(sock);
  for (const auto& h : list["heads"]) {
    if (h["nsid"] != 1) continue;
    for (const auto& p : h["paths"]) {
      INFO(p.dump());
      if (p["trsvcid"] == rt.port1) {
        CHECK(p["ana_state"] == "inaccessible");
        CHECK(p["current"] == false);
      } else {
        CHECK(p["current"] == true);
        CHECK(p["ios"].get<std::uint64_t>() > 0);
      }
    }
  }
  REQUIRE(nvmemp::test::real_target_ctl(rt, "reset").has_value());
  shell(fmt::format("rm -rf {}", dir));
}

TEST_CASE("nvme-mpathd on nvmet: a persistent discovery controller and its referral bring both ports in",
          "[real][daemon][discovery]") {
  const auto& rt = nvmemp::test::real_target();
  REQUIRE(nvmemp::test::real_target_ctl(rt, "reset").has_value());
  const std::string dir = fmt::format("/tmp/nvme-mpath-real-disc-{}", ::getpid());
  REQUIRE(shell("mkdir -p " + dir).status == 0);
  const std::string sock = dir + "/control.sock", cfg = dir + "/mpath.toml";
  // No static path: port 1's discovery log lists port 1 and refers to port 2's discovery
  // controller, whose log lists port 2.
  std::ofstream(cfg, std::ios::trunc) << fmt::format(
      "[host]\nhostnqn = \"{}\"\n[defaults]\nkeep_alive_tmo = 5\nreconnect_delay = 1\n[daemon]\n"
      "control_socket = \"{}\"\n[[discovery]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n",
      nvmemp::test::kTestHostNqn, sock, rt.port1);
  DaemonProcess d(cfg, dir + "/nvme-mpathd.log");
  REQUIRE(d.pid > 0);
  auto both_live = [&] {
    auto l = list_json(sock);
    if (!l.is_object() || l["heads"].size() != 2) return false;
    for (const auto& h : l["heads"]) {
      if (h["paths"].size() != 2) return false;
      for (const auto& p : h["paths"]) {
        if (p["state"] != "live") return false;
      }
    }
    return true;
  };
  bool ok = false;
  for (int i = 0; i < 150 && !ok; ++i) {
    ok = both_live();
    if (!ok) std::this_thread::sleep_for(100ms);
  }
  INFO(list_json(sock).dump(2) << "\nlog: " << shell("tail -30 " + d.log).out);
  REQUIRE(ok);
  // Port 2 goes away and returns (nvmet closes its listener, discovery controller included):
  // the discovery controller and the path reconnect; nothing is left behind.
  REQUIRE(nvmemp::test::real_target_ctl(rt, "port-down 2").has_value());
  std::this_thread::sleep_for(1500ms);
  REQUIRE(nvmemp::test::real_target_ctl(rt, "port-up 2").has_value());
  ok = false;
  for (int i = 0; i < 150 && !ok; ++i) {
    ok = both_live();
    if (!ok) std::this_thread::sleep_for(100ms);
  }
  CHECK(ok);
  const auto log = shell("cat " + d.log).out;
  CHECK(log.find(fmt::format("discovery controller 127.0.0.1:{}: followed (persistent)", rt.port2)) !=
        std::string::npos);
  REQUIRE(nvmemp::test::real_target_ctl(rt, "reset").has_value());
  shell(fmt::format("rm -rf {}", dir));
}
