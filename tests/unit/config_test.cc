// nvme-mpathd's TOML configuration (tools/nvme-mpathd/config.h): defaults, every key, value
// spellings, per-subsystem overrides, and the two configurations shipped in config/ (they must
// parse, and the documented defaults must be the library's). Each kind of error with its exact
// file:line:col is in config_errors_test.cc; nvme-cli's discovery.conf and load_config in
// config_discovery_test.cc.
#include "config.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace nvmemp::mpathd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kNqn = "nqn.2026-01.io.example:mpath-test";

// The repository root, from this file's path (tests/unit/config_test.cc): the tests read the
// shipped configurations without a build-system define.
std::filesystem::path repo_root() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DaemonConfig parse_ok(std::string_view text) {
  auto r = parse_config(text, "t.toml");
  if (!r) FAIL(r.error().message);
  return *r;
}

void check_library_defaults(const FabricOptions& o) {
  const FabricOptions d;
  CHECK(o.policy == d.policy);
  CHECK(o.keep_alive_tmo == d.keep_alive_tmo);
  CHECK(o.reconnect_delay == d.reconnect_delay);
  CHECK(o.ctrl_loss_tmo == d.ctrl_loss_tmo);
  CHECK(o.fast_io_fail_tmo == d.fast_io_fail_tmo);
  CHECK(o.no_path_retry.mode == d.no_path_retry.mode);
  CHECK(o.write_failover_delay == d.write_failover_delay);
  CHECK(o.io_timeout == d.io_timeout);
  CHECK(o.stall_timeout == d.stall_timeout);
  CHECK(o.probe_timeout == d.probe_timeout);
  CHECK(o.queue_size == d.queue_size);
  CHECK(o.max_retries == d.max_retries);
  CHECK(o.max_transfer == d.max_transfer);
  CHECK(o.hdr_digest == d.hdr_digest);
  CHECK(o.data_digest == d.data_digest);
  CHECK(o.poll_mode == d.poll_mode);
}

TEST_CASE("config: poll in [defaults] sets every I/O thread's poll mode", "[config]") {
  CHECK(parse_ok("[defaults]\npoll = \"busy\"\n").fabric.poll_mode == PollMode::Busy);
  CHECK(parse_ok("[defaults]\npoll = \"hybrid\"\n").fabric.poll_mode == PollMode::Hybrid);
  CHECK(parse_ok("[defaults]\npoll = \"interrupt\"\n").fabric.poll_mode == PollMode::Interrupt);
}

TEST_CASE("config: an empty file gives the library's defaults", "[config]") {
  const auto c = parse_ok("");
  check_library_defaults(c.fabric);
  CHECK(c.fabric.hostnqn.empty());  // the library then reads /etc/nvme/hostnqn
  CHECK(c.fabric.hostid.empty());
  CHECK(c.io_threads == 2);
  CHECK(c.fabric.max_io_contexts == 2);
  CHECK(c.control_socket == "/run/nvme-mpath/control.sock");
  CHECK(c.discovery_conf.empty());
  CHECK(c.discovery.empty());
  CHECK(c.subsystems.empty());
  CHECK(c.exports.empty());
  CHECK(c.source == "t.toml");
  // The kernel's values, spelled out: the comment in config/nvme-mpath.toml promises them.
  CHECK(c.fabric.keep_alive_tmo == seconds(5));
  CHECK(c.fabric.reconnect_delay == seconds(10));
  CHECK(c.fabric.ctrl_loss_tmo == seconds(600));
  CHECK_FALSE(c.fabric.fast_io_fail_tmo);
  CHECK(c.fabric.no_path_retry.mode == NoPathRetry::Mode::Queue);
  CHECK(c.fabric.policy == IoPolicy::QueueDepth);
  CHECK(c.fabric.io_timeout == seconds(30));
  CHECK(c.fabric.queue_size == 128);
}

