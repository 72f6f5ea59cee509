// nvme-mpathd's TOML configuration (tools/nvme-mpathd/config.h): defaults, every key, per-subsystem
// overrides, each kind of error with its exact file:line:col, nvme-cli's discovery.conf, and the
// two configurations shipped in config/ (they must parse, and the documented defaults must be
// the library's).
#include "config.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
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

// The whole error message of a text that must be refused with `code`.
std::string parse_err(std::string_view text, Errc code = Errc::InvalidArgument) {
  auto r = parse_config(text, "t.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == code);
  return r.error().message;
}

// A temporary directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/nvmemp-config-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

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

TEST_CASE("config: syntax errors carry line and column", "[config]") {
  CHECK(parse_err("[defaults]\nkeep_alive_tmo = 5\npolicy = \"numa\n", Errc::Malformed) ==
        "t.toml:3:15: error while parsing string: unescaped control characters other than TAB (U+0009) are "
        "explicitly prohibited");
  CHECK(parse_err("a = 1\nb = [1,\n  2\nc=3", Errc::Malformed) ==
        "t.toml:4:1: error while parsing array: expected comma or closing ']', saw 'c'");
  CHECK(parse_err("[defaults]\nqueue_size = 1\nqueue_size = 2\n", Errc::Malformed) ==
        "t.toml:3:14: error while parsing key-value pair: cannot redefine existing integer 'queue_size'");
  const std::string nameless = parse_config("[x", "").error().message;
  CHECK(nameless.rfind("<config>:1:", 0) == 0);
}

TEST_CASE("config: wrong types and ranges carry line and column", "[config]") {
  CHECK(parse_err("[defaults]\nkeep_alive_tmo = \"5\"\n") ==
        "t.toml:2:18: keep_alive_tmo must be an integer number of seconds, got string");
  CHECK(parse_err("[defaults]\nreconnect_delay = 1.5\n") ==
        "t.toml:2:19: reconnect_delay must be an integer number of seconds, got float");
  CHECK(parse_err("[defaults]\nkeep_alive_tmo = 0\n") == "t.toml:2:18: keep_alive_tmo = 0 is out of range: use 1..3600 seconds");
  CHECK(parse_err("[defaults]\nctrl_loss_tmo = -2\n") ==
        "t.toml:2:17: ctrl_loss_tmo = -2 is out of range: use -1 (reconnect forever) or 0..31536000 seconds");
  CHECK(parse_err("[defaults]\nqueue_size = 4096\n") == "t.toml:2:14: queue_size = 4096 is out of range: use 2..1024");
  CHECK(parse_err("[defaults]\nio_threads = 0\n") == "t.toml:2:14: io_threads = 0 is out of range: use 1..64 threads");
  CHECK(parse_err("[defaults]\nstall_timeout = nan\n") ==
        "t.toml:2:17: stall_timeout = nan is out of range: use 0.001..600 seconds");
  CHECK(parse_err("[defaults]\nstall_timeout = true\n") ==
        "t.toml:2:17: stall_timeout must be a number of seconds, got boolean");
  CHECK(parse_err("[defaults]\nwrite_failover_delay = \"never\"\n") ==
        "t.toml:2:24: write_failover_delay must be \"auto\" (keep-alive timeout after the path was lost) or a number "
        "of seconds, got \"never\"");
  CHECK(parse_err("[defaults]\nmax_transfer = 5000\n") == "t.toml:2:16: max_transfer = 5000 must be a multiple of 4096 bytes");
  CHECK(parse_err("[defaults]\nhdr_digest = \"yes\"\n") == "t.toml:2:14: hdr_digest must be true or false, got string");
  CHECK(parse_err("[defaults]\npolicy = \"fastest\"\n") ==
        "t.toml:2:10: unknown path selection policy \"fastest\": use numa, round-robin or queue-depth");
  CHECK(parse_err("[defaults]\nno_path_retry = 0\n").rfind("t.toml:2:17: no_path_retry \"0\": use queue", 0) == 0);
  CHECK(parse_err("[defaults]\nno_path_retry = 1.5\n") ==
        "t.toml:2:17: no_path_retry must be \"queue\", \"fail\" or an integer number of seconds, got float");
  CHECK(parse_err("[host]\nhostnqn = \"host-1\"\n") ==
        "t.toml:2:11: hostnqn \"host-1\" must start with \"nqn.\" and be at most 223 bytes");
  CHECK(parse_err("[host]\nhostid = \"1234\"\n") ==
        "t.toml:2:10: hostid \"1234\" must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
  CHECK(parse_err("[daemon]\ncontrol_socket = \"ctl.sock\"\n") ==
        "t.toml:2:18: control_socket \"ctl.sock\" must be an absolute path");
  CHECK(parse_err("[daemon]\ncontrol_socket = \"/" + std::string(120, 'x') + "\"\n") ==
        "t.toml:2:18: control_socket is 121 bytes long; a Unix socket path may have at most 107");
  CHECK(parse_err("[[discovery]]\ntraddr = \"target.example\"\n") ==
        "t.toml:2:10: traddr \"target.example\" is not an IPv4 or IPv6 address (host names are not resolved)");
  CHECK(parse_err("[[discovery]]\ntraddr = \"10.0.0.1\\u0000x\"\n") == "t.toml:2:10: traddr must not contain a NUL character");
  CHECK(parse_err("[[discovery]]\ntraddr = \"10.0.0.1\"\ntrsvcid = \"8009\"\n") ==
        "t.toml:3:11: trsvcid must be an integer port number, got string");
  CHECK(parse_err("[[discovery]]\ntraddr = \"10.0.0.1\"\ntrsvcid = 0\n") ==
        "t.toml:3:11: trsvcid = 0 is out of range: use 1..65535");
  CHECK(parse_err("[[discovery]]\ntraddr = \"10.0.0.1\"\nhost_iface = \"eth 0\"\n") ==
        "t.toml:3:14: host_iface \"eth 0\" is not a network interface name (1..15 characters, no '/', ':' or spaces)");
}

TEST_CASE("config: unknown keys are refused with the known ones", "[config]") {
  CHECK(parse_err("[defaults]\nkeep_alive = 5\n") ==
        "t.toml:2:1: unknown key \"keep_alive\" in [defaults] (did you mean \"keep_alive_tmo\"?); known keys: policy, "
        "keep_alive_tmo, reconnect_delay, ctrl_loss_tmo, fast_io_fail_tmo, no_path_retry, write_failover_delay, "
        "io_timeout, stall_timeout, probe_timeout, queue_size, max_retries, max_transfer, hdr_digest, data_digest, "
        "io_threads");
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\npolcy = \"numa\"\n").rfind(
            "t.toml:3:1: unknown key \"polcy\" in [[subsystem]] (did you mean \"policy\"?); known keys: policy,", 0) == 0);
  // A key at the wrong level says where it belongs.
  CHECK(parse_err("keep_alive_tmo = 5\n") ==
        "t.toml:1:1: unknown key \"keep_alive_tmo\" in the top level (it belongs in [defaults] (or a [[subsystem]])); "
        "known keys: host, defaults, daemon, scsi, discovery, subsystem, export");
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\ntraddr = \"10.0.0.1\"\n").rfind(
            "t.toml:3:1: unknown key \"traddr\" in [[subsystem]] (it belongs in [[subsystem.path]] or [[discovery]])",
            0) == 0);
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\nio_threads = 4\n") ==
        "t.toml:3:1: io_threads is daemon-wide: set it in [defaults], not per [[subsystem]]");
  CHECK(parse_err("[subsystems]\n").rfind("t.toml:1:2: unknown key \"subsystems\" in the top level (did you mean "
                                           "\"subsystem\"?)",
                                           0) == 0);
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\n[[subsystem.path]]\ntraddr = \"10.0.0.1\"\nport = 4420\n")
            .rfind("t.toml:5:1: unknown key \"port\" in [[subsystem.path]]; known keys: traddr, trsvcid, host_traddr, "
                   "host_iface",
                   0) == 0);
  // Control characters in a quoted key are shown escaped.
  CHECK(parse_err("[defaults]\n\"a\\u0001\" = 1\n").rfind("t.toml:2:1: unknown key \"a\\x01\" in [defaults]; known", 0) ==
        0);
}

