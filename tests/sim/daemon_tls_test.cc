// NVMe/TCP over TLS configured, against the simulated target speaking TLS 1.3 (SimConfig
// tls_key, tls_required): nvme-mpathd's TOML paths (a subsystem with tls = true, a subsystem
// whose paths differ), its discovery controllers (over TLS; the target's log says TLS 1.3,
// required or not, in TREQ/TSAS), the refusal of a port that requires TLS when no key is
// configured, Fabric::connect_all's per-entry decision and `mpath-connect discover --tls`.
// `list`, `stats`, the log and the CLI's output hold no form of the key.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control_handler.h"
#include "daemon_support.h"
#include "sim_support.h"
#include "support/dhchap_keygen.h"
#include "support/log_capture.h"
#include "support/shell.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTls13 = "TLS 1.3 TLS_AES_128_GCM_SHA256";

// A target whose every port speaks TLS 1.3 with `key` (and refuses plaintext when `required`).
std::unique_ptr<sim::SimTarget> start_tls_sim(const TestDhchapKey& key, bool required) {
  auto cfg = small_config();
  cfg.tls_key = key.text;
  cfg.tls_required = required;
  return start_sim(cfg);
}

// The key in a file of its own (mode 0600), as an administrator keeps it.
std::string write_key_file(const std::string& dir, const TestDhchapKey& key) {
  const std::string path = dir + "/tls.key";
  std::ofstream(path, std::ios::trunc) << key.text << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

// [host] (with `host_extra` lines), [defaults] and [daemon] of a test's configuration.
std::string tls_daemon_head(const std::string& dir, const std::string& host_extra = {}) {
  return fmt::format("[host]\nhostnqn = \"{}\"\n{}[defaults]\nkeep_alive_tmo = 2\nreconnect_delay = 1\n"
                     "[daemon]\ncontrol_socket = \"{}/control.sock\"\n",
                     kTestHostNqn, host_extra, dir);
}

// A [[subsystem]] for `sim` with its key file and a path to each port; `sub_extra` and
// `first_path_extra` are more lines for the subsystem and its first path.
std::string two_path_subsystem(const sim::SimTarget& sim, const std::string& keyfile, const std::string& sub_extra,
                               const std::string& first_path_extra) {
  return fmt::format("[[subsystem]]\nnqn = \"{}\"\ntls_key_file = \"{}\"\n{}"
                     "[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n{}"
                     "[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n",
                     sim.nqn(), keyfile, sub_extra, sim.ports()[0], first_path_extra, sim.ports()[1]);
}

// Ticks the daemon until the paths (by port) are live, each with the TLS state wanted ("none"
// or kTls13); bounded.
bool wait_tls_paths(mpathd::Daemon& d, const std::map<std::uint16_t, std::string>& want,
                    std::chrono::milliseconds limit = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    d.tick();
    std::map<std::uint16_t, std::string> got;
    for (const auto& p : d.fabric().topology().paths) {
      if (p.state == "live") got[p.trsvcid] = p.tls;
    }
    if (got == want) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// What the control socket answers `list` and `stats` with, and the text `mpath-connect list`
// prints from it.
std::string control_outputs(mpathd::Daemon& d) {
  const mpathd::Peer user{1, 1000, 1000};
  const auto list = mpathd::handle_control(d.control(), {{"cmd", "list"}}, user);
  const auto stats = mpathd::handle_control(d.control(), {{"cmd", "stats"}}, user);
  return list.dump() + stats.dump();
}

}  // namespace

TEST_CASE("nvme-mpathd TLS: a subsystem with tls = true connects every path over TLS 1.3 to a target that "
          "requires it, list shows tls and never the key",
          "[daemon][tls]") {
  LogCapture logs(false);
  const auto key = make_test_tls_key(1);
  auto sim = start_tls_sim(key, true);
  const std::string dir = test_dir("tls-static");
  auto d = start_daemon_with(dir, tls_daemon_head(dir) + two_path_subsystem(*sim, write_key_file(dir, key), "tls = true\n", ""));
  REQUIRE(wait_tls_paths(*d, {{sim->ports()[0], kTls13}, {sim->ports()[1], kTls13}}));
  const mpathd::Peer user{1, 1000, 1000};
  const auto list = mpathd::handle_control(d->control(), {{"cmd", "list"}}, user);
  const auto& path = list.at("heads").at(0).at("paths").at(0);
  CHECK(path.at("tls") == kTls13);
  CHECK(path.at("tls_identity").get<std::string>().rfind("NVMe1R01 " + std::string(kTestHostNqn) + " " + sim->nqn(), 0) ==
        0);
  const std::string out = control_outputs(*d);
  CHECK(find_key_leak(out, key).empty());
  CHECK(find_key_leak(logs.text(), key).empty());
}

TEST_CASE("nvme-mpathd TLS: where the subsystem allows both, one path over TLS and one plain, and a reload that "
          "sets tls = true connects the plain one again over TLS",
          "[daemon][tls]") {
  const auto key = make_test_tls_key(1);
  auto sim = start_tls_sim(key, false);
  const std::string dir = test_dir("tls-mixed");
  const std::string keyfile = write_key_file(dir, key);
  auto d = start_daemon_with(dir, tls_daemon_head(dir) + two_path_subsystem(*sim, keyfile, "", "tls = true\n"));
  REQUIRE(wait_tls_paths(*d, {{sim->ports()[0], kTls13}, {sim->ports()[1], "none"}}));
  std::ofstream(dir + "/mpath.toml", std::ios::trunc) << tls_daemon_head(dir)
                                                      << two_path_subsystem(*sim, keyfile, "tls = true\n", "");
  auto r = d->reload();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  CHECK(wait_tls_paths(*d, {{sim->ports()[0], kTls13}, {sim->ports()[1], kTls13}}));
}

TEST_CASE("nvme-mpathd TLS: a discovery controller over TLS brings in the ports its log says require TLS",
          "[daemon][tls][discovery]") {
  LogCapture logs(false);
  const auto key = make_test_tls_key(1);
  auto sim = start_tls_sim(key, true);
  const std::string dir = test_dir("tls-disc");
  // Port 1's log lists port 1 and refers to port 2's discovery controller (its entry: TLS 1.3
  // required, so it is followed over TLS too), whose log lists port 2.
  const std::string toml =
      tls_daemon_head(dir, fmt::format("tls_key_file = \"{}\"\n", write_key_file(dir, key))) +
      fmt::format("[[discovery]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\ntls = true\n", sim->ports()[0]);
  auto d = start_daemon_with(dir, toml);
  REQUIRE(wait_tls_paths(*d, {{sim->ports()[0], kTls13}, {sim->ports()[1], kTls13}}));
  CHECK(find_key_leak(control_outputs(*d), key).empty());
  CHECK(find_key_leak(logs.text(), key).empty());
}

TEST_CASE("nvme-mpathd TLS: a port that requires TLS is refused when its subsystem has no key", "[daemon][tls][discovery]") {
  LogCapture logs(false);
  const auto key = make_test_tls_key(1);
  auto sim = start_tls_sim(key, true);
  const std::string dir = test_dir("tls-refuse");
  // The discovery controller has a key (its own), the subsystem none: its ports are refused.
  const std::string toml =
      tls_daemon_head(dir) + fmt::format("[[discovery]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\ntls = true\n"
                                         "tls_key_file = \"{}\"\n[[subsystem]]\nnqn = \"{}\"\n",
                                         sim->ports()[0], write_key_file(dir, key), sim->nqn());
  auto d = start_daemon_with(dir, toml);
  const std::string refusal = fmt::format("{} @ 127.0.0.1:{} requires TLS 1.3: set tls_key", sim->nqn(), sim->ports()[0]);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (logs.count(refusal) == 0 && std::chrono::steady_clock::now() < deadline) {
    d->tick();
    std::this_thread::sleep_for(50ms);
  }
  CHECK(logs.count(refusal) >= 1);
  CHECK(d->fabric().topology().paths.empty());  // never tried plain
  CHECK(find_key_leak(logs.text(), key).empty());
}

TEST_CASE("Fabric::connect_all TLS per discovery entry: offered and a key, offered and none, required",
          "[fabric][tls][discovery]") {
  const auto key = make_test_tls_key(1);
  auto parsed = parse_tls_key(key.text, "test key");
  REQUIRE(parsed.has_value());
  const auto ports_tls = [](const std::vector<PathInfo>& paths) {
    std::set<std::string> out;
    for (const auto& p : paths) out.insert(p.tls);
    return out;
  };
  {
    // TLS offered (SECTYPE 2), not required: plain without a key ...
    auto sim = start_tls_sim(key, false);
    auto f = Fabric::start(fast_options());
    REQUIRE(f.has_value());
    auto r = (*f)->connect_all(Endpoint{"127.0.0.1", sim->ports()[0], {}, {}}, sim->nqn());
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    CHECK(r->size() == 2);
    CHECK(ports_tls(*r) == std::set<std::string>{"none"});
    // ... and TLS with one (the discovery controller itself plain: tls is off).
    FabricOptions o = fast_options();
    o.tls_key = *parsed;
    auto g = Fabric::start(o);
    REQUIRE(g.has_value());
    r = (*g)->connect_all(Endpoint{"127.0.0.1", sim->ports()[0], {}, {}}, sim->nqn());
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    CHECK(r->size() == 2);
    CHECK(ports_tls(*r) == std::set<std::string>{kTls13});
  }
  // Required: with tls and the key, discovery and paths over TLS.
  auto sim = start_tls_sim(key, true);
  FabricOptions o = fast_options();
  o.tls = true;
  o.tls_key = *parsed;
  auto f = Fabric::start(o);
  REQUIRE(f.has_value());
  auto r = (*f)->connect_all(Endpoint{"127.0.0.1", sim->ports()[0], {}, {}}, sim->nqn());
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  CHECK(r->size() == 2);
  CHECK(ports_tls(*r) == std::set<std::string>{kTls13});
}

TEST_CASE("mpath-connect discover --tls reads a discovery log over TLS and shows TREQ and SECTYPE", "[cli][tls][discovery]") {
  const auto key = make_test_tls_key(1);
  auto sim = start_tls_sim(key, true);
  const std::string dir = test_dir("tls-discover");
  const std::string keyfile = write_key_file(dir, key);
  const std::string base = fmt::format("{} discover -t tcp -a 127.0.0.1 -s {} -q {}", MPATH_CONNECT_BIN, sim->ports()[0],
                                       kTestHostNqn);
  const auto json = shell(base + " --tls --tls-key-file " + keyfile + " -o json", 60, false);
  INFO(json.out);
  REQUIRE(json.status == 0);
  const auto j = nlohmann::json::parse(json.out);
  bool saw_nvme = false;
  for (const auto& rec : j.at("records")) {
    CHECK(rec.at("sectype") == "tls1.3");
    CHECK(rec.at("tls") == "required");
    CHECK(rec.at("treq").get<std::string>().rfind("required", 0) == 0);
    saw_nvme = saw_nvme || rec.at("subnqn") == sim->nqn();
  }
  CHECK(saw_nvme);
  CHECK(j.count("errors") == 0);  // the referral to port 2 was read over TLS as well
  const auto text = shell(base + " --tls --tls-key-file " + keyfile, 60);
  CHECK(text.status == 0);
  CHECK(text.out.find("sectype: tls1.3\ntls:     required\n") != std::string::npos);
  CHECK(find_key_leak(json.out + text.out, key).empty());
  // Plaintext is refused by a target that requires TLS; --tls without a key is refused here.
  CHECK(shell(base, 60).status != 0);
  const auto no_key = shell(base + " --tls", 60);
  CHECK(no_key.status != 0);
  CHECK(no_key.out.find("--tls needs the configured PSK") != std::string::npos);
}

}  // namespace nvmemp::test