TEST_CASE("config: every key is read", "[config]") {
  const auto c = parse_ok(R"(
[host]
hostnqn = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0"
hostid = "5a7e0000-0000-4000-8000-00000000b0b0"

[defaults]
policy = "numa"
keep_alive_tmo = 7
reconnect_delay = 3
ctrl_loss_tmo = -1
fast_io_fail_tmo = 20
no_path_retry = 45
write_failover_delay = 0.25
io_timeout = 12
stall_timeout = 0.5
probe_timeout = 2
queue_size = 256
max_retries = 3
max_transfer = 131072
hdr_digest = true
data_digest = true
io_threads = 6

[daemon]
control_socket = "/tmp/ctl.sock"
discovery_conf = "/etc/nvme/discovery.conf"

[[discovery]]
traddr = "192.0.2.10"
trsvcid = 8010
host_traddr = "192.0.2.1"
host_iface = "eth1"
persistent = false

[[discovery]]
traddr = "fe80::1"

[[subsystem]]
nqn = "nqn.2026-01.io.example:mpath-test"
[[subsystem.path]]
traddr = "127.0.0.1"
trsvcid = 14420
host_iface = "lo"
[[subsystem.path]]
traddr = "::1"
host_traddr = "::1"

[[export]]
name = "mpath-test-1"
nqn = "nqn.2026-01.io.example:mpath-test"
nsid = 1
unix_socket = "/run/nvme-mpath/mpath-test-1.sock"
tcp_port = 10809
read_only = true

[[export]]
name = "by-wwid"
wwid = "uuid.9c0b5e2a-6f1d-4c3b-8a7e-000000000002"
unix_socket = "/run/nvme-mpath/mpath-test-1.sock"
)");
  CHECK(c.fabric.hostnqn == "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0");
  CHECK(c.fabric.hostid == "5a7e0000-0000-4000-8000-00000000b0b0");
  CHECK(c.fabric.policy == IoPolicy::Numa);
  CHECK(c.fabric.keep_alive_tmo == seconds(7));
  CHECK(c.fabric.reconnect_delay == seconds(3));
  CHECK(c.fabric.ctrl_loss_tmo == seconds(-1));
  CHECK(c.fabric.fast_io_fail_tmo == seconds(20));
  CHECK(c.fabric.no_path_retry.mode == NoPathRetry::Mode::Seconds);
  CHECK(c.fabric.no_path_retry.seconds == seconds(45));
  CHECK(c.fabric.write_failover_delay == milliseconds(250));
  CHECK(c.fabric.io_timeout == seconds(12));
  CHECK(c.fabric.stall_timeout == milliseconds(500));
  CHECK(c.fabric.probe_timeout == milliseconds(2000));
  CHECK(c.fabric.queue_size == 256);
  CHECK(c.fabric.max_retries == 3);
  CHECK(c.fabric.max_transfer == 131072);
  CHECK(c.fabric.hdr_digest);
  CHECK(c.fabric.data_digest);
  CHECK(c.io_threads == 6);
  CHECK(c.fabric.max_io_contexts == 6);
  CHECK(c.control_socket == "/tmp/ctl.sock");
  CHECK(c.discovery_conf == "/etc/nvme/discovery.conf");

  REQUIRE(c.discovery.size() == 2);
  CHECK(c.discovery[0].endpoint.traddr == "192.0.2.10");
  CHECK(c.discovery[0].endpoint.trsvcid == 8010);
  CHECK(c.discovery[0].endpoint.host_traddr == "192.0.2.1");
  CHECK(c.discovery[0].endpoint.host_iface == "eth1");
  CHECK_FALSE(c.discovery[0].persistent);
  CHECK(c.discovery[0].origin == "t.toml:28");
  CHECK(c.discovery[1].endpoint.traddr == "fe80::1");
  CHECK(c.discovery[1].endpoint.trsvcid == 8009);
  CHECK(c.discovery[1].persistent);

  REQUIRE(c.subsystems.size() == 1);
  const auto& s = c.subsystems[0];
  CHECK(s.nqn == kNqn);
  REQUIRE(s.paths.size() == 2);
  CHECK(s.paths[0].endpoint.traddr == "127.0.0.1");
  CHECK(s.paths[0].endpoint.trsvcid == 14420);
  CHECK(s.paths[0].endpoint.host_iface == "lo");
  CHECK(s.paths[1].endpoint.traddr == "::1");
  CHECK(s.paths[1].endpoint.trsvcid == 4420);
  CHECK(s.paths[1].endpoint.host_traddr == "::1");
  CHECK_FALSE(s.policy);
  CHECK(s.overrides.empty());
  CHECK(s.options.policy == IoPolicy::Numa);  // inherited from [defaults]
  CHECK(s.options.keep_alive_tmo == seconds(7));
  CHECK(find_subsystem(c, kNqn) == &s);
  CHECK(find_subsystem(c, "nqn.other") == nullptr);

  REQUIRE(c.exports.size() == 2);
  CHECK(c.exports[0].name == "mpath-test-1");
  CHECK(c.exports[0].nqn == kNqn);
  CHECK(c.exports[0].nsid == 1);
  CHECK(c.exports[0].wwid.empty());
  CHECK(c.exports[0].unix_socket == "/run/nvme-mpath/mpath-test-1.sock");
  CHECK(c.exports[0].tcp_port == std::uint16_t{10809});
  CHECK(c.exports[0].read_only);
  CHECK(c.exports[1].wwid == "uuid.9c0b5e2a-6f1d-4c3b-8a7e-000000000002");
  CHECK(c.exports[1].nqn.empty());
  CHECK(c.exports[1].nsid == 0);
  CHECK_FALSE(c.exports[1].tcp_port);
  CHECK_FALSE(c.exports[1].read_only);
}