TEST_CASE("config: structure, required keys, duplicates and references", "[config]") {
  CHECK(parse_err("[subsystem]\nnqn = \"nqn.a:b\"\n") ==
        "t.toml:1:1: subsystem must be an array of tables: write [[subsystem]] for each one, got table");
  CHECK(parse_err("defaults = 5\n") == "t.toml:1:12: defaults must be a table ([defaults]), got integer");
  CHECK(parse_err("discovery = [1]\n") == "t.toml:1:14: each discovery entry must be a table ([[discovery]]), got integer");
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\n[[subsystem.path]]\ntrsvcid = 4420\n") ==
        "t.toml:3:1: [[subsystem.path]] needs traddr (the target's IPv4 or IPv6 address)");
  CHECK(parse_err("[[subsystem]]\n[[subsystem.path]]\ntraddr = \"10.0.0.1\"\n") ==
        "t.toml:1:1: [[subsystem]] needs nqn (the subsystem's NVMe Qualified Name)");
  CHECK(parse_err("[[subsystem]]\nnqn = \"iqn.2001-04.com.example\"\n") ==
        "t.toml:2:7: nqn \"iqn.2001-04.com.example\" must start with \"nqn.\" and be at most 223 bytes");
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.2014-08.org.nvmexpress.discovery\"\n") ==
        "t.toml:2:7: nqn is the discovery subsystem's NQN: configure discovery controllers as [[discovery]]");
  // The same address written two ways is the same path.
  CHECK(parse_err(R"([[subsystem]]
nqn = "nqn.a:b"
[[subsystem.path]]
traddr = "::1"
trsvcid = 4420
[[subsystem.path]]
traddr = "0::1"
)") == "t.toml:6:1: duplicate path [::1]:4420 in subsystem \"nqn.a:b\" (first at line 3)");
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\n[[subsystem]]\nnqn = \"nqn.a:b\"\n") ==
        "t.toml:4:7: subsystem \"nqn.a:b\" is configured twice (first at line 2): put all its paths in one "
        "[[subsystem]]");
  CHECK(parse_err("[[discovery]]\ntraddr = \"10.0.0.1\"\n[[discovery]]\ntraddr = \"10.0.0.1\"\ntrsvcid = 8009\n") ==
        "t.toml:3:1: duplicate [[discovery]] 10.0.0.1:8009 (first at line 1)");
  CHECK(parse_err("[[export]]\nname = \"x\"\nnqn = \"nqn.a:b\"\nnsid = 1\nunix_socket = \"/tmp/x.sock\"\n") ==
        "t.toml:3:7: export names subsystem \"nqn.a:b\", which no [[subsystem]] configures (add one; its paths may "
        "come from discovery)");
  const std::string sub = "[[subsystem]]\nnqn = \"nqn.a:b\"\n";
  CHECK(parse_err(sub + "[[export]]\nnqn = \"nqn.a:b\"\nnsid = 1\nunix_socket = \"/tmp/x.sock\"\n") ==
        "t.toml:3:1: [[export]] needs name (the NBD export name clients ask for)");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nunix_socket = \"/tmp/x.sock\"\n") ==
        "t.toml:3:1: [[export]] needs nqn + nsid, or wwid, to name the namespace it serves");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nnqn = \"nqn.a:b\"\nunix_socket = \"/tmp/x.sock\"\n") ==
        "t.toml:3:1: [[export]] with nqn needs nsid (the namespace ID)");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nnqn = \"nqn.a:b\"\nnsid = 1\n") ==
        "t.toml:3:1: [[export]] needs unix_socket (the path NBD clients connect to)");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nnqn = \"nqn.a:b\"\nnsid = 1\nwwid = \"uuid.1\"\nunix_socket = "
                        "\"/tmp/x.sock\"\n") ==
        "t.toml:7:8: an [[export]] names its namespace by nqn + nsid or by wwid, not both");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nnqn = \"nqn.a:b\"\nnsid = 0\nunix_socket = \"/tmp/x.sock\"\n") ==
        "t.toml:6:8: nsid = 0 is out of range: use 1..4294967294");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nwwid = \"naa.123\"\nunix_socket = \"/tmp/x.sock\"\n") ==
        "t.toml:5:8: wwid \"naa.123\" must be a namespace wwid as Linux shows it (uuid.…, eui.… or nvme.…)");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nwwid = \"eui.1\"\nunix_socket = \"/run/nvme-mpath/control.sock\"\n") ==
        "t.toml:6:15: unix_socket is the daemon's control_socket: give the export its own");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nwwid = \"eui.1\"\nunix_socket = \"/tmp/x.sock\"\ntcp_port = 70000\n") ==
        "t.toml:7:12: tcp_port = 70000 is out of range: use 1..65535");
  CHECK(parse_err(sub + "[[export]]\nname = \"x\"\nwwid = \"eui.1\"\nunix_socket = \"/tmp/x.sock\"\n"
                        "[[export]]\nname = \"x\"\nwwid = \"eui.2\"\nunix_socket = \"/tmp/x.sock\"\n") ==
        "t.toml:8:8: export name \"x\" is already used at line 4");
}

