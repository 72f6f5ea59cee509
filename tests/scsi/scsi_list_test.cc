// One model in the tools: nvme-mpathd with an NVMe/TCP subsystem (nvme-mpath-simtarget) and
// [scsi] enabled over the loop-device SCSI tree (support/loop_sysfs.h); `mpath-connect list -o
// json` shows the NVMe head and the SCSI head side by side, and the text form shows both.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/dual_path_disk.h"
#include "support/loop_sysfs.h"
#include "support/shell.h"

using namespace std::chrono_literals;
using nvmemp::test::DualPathDisk;
using nvmemp::test::LoopSysfs;

namespace {

// A child process, killed (SIGTERM, then SIGKILL) and reaped at the end of the test.
struct Child {
  pid_t pid = -1;
  Child(const std::vector<std::string>& argv, const std::string& log) {
    pid = ::fork();
    if (pid == 0) {
      std::FILE* f = std::freopen(log.c_str(), "w", stdout);
      if (f != nullptr) ::dup2(STDOUT_FILENO, STDERR_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("mpath-connect list -o json shows an NVMe head and a SCSI head side by side", "[scsi][list]") {
  auto disk = DualPathDisk::create(16ull << 20);
  REQUIRE(disk);
  const std::string dir = (*disk)->dir();
  LoopSysfs fx(**disk, dir + "/sysfs");

  // The simulated NVMe/TCP target on two ephemeral ports; its first line names them.
  const std::string sim_log = dir + "/sim.log";
  Child sim({SIMTARGET_BIN, "--port", "0", "--port", "0", "--nqn", "nqn.2026-01.io.example:scsi-list", "--namespaces", "1"}, sim_log);
  std::smatch m;
  std::string text;
  const std::regex ports_re("ports=([0-9]+),([0-9]+)");
  for (int i = 0; i < 100 && !std::regex_search(text, m, ports_re); ++i) {
    std::this_thread::sleep_for(50ms);
    text = slurp(sim_log);
  }
  REQUIRE(std::regex_search(text, m, ports_re));
  const std::string p1 = m[1], p2 = m[2];

  const std::string sock = dir + "/control.sock";
  const std::string cfg = dir + "/mpathd.toml";
  std::ofstream(cfg) << fmt::format(R"([host]
hostnqn = "nqn.2014-08.org.nvmexpress:uuid:5c510000-0000-4000-8000-000000000001"
[defaults]
reconnect_delay = 1
[daemon]
control_socket = "{}"
[scsi]
enable = true
sysfs_root = "{}"
wwid_deny = ["t10.*"]
[[subsystem]]
nqn = "nqn.2026-01.io.example:scsi-list"
[[subsystem.path]]
traddr = "127.0.0.1"
trsvcid = {}
[[subsystem.path]]
traddr = "127.0.0.1"
trsvcid = {}
)",
                                    sock, fx.root(), p1, p2);
  Child daemon({NVME_MPATHD_BIN, "--config", cfg, "-v"}, dir + "/mpathd.log");

  // Wait for both heads (the NVMe paths connect in the background).
  nlohmann::json j;
  nvmemp::test::ShellResult r;
  for (int i = 0; i < 100; ++i) {
    r = nvmemp::test::shell(fmt::format("{} list -o json --socket {}", MPATH_CONNECT_BIN, sock), 20, false);
    if (r.status == 0) {
      j = nlohmann::json::parse(r.out, nullptr, false);
      if (!j.is_discarded() && j.contains("heads") && j["heads"].size() == 2 && j["heads"][0]["paths"].size() == 2 &&
          j["heads"][1]["paths"].size() == 2) {
        break;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  INFO(r.out);
  INFO(slurp(dir + "/mpathd.log"));
  REQUIRE(j.contains("heads"));
  REQUIRE(j["heads"].size() == 2);
  const nlohmann::json* nvme = nullptr;
  const nlohmann::json* scsi = nullptr;
  for (const auto& h : j["heads"]) (h["transport"] == "scsi" ? scsi : nvme) = &h;
  REQUIRE(nvme != nullptr);
  REQUIRE(scsi != nullptr);
  CHECK((*nvme)["transport"] == "nvme");
  CHECK((*nvme)["nqn"] == "nqn.2026-01.io.example:scsi-list");
  CHECK((*nvme)["paths"].size() == 2);
  CHECK((*scsi)["wwid"] == nvmemp::test::kLoopWwid);
  CHECK((*scsi)["size_bytes"] == 16ull << 20);
  CHECK_FALSE(scsi->contains("nqn"));
  REQUIRE((*scsi)["paths"].size() == 2);
  const auto& a = (*scsi)["paths"][0];
  const auto& b = (*scsi)["paths"][1];
  CHECK(a["dev"] == (*disk)->device(0));
  CHECK(a["hctl"] == "0:0:0:0");
  CHECK(a["access_state"] == "active/optimized");
  CHECK(a["ana_state"] == "optimized");
  CHECK(a["tpg"].get<int>() != b["tpg"].get<int>());
  CHECK(a["state"] == "live");
  CHECK(a["vendor"] == "Linux");      // scsi_debug's INQUIRY, as the capture holds it
  CHECK(a["model"] == "scsi_debug");
  CHECK(b["dev"] == (*disk)->device(1));
  CHECK(b["access_state"] == "active/non-optimized");
  CHECK(b["ana_state"] == "non-optimized");

  auto txt = nvmemp::test::shell(fmt::format("{} list --socket {}", MPATH_CONNECT_BIN, sock), 20, false);
  INFO(txt.out);
  CHECK(txt.status == 0);
  CHECK(txt.out.find(fmt::format("{} scsi size 16.0 MiB", nvmemp::test::kLoopWwid)) != std::string::npos);
  CHECK(txt.out.find("0:0:0:0 " + (*disk)->device(0)) != std::string::npos);
  CHECK(txt.out.find("nqn.2026-01.io.example:scsi-list nsid 1") != std::string::npos);
}