TEST_CASE("config: value spellings", "[config]") {
  SECTION("no_path_retry: queue, fail, seconds as integer or text") {
    CHECK(parse_ok("[defaults]\nno_path_retry = \"fail\"").fabric.no_path_retry.mode == NoPathRetry::Mode::Fail);
    CHECK(parse_ok("[defaults]\nno_path_retry = \"queue\"").fabric.no_path_retry.mode == NoPathRetry::Mode::Queue);
    CHECK(parse_ok("[defaults]\nno_path_retry = \"30\"").fabric.no_path_retry.seconds == seconds(30));
    CHECK(parse_ok("[defaults]\nno_path_retry = 30").fabric.no_path_retry.seconds == seconds(30));
  }
  SECTION("write_failover_delay: auto or seconds") {
    CHECK_FALSE(parse_ok("[defaults]\nwrite_failover_delay = \"auto\"").fabric.write_failover_delay);
    CHECK(parse_ok("[defaults]\nwrite_failover_delay = 0").fabric.write_failover_delay == milliseconds(0));
    CHECK(parse_ok("[defaults]\nwrite_failover_delay = 2").fabric.write_failover_delay == milliseconds(2000));
  }
  SECTION("fast_io_fail_tmo -1 is off, 0 is at once") {
    CHECK_FALSE(parse_ok("[defaults]\nfast_io_fail_tmo = -1").fabric.fast_io_fail_tmo);
    CHECK(parse_ok("[defaults]\nfast_io_fail_tmo = 0").fabric.fast_io_fail_tmo == seconds(0));
  }
  SECTION("sub-second timers round to milliseconds") {
    CHECK(parse_ok("[defaults]\nstall_timeout = 0.0125").fabric.stall_timeout == milliseconds(13));
    CHECK(parse_ok("[defaults]\nprobe_timeout = 3").fabric.probe_timeout == milliseconds(3000));
  }
  SECTION("inline tables and dotted keys are TOML too") {
    const auto c = parse_ok("defaults.policy = \"round-robin\"\n"
                            "subsystem = [{ nqn = \"nqn.a:b\", path = [{ traddr = \"10.0.0.1\" }] }]\n");
    CHECK(c.fabric.policy == IoPolicy::RoundRobin);
    REQUIRE(c.subsystems.size() == 1);
    REQUIRE(c.subsystems[0].paths.size() == 1);
    CHECK(c.subsystems[0].paths[0].endpoint.trsvcid == 4420);
  }
  SECTION("a subsystem without paths takes them from discovery") {
    const auto c = parse_ok("[[discovery]]\ntraddr = \"10.0.0.1\"\n[[subsystem]]\nnqn = \"nqn.a:b\"\n");
    REQUIRE(c.subsystems.size() == 1);
    CHECK(c.subsystems[0].paths.empty());
  }
}

TEST_CASE("config: a subsystem overrides the defaults for itself only", "[config]") {
  const auto c = parse_ok(R"([defaults]
policy = "numa"
keep_alive_tmo = 7
ctrl_loss_tmo = 60
fast_io_fail_tmo = 5
write_failover_delay = 1

[[subsystem]]
nqn = "nqn.2026-01.io.example:a"
policy = "round-robin"
ctrl_loss_tmo = -1
fast_io_fail_tmo = -1
write_failover_delay = "auto"
hdr_digest = true

[[subsystem]]
nqn = "nqn.2026-01.io.example:b"
)");
  CHECK(c.fabric.policy == IoPolicy::Numa);
  CHECK(c.fabric.ctrl_loss_tmo == seconds(60));
  REQUIRE(c.subsystems.size() == 2);
  const auto& a = c.subsystems[0];
  CHECK(a.policy == IoPolicy::RoundRobin);
  CHECK(a.options.policy == IoPolicy::RoundRobin);
  CHECK(a.options.ctrl_loss_tmo == seconds(-1));
  CHECK_FALSE(a.options.fast_io_fail_tmo);      // "off" overrides a default that is on
  CHECK_FALSE(a.options.write_failover_delay);  // "auto" overrides a default of 1 s
  CHECK(a.options.hdr_digest);
  CHECK(a.options.keep_alive_tmo == seconds(7));  // not overridden: the default
  CHECK(a.options.max_io_contexts == 2);
  CHECK(a.overrides ==
        std::vector<std::string>{"policy", "ctrl_loss_tmo", "fast_io_fail_tmo", "write_failover_delay", "hdr_digest"});
  const auto& b = c.subsystems[1];
  CHECK_FALSE(b.policy);
  CHECK(b.options.policy == IoPolicy::Numa);
  CHECK(b.options.ctrl_loss_tmo == seconds(60));
  CHECK(b.options.fast_io_fail_tmo == seconds(5));
  CHECK(b.options.write_failover_delay == milliseconds(1000));
  CHECK(b.overrides.empty());
}