TEST_CASE("config: every problem is reported, in file order", "[config]") {
  const std::string msg = parse_err(R"([[subsystem]]
nqn = "nqn.a:b"
[[subsystem.path]]
traddr = "nowhere"
[defaults]
keep_alive_tmo = "5"
typo = 1
)");
  CHECK(msg ==
        "t.toml:4:10: traddr \"nowhere\" is not an IPv4 or IPv6 address (host names are not resolved)\n"
        "t.toml:6:18: keep_alive_tmo must be an integer number of seconds, got string\n"
        "t.toml:7:1: unknown key \"typo\" in [defaults]; known keys: policy, keep_alive_tmo, reconnect_delay, "
        "ctrl_loss_tmo, fast_io_fail_tmo, no_path_retry, write_failover_delay, io_timeout, stall_timeout, "
        "probe_timeout, queue_size, max_retries, max_transfer, hdr_digest, data_digest, io_threads");
  // A flood of problems is cut short.
  std::string many = "[defaults]\n";
  for (int i = 0; i < 30; ++i) many += "k" + std::to_string(i) + " = 1\n";
  const std::string flood = parse_err(many);
  CHECK(std::count(flood.begin(), flood.end(), '\n') == 20);
  CHECK(flood.substr(flood.rfind('\n') + 1) == "t.toml: ... and 10 more");
}

