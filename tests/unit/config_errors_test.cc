// nvme-mpathd's TOML configuration (tools/nvme-mpathd/config.h) refused: each kind of error with
// its exact file:line:col (syntax, types and ranges, unknown keys, structure and references),
// every problem reported in file order, and input that is not TOML at all.
#include "config.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace nvmemp::mpathd {
namespace {

// The whole error message of a text that must be refused with `code`.
std::string parse_err(std::string_view text, Errc code = Errc::InvalidArgument) {
  auto r = parse_config(text, "t.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == code);
  return r.error().message;
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
        "io_threads, poll");
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\npolcy = \"numa\"\n").rfind(
            "t.toml:3:1: unknown key \"polcy\" in [[subsystem]] (did you mean \"policy\"?); known keys: policy,", 0) == 0);
  // A key at the wrong level says where it belongs.
  CHECK(parse_err("keep_alive_tmo = 5\n") ==
        "t.toml:1:1: unknown key \"keep_alive_tmo\" in the top level (it belongs in [defaults] (or a [[subsystem]])); "
        "known keys: host, defaults, daemon, scsi, discovery, subsystem, export");
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\ntraddr = \"10.0.0.1\"\n").rfind(
            "t.toml:3:1: unknown key \"traddr\" in [[subsystem]] (it belongs in [[subsystem.path]] or [[discovery]])",
            0) == 0);
  CHECK(parse_err("[defaults]\npoll = \"spin\"\n") ==
        "t.toml:2:8: unknown poll mode 'spin': interrupt, hybrid or busy");
  CHECK(parse_err("[defaults]\npoll = 1\n").rfind("t.toml:2:8: poll", 0) == 0);
  CHECK(parse_err("[[subsystem]]\nnqn = \"nqn.a:b\"\npoll = \"busy\"\n") ==
        "t.toml:3:1: poll is daemon-wide (one ring serves every subsystem): set it in [defaults], not per [[subsystem]]");
  CHECK(parse_err("poll = \"busy\"\n").rfind(
            "t.toml:1:1: unknown key \"poll\" in the top level (it belongs in [defaults]);", 0) == 0);
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
        "probe_timeout, queue_size, max_retries, max_transfer, hdr_digest, data_digest, io_threads, poll");
  // A flood of problems is cut short.
  std::string many = "[defaults]\n";
  // fmt, not "k" + std::to_string(i) + ...: GCC 12 at -O3 reports a false -Wrestrict in
  // the inlined operator+ of that form (a Release build failed on it).
  for (int i = 0; i < 30; ++i) many += fmt::format("k{} = 1\n", i);
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

}  // namespace
}  // namespace nvmemp::mpathd