TEST_CASE("config: the shipped nvme-mpath.toml parses and documents the library's defaults", "[config]") {
  const auto path = repo_root() / "config" / "nvme-mpath.toml";
  auto shipped = load_config(path.string());
  if (!shipped) FAIL(shipped.error().message);
  // As shipped, every setting is commented out: the defaults, nothing connected.
  check_library_defaults(shipped->fabric);
  CHECK(shipped->subsystems.empty());
  CHECK(shipped->discovery.empty());

  // Uncommented ("#key = value" and "#[section]" lines; "# text" stays a comment), the file
  // must still parse, its [defaults] must be the library's defaults, and the examples valid.
  const std::regex setting(R"(^#(\[|[a-z_]+ = ))");
  std::stringstream in(read_text(path));
  std::string text;
  int uncommented = 0;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, setting)) {
      line.erase(0, 1);
      ++uncommented;
    }
    text += line + "\n";
  }
  CHECK(uncommented > 40);
  auto all = parse_config(text, "nvme-mpath.toml (uncommented)");
  if (!all) FAIL(all.error().message);
  check_library_defaults(all->fabric);
  CHECK(all->io_threads == kDefaultIoThreads);
  CHECK(all->control_socket == kDefaultControlSocket);
  CHECK(all->discovery_conf.empty());
  // Every key of every level appears in the file.
  for (const char* key : {"hostnqn", "hostid", "policy", "keep_alive_tmo", "reconnect_delay", "ctrl_loss_tmo",
                          "fast_io_fail_tmo", "no_path_retry", "write_failover_delay", "io_timeout", "stall_timeout",
                          "probe_timeout", "queue_size", "max_retries", "max_transfer", "hdr_digest", "data_digest",
                          "io_threads", "poll", "control_socket", "discovery_conf", "traddr", "trsvcid", "host_traddr",
                          "host_iface", "persistent", "nqn", "name", "nsid", "unix_socket", "tcp_port", "read_only"}) {
    INFO(key);
    CHECK(text.find(std::string("\n") + key + " = ") != std::string::npos);
  }
  CHECK(text.find("wwid = \"uuid.") != std::string::npos);  // the alternative to nqn + nsid, in prose
  REQUIRE(all->discovery.size() == 1);
  REQUIRE(all->subsystems.size() == 1);
  CHECK(all->subsystems[0].paths.size() == 2);
  CHECK(all->subsystems[0].policy == IoPolicy::RoundRobin);
  REQUIRE(all->exports.size() == 1);
  CHECK(all->exports[0].nqn == all->subsystems[0].nqn);
}

TEST_CASE("config: the demo's configuration parses", "[config]") {
  auto c = load_config((repo_root() / "config" / "demo.toml").string());
  if (!c) FAIL(c.error().message);
  CHECK(c->fabric.keep_alive_tmo == seconds(2));
  CHECK(c->fabric.reconnect_delay == seconds(1));
  CHECK(c->fabric.ctrl_loss_tmo == seconds(-1));
  CHECK_FALSE(c->fabric.hostnqn.empty());
  CHECK(c->control_socket.rfind("/tmp/nvme-mpath-demo/", 0) == 0);
  REQUIRE(c->subsystems.size() == 1);
  const auto& s = c->subsystems[0];
  CHECK(s.nqn == "nqn.2026-01.io.example:sim");
  REQUIRE(s.paths.size() == 2);
  CHECK(s.paths[0].endpoint.traddr == "127.0.0.1");
  CHECK(s.paths[0].endpoint.trsvcid == 14520);
  CHECK(s.paths[1].endpoint.trsvcid == 14521);
  REQUIRE(c->exports.size() == 1);
  CHECK(c->exports[0].nqn == s.nqn);
  CHECK(c->exports[0].nsid == 1);
  CHECK(c->exports[0].unix_socket.rfind("/tmp/nvme-mpath-demo/", 0) == 0);
}

}  // namespace
}  // namespace nvmemp::mpathd