TEST_CASE("config: input that is not TOML at all is refused, never thrown", "[config]") {
  const std::string binary("\x00\xff\xfe[[\x01", 6);
  auto r = parse_config(binary, "bin");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Malformed);
  CHECK(r.error().message.rfind("bin:1:", 0) == 0);
  CHECK_FALSE(parse_config(std::string(2 << 20, ' '), "big"));
  CHECK_FALSE(parse_config(std::string(300, '[') + std::string(300, ']'), "deep"));
  CHECK_FALSE(parse_config("a = " + std::string(1000, '[') + std::string(1000, ']'), "deep"));
}

TEST_CASE("config: discovery.conf lines", "[config]") {
  auto r = parse_discovery_conf(R"(# nvme-cli discovery.conf
-t tcp -a 192.0.2.10 -s 8009

--transport=tcp --traddr=fe80::1%lo --host-iface=lo   # a comment after options
  -t tcp -a 192.0.2.11 -w 192.0.2.1 -q nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0 -I 5a7e0000-0000-4000-8000-00000000b0b0 -p
-ttcp -a192.0.2.12 -s4430 -n nqn.2014-08.org.nvmexpress.discovery
)",
                                "/etc/nvme/discovery.conf");
  if (!r) FAIL(r.error().message);
  REQUIRE(r->size() == 4);
  CHECK((*r)[0].endpoint.traddr == "192.0.2.10");
  CHECK((*r)[0].endpoint.trsvcid == 8009);
  CHECK((*r)[0].persistent);
  CHECK((*r)[0].origin == "/etc/nvme/discovery.conf:2");
  CHECK((*r)[1].endpoint.traddr == "fe80::1%lo");
  CHECK((*r)[1].endpoint.trsvcid == 8009);
  CHECK((*r)[1].endpoint.host_iface == "lo");
  CHECK((*r)[2].endpoint.host_traddr == "192.0.2.1");
  CHECK((*r)[2].hostnqn == "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0");
  CHECK((*r)[2].hostid == "5a7e0000-0000-4000-8000-00000000b0b0");
  CHECK((*r)[3].endpoint.traddr == "192.0.2.12");
  CHECK((*r)[3].endpoint.trsvcid == 4430);

  auto err = [](std::string_view text) {
    auto e = parse_discovery_conf(text, "d.conf");
    REQUIRE_FALSE(e);
    CHECK(e.error().code == Errc::InvalidArgument);
    return e.error().message;
  };
  CHECK(err("-t rdma -a 10.0.0.1\n") == "d.conf:1:1: transport \"rdma\" is not supported: nvme-mpath speaks tcp only");
  CHECK(err("\n-t tcp -a 10.0.0.1 -s 99999\n") == "d.conf:2:20: trsvcid \"99999\" must be a port number 1..65535");
  CHECK(err("-t tcp -s 8009\n") == "d.conf:1:1: missing -a ADDR (the discovery controller's address)");
  CHECK(err("-a 10.0.0.1\n") == "d.conf:1:1: missing -t tcp (nvme-cli requires the transport)");
  CHECK(err("-t tcp -a 10.0.0.1 -k 5\n") ==
        "d.conf:1:20: option \"-k\" is not supported per discovery controller; set keep_alive_tmo in [defaults] of "
        "the TOML configuration");
  CHECK(err("-t tcp -a 10.0.0.1 --bogus\n").rfind("d.conf:1:20: unknown option \"--bogus\"; known: -t/--transport", 0) ==
        0);
  CHECK(err("-t tcp -a 10.0.0.1 extra\n") ==
        "d.conf:1:20: unexpected \"extra\": a line holds nvme-cli options such as -t tcp -a ADDR -s PORT");
  CHECK(err("-t tcp -a\n") == "d.conf:1:8: \"-a\" needs a value");
  CHECK(err("-t tcp -a 10.0.0.1 -a 10.0.0.2\n") == "d.conf:1:20: option --traddr is given twice");
  CHECK(err("-t tcp -a 10.0.0.1 --persistent=yes\n") == "d.conf:1:20: \"--persistent=yes\" takes no value");
  CHECK(err("-t tcp -a nowhere.example\n") ==
        "d.conf:1:8: traddr \"nowhere.example\" is not an IPv4 or IPv6 address (host names are not resolved)");
  CHECK(err("-t tcp -a 10.0.0.1\n-t tcp -a 10.0.0.1 -s 8009\n") ==
        "d.conf:2:1: duplicate discovery controller 10.0.0.1:8009 (first at line 1)");
  CHECK(err("-t tcp -a 10.0.0.1 -n nqn.2026-01.io.example:disc\n").rfind("d.conf:1:20: nqn \"nqn.2026-01.io.example:disc\" "
                                                                        "is not supported",
                                                                        0) == 0);
  // Both lines' problems, in order.
  CHECK(err("-t fc -a 10.0.0.1\n-t tcp\n") ==
        "d.conf:1:1: transport \"fc\" is not supported: nvme-mpath speaks tcp only\n"
        "d.conf:2:1: missing -a ADDR (the discovery controller's address)");
  auto empty = parse_discovery_conf("# nothing\n\n   \n", "d.conf");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("config: load_config reads the file and the discovery.conf it names", "[config]") {
  TempDir dir;
  const std::string conf = dir.write("discovery.conf", "-t tcp -a 10.0.0.1 -s 8009\n-t tcp -a 10.0.0.2\n");
  const std::string toml = dir.write("a.toml", "[daemon]\ndiscovery_conf = \"" + conf +
                                                   "\"\n[[discovery]]\ntraddr = \"10.0.0.1\"\npersistent = false\n");
  auto c = load_config(toml);
  if (!c) FAIL(c.error().message);
  CHECK(c->source == toml);
  REQUIRE(c->discovery.size() == 2);  // 10.0.0.1:8009 is in both: the TOML entry wins
  CHECK(c->discovery[0].endpoint.traddr == "10.0.0.1");
  CHECK_FALSE(c->discovery[0].persistent);
  CHECK(c->discovery[1].endpoint.traddr == "10.0.0.2");
  CHECK(c->discovery[1].origin == conf + ":2");

  auto missing = load_config((dir.path / "nope.toml").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::NotFound);
  CHECK(missing.error().message == (dir.path / "nope.toml").string() + ": cannot open: No such file or directory");

  auto is_dir = load_config(dir.path.string());
  REQUIRE_FALSE(is_dir);
  CHECK(is_dir.error().code == Errc::Io);
  CHECK(is_dir.error().message == dir.path.string() + ": cannot read: Is a directory");

  const std::string bad_ref = dir.write("b.toml", "[daemon]\ndiscovery_conf = \"" + dir.path.string() + "/none.conf\"\n");
  auto r = load_config(bad_ref);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == dir.path.string() + "/none.conf: cannot open: No such file or directory, named by "
                                                 "discovery_conf in " + bad_ref);

  const std::string bad_conf = dir.write("bad.conf", "-t tcp\n");
  const std::string c_toml = dir.write("c.toml", "[daemon]\ndiscovery_conf = \"" + bad_conf + "\"\n");
  auto rc = load_config(c_toml);
  REQUIRE_FALSE(rc);
  CHECK(rc.error().message == bad_conf + ":1:1: missing -a ADDR (the discovery controller's address)");

  const std::string broken = dir.write("broken.toml", "\n\n[defaults]\nqueue_size = 0\n");
  auto rb = load_config(broken);
  REQUIRE_FALSE(rb);
  CHECK(rb.error().message == broken + ":4:14: queue_size = 0 is out of range: use 2..1024");
}

TEST_CASE("config: same_endpoint compares addresses, not spellings", "[config]") {
  CHECK(same_endpoint({"::1", 4420, "", ""}, {"0::1", 4420, "", ""}));
  CHECK(same_endpoint({"127.0.0.1", 4420, "", "lo"}, {"127.0.0.1", 4420, "", "lo"}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.1", 4421, "", ""}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.1", 4420, "", "lo"}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.1", 4420, "127.0.0.1", ""}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.2", 4420, "", ""}));
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
                          "io_threads", "control_socket", "discovery_conf", "traddr", "trsvcid", "host_traddr",
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
