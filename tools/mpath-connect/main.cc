// mpath-connect: the command line of nvme-mpath, with nvme-cli's flag names.
//   mpath-connect discover -t tcp -a ADDR [-s PORT] [-q HOSTNQN] [-I HOSTID] [--tls --tls-key-file F]
//                          [-o normal|json]
//   mpath-connect bench -t tcp (-a ADDR -s PORT [--connect-all] | --path ADDR:PORT ...) -n SUBNQN
//                       [--nsid 1] [-w WORKLOAD] [--bs 4k] [--iodepth 32] [--threads N] [--time 10]
//                       [--policy queue-depth] [--keep-alive-tmo S] [--reconnect-delay S]
//                       [--ctrl-loss-tmo S] [--fast-io-fail-tmo S] [--no-path-retry queue|fail|S]
//                       [--digest] [--poll interrupt|hybrid|busy] [-o normal|json]
#include <charconv>
#include <cstdio>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench.h"
#include "common/log.h"
#include "daemon_cmds.h"
#include "dhchap_args.h"
#include "tls_args.h"
#include "demo_cmd.h"
#include "discover_cmd.h"
#include "auth/dhchap_key_impl.h"
#include "multipath/tls_options.h"
#include "nvmemp/mpath.h"

using namespace nvmemp;

namespace {

struct Common {
  std::string transport = "tcp";
  std::string traddr;
  int trsvcid = 0;
  std::string host_traddr;
  std::string host_iface;
  std::string hostnqn;
  std::string hostid;
  std::string output = "normal";
  int keep_alive_tmo = -1;  // seconds; -1: the command's default
  bool digest = false;
  tools::DhchapArgs dhchap;
  tools::TlsArgs tls;
};

void add_common(CLI::App* c, Common& o, bool need_addr, bool need_port) {
  c->add_option("-t,--transport", o.transport, "transport type (tcp)")->check(CLI::IsMember({"tcp"}));
  auto* addr = c->add_option("-a,--traddr", o.traddr, "target address (IPv4 or IPv6)");
  if (need_addr) addr->required();
  auto* port = c->add_option("-s,--trsvcid", o.trsvcid, "target port (discover: 8009 when not given)")
                   ->check(CLI::Range(1, 65535));
  if (need_port) port->required();
  c->add_option("--host-traddr", o.host_traddr, "local address to connect from");
  c->add_option("-f,--host-iface", o.host_iface, "local interface to connect through");
  c->add_option("-q,--hostnqn", o.hostnqn, "host NQN (default: /etc/nvme/hostnqn)");
  c->add_option("-I,--hostid", o.hostid, "host ID, a UUID (default: /etc/nvme/hostid)");
  c->add_option("-o,--output-format", o.output, "normal or json")->check(CLI::IsMember({"normal", "json"}));
  c->add_option("-k,--keep-alive-tmo", o.keep_alive_tmo, "keep-alive timeout in seconds")->check(CLI::Range(0, 3600));
  tools::add_dhchap_options(c, o.dhchap);
  tools::add_tls_options(c, o.tls);
}

Result<controller::ControllerOptions> controller_options(Common& o, std::uint16_t default_port) {
  controller::HostIdentityOptions ho;
  if (!o.hostnqn.empty()) ho.hostnqn = o.hostnqn;
  if (!o.hostid.empty()) ho.hostid = o.hostid;
  auto host = controller::load_host_identity(ho);
  if (!host) return tl::unexpected(host.error());
  if (!host->hint.empty()) {
    std::fprintf(stderr, "mpath-connect: %s\n", host->hint.c_str());
  }
  controller::ControllerOptions c;
  c.endpoint = transport::TcpEndpoint{o.traddr, static_cast<std::uint16_t>(o.trsvcid != 0 ? o.trsvcid : default_port),
                                      o.host_traddr, o.host_iface};
  c.host = *host;
  c.hdgst = c.ddgst = o.digest;
  c.connect_timeout = std::chrono::milliseconds(5000);
  c.admin_timeout = std::chrono::milliseconds(10000);
  if (o.keep_alive_tmo >= 0) c.kato = std::chrono::seconds(o.keep_alive_tmo);
  auto keys = tools::load_dhchap_args(o.dhchap);
  if (!keys) return tl::unexpected(keys.error());
  if (!keys->host.empty()) {
    auto k = auth::make_dhchap_keys(keys->host.impl()->secret, keys->ctrl.empty() ? nullptr : &keys->ctrl.impl()->secret,
                                    c.host.hostnqn, controller::kDiscoveryNqn);
    if (!k) return tl::unexpected(k.error());
    c.dhchap = std::move(*k);
  }
  return c;
}

std::uint32_t parse_size_or_throw(const std::string& s) {
  std::size_t pos = 0;
  const unsigned long long v = std::stoull(s, &pos);
  unsigned long long mult = 1;
  const std::string suffix = s.substr(pos);
  if (suffix.empty() || suffix == "b") mult = 1;
  else if (suffix == "k" || suffix == "K") mult = 1024;
  else if (suffix == "m" || suffix == "M") mult = 1024 * 1024;
  else throw std::invalid_argument("bad size suffix '" + suffix + "' (use k or m)");
  if (v == 0 || v * mult > (64u << 20)) throw std::out_of_range("size out of range (1 byte .. 64 MiB)");
  return static_cast<std::uint32_t>(v * mult);
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "mpath-connect: %s\n", msg.c_str());
  return 1;
}

int run_discover(Common& o) {
  auto c = controller_options(o, discovery::kDefaultDiscoveryPort);
  if (!c) return fail(c.error().message);
  discovery::DiscoveryOptions d;
  d.controller = *c;
  // --tls: the discovery controllers over TLS, with the TLS PSK for the discovery NQN.
  FabricOptions tls;
  if (auto t = tools::load_tls_args(o.tls, tls); !t) return fail(t.error().message);
  auto psk = multipath::tls_psk_for(tls, c->host.hostnqn, controller::kDiscoveryNqn,
                                    fmt::format("discovery controller {}", transport::endpoint_name(c->endpoint)));
  if (!psk) return fail(psk.error().message);
  if (tls.tls) d.controller.tls = *psk;
  d.referral_tls = *psk;
  if (o.keep_alive_tmo < 0) d.controller.kato = std::chrono::milliseconds(0);  // as the kernel for a one-shot read
  auto r = tools::discover(d);
  if (!r) return fail(r.error().message);
  std::fputs((o.output == "json" ? tools::discovery_json(*r) + "\n" : tools::discovery_text(*r)).c_str(), stdout);
  return 0;
}

struct MpathOpts {
  bool connect_all = false;
  std::vector<std::string> paths;  // ADDR:PORT, [v6]:PORT
  std::string policy = "queue-depth";
  double reconnect_delay = 10;
  double ctrl_loss_tmo = 600;
  double fast_io_fail_tmo = -1;  // off
  std::string no_path_retry = "queue";
  double io_timeout = 30;
  double stall_timeout = 0.3;
  double probe_timeout = 1;
  double write_failover_delay = -1;  // unset: the safe default
  std::string poll = "interrupt";
};

Result<Endpoint> parse_path(const std::string& text, const Common& o) {
  Endpoint ep;
  ep.host_traddr = o.host_traddr;
  ep.host_iface = o.host_iface;
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error(Errc::InvalidArgument, fmt::format("--path {}: use [IPv6]:PORT", text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return make_error(Errc::InvalidArgument, fmt::format("--path {}: use ADDR:PORT (IPv6 as [ADDR]:PORT)", text));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned n = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (host.empty() || ec != std::errc() || p != port.data() + port.size() || n == 0 || n > 65535) {
    return make_error(Errc::InvalidArgument, fmt::format("--path {}: the port must be 1..65535", text));
  }
  ep.traddr = host;
  ep.trsvcid = static_cast<std::uint16_t>(n);
  return ep;
}

std::chrono::seconds whole_seconds(double s) { return std::chrono::seconds(static_cast<long long>(s)); }
std::chrono::milliseconds millis(double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000.0 + 0.5)); }

Result<FabricOptions> fabric_options(Common& o, const MpathOpts& m) {
  FabricOptions f;
  auto keys = tools::load_dhchap_args(o.dhchap);
  if (!keys) return tl::unexpected(keys.error());
  f.dhchap_secret = std::move(keys->host);
  f.dhchap_ctrl_secret = std::move(keys->ctrl);
  if (auto t = tools::load_tls_args(o.tls, f); !t) return tl::unexpected(t.error());
  f.hostnqn = o.hostnqn;
  f.hostid = o.hostid;
  if (o.keep_alive_tmo >= 0) f.keep_alive_tmo = std::chrono::seconds(o.keep_alive_tmo);
  f.reconnect_delay = whole_seconds(m.reconnect_delay);
  f.ctrl_loss_tmo = whole_seconds(m.ctrl_loss_tmo);
  if (m.fast_io_fail_tmo >= 0) f.fast_io_fail_tmo = whole_seconds(m.fast_io_fail_tmo);
  auto np = parse_no_path_retry(m.no_path_retry);
  if (!np) return tl::unexpected(np.error());
  f.no_path_retry = *np;
  auto pol = parse_io_policy(m.policy);
  if (!pol) return tl::unexpected(pol.error());
  f.policy = *pol;
  f.io_timeout = millis(m.io_timeout);
  f.stall_timeout = millis(m.stall_timeout);
  f.probe_timeout = millis(m.probe_timeout);
  if (m.write_failover_delay >= 0) f.write_failover_delay = millis(m.write_failover_delay);
  f.hdr_digest = f.data_digest = o.digest;
  auto pm = parse_poll_mode(m.poll);
  if (!pm) return tl::unexpected(pm.error());
  f.poll_mode = *pm;
  return f;
}

int run_bench(Common& o, const MpathOpts& m, const std::string& nqn, tools::BenchOptions b) {
  auto f = fabric_options(o, m);
  if (!f) return fail(f.error().message);
  tools::BenchTarget t;
  t.subnqn = nqn;
  t.connect_all = m.connect_all;
  if (m.connect_all || m.paths.empty()) {
    if (o.traddr.empty()) return fail("bench: give -a/--traddr (with -s), or --path ADDR:PORT");
    Endpoint ep{o.traddr, static_cast<std::uint16_t>(o.trsvcid != 0 ? o.trsvcid : (m.connect_all ? 8009 : 4420)),
                o.host_traddr, o.host_iface};
    if (m.connect_all) {
      t.discovery = ep;
    } else {
      t.paths.push_back(ep);
    }
  }
  for (const auto& p : m.paths) {
    auto ep = parse_path(p, o);
    if (!ep) return fail(ep.error().message);
    t.paths.push_back(*ep);
  }
  const bool tty = o.output != "json" && ::isatty(STDOUT_FILENO) != 0;
  auto r = tools::run_bench(*f, t, b, [&](std::uint64_t ios, double secs) {
    if (tty && secs > 0) {
      std::fprintf(stdout, "\r[%4.0fs] %10.0f IOPS %9.1f MiB/s", secs, static_cast<double>(ios) / secs,
                   static_cast<double>(ios) / secs * b.bs / (1024.0 * 1024.0));
      std::fflush(stdout);
    }
  });
  if (tty) std::fputs("\n", stdout);
  if (!r) return fail(r.error().message);
  if (o.output == "json") {
    nlohmann::ordered_json paths = nlohmann::ordered_json::array();
    for (const auto& p : r->paths) {
      paths.push_back({{"traddr", p.traddr}, {"trsvcid", p.trsvcid}, {"cntlid", p.cntlid}, {"ana_state", p.ana_state},
                       {"state", p.state}, {"ios", p.ios}, {"errors", p.errors}, {"failovers", p.failovers},
                       {"stalls", p.stalls}, {"reconnects", p.reconnects},
                       {"auth", p.auth}});
    }
    nlohmann::ordered_json stalls = nlohmann::ordered_json::array();
    for (const auto& s : r->stalls) stalls.push_back({{"at_s", s.at_s}, {"ms", s.ms}});
    nlohmann::ordered_json j = {{"workload", tools::workload_name(b.workload)},
                        {"bs", b.bs},
                        {"iodepth", b.iodepth},
                        {"threads", b.threads},
                        {"wwid", r->wwid},
                        {"policy", r->policy},
                        {"poll", m.poll},
                        {"ios", r->ios},
                        {"iops", r->iops},
                        {"mib_s", r->mib_s},
                        {"lat_us",
                         {{"avg", r->lat_avg_us}, {"p50", r->lat_p50_us}, {"p99", r->lat_p99_us},
                          {"p999", r->lat_p999_us}, {"max", r->lat_max_us}}},
                        {"lat_percentiles_us", r->lat_percentiles_us},  // [[percentile, us], ...]
                        {"cpu_s", r->cpu_s},
                        {"errors", r->errors},
                        {"verify_failures", r->verify_failures},
                        {"failovers", r->failovers},
                        {"retries", r->retries},
                        {"start_unix_ms", r->start_unix_ms},
                        {"max_stall_ms", r->max_stall_ms},
                        {"stalls", stalls},
                        {"paths", paths},
                        {"seconds", r->seconds}};
    if (!r->first_error.empty()) j["first_error"] = r->first_error;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s bs=%u iodepth=%u threads=%u policy=%s poll=%s wwid=%s\n", tools::workload_name(b.workload), b.bs,
                b.iodepth, b.threads, r->policy.c_str(), m.poll.c_str(), r->wwid.c_str());
    std::printf("  ios=%llu iops=%.0f bw=%.1f MiB/s errors=%llu verify_failures=%llu\n",
                static_cast<unsigned long long>(r->ios), r->iops, r->mib_s, static_cast<unsigned long long>(r->errors),
                static_cast<unsigned long long>(r->verify_failures));
    std::printf("  lat (us): avg=%.1f p50=%.1f p99=%.1f p99.9=%.1f max=%.1f\n", r->lat_avg_us, r->lat_p50_us,
                r->lat_p99_us, r->lat_p999_us, r->lat_max_us);
    std::printf("  cpu=%.2f s (%.1f s per million I/Os)\n", r->cpu_s,
                r->ios == 0 ? 0.0 : r->cpu_s * 1e6 / static_cast<double>(r->ios));
    std::printf("  failovers=%llu retries=%llu max_stall=%.1f ms\n", static_cast<unsigned long long>(r->failovers),
                static_cast<unsigned long long>(r->retries), r->max_stall_ms);
    for (const auto& p : r->paths) {
      std::printf("  path %s:%u cntlid %u %s ana=%s auth=%s tls=%s ios=%llu errors=%llu failovers=%llu stalls=%llu "
                  "reconnects=%llu\n",
                  p.traddr.c_str(), p.trsvcid, p.cntlid, p.state.c_str(), p.ana_state.c_str(), p.auth.c_str(),
                  p.tls.substr(p.tls.rfind(' ') + 1).c_str(),
                  static_cast<unsigned long long>(p.ios), static_cast<unsigned long long>(p.errors),
                  static_cast<unsigned long long>(p.failovers), static_cast<unsigned long long>(p.stalls),
                  static_cast<unsigned long long>(p.reconnects));
    }
    if (!r->first_error.empty()) std::printf("  first error: %s\n", r->first_error.c_str());
  }
  return (r->errors == 0 && r->verify_failures == 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mpath-connect: NVMe/TCP multipath initiator command line (nvme-mpath)"};
  app.require_subcommand(1);
  Common dopt;
  auto* disc = app.add_subcommand("discover", "read the discovery log of a discovery controller, referrals followed");
  add_common(disc, dopt, true, false);

  Common bopt;
  std::string nqn;
  std::string workload = "randread";
  std::string bs = "4k";
  tools::BenchOptions b;
  auto* bench = app.add_subcommand("bench", "fio-like load on one namespace over one or more paths");
  add_common(bench, bopt, false, false);
  MpathOpts mo;
  bench->add_flag("--connect-all", mo.connect_all,
                  "discover from -a/-s (default port 8009) and connect every path of -n");
  bench->add_option("--path", mo.paths, "a path ADDR:PORT ([IPv6]:PORT); repeat for more paths");
  bench->add_option("--policy", mo.policy, "numa, round-robin or queue-depth")
      ->check(CLI::IsMember({"numa", "round-robin", "queue-depth"}));
  bench->add_option("--reconnect-delay", mo.reconnect_delay, "seconds between reconnect attempts (10)")
      ->check(CLI::Range(1.0, 3600.0));
  bench->add_option("--ctrl-loss-tmo", mo.ctrl_loss_tmo, "seconds before a lost controller is given up (600; -1 never)")
      ->check(CLI::Range(-1.0, 31536000.0));
  bench->add_option("--fast-io-fail-tmo", mo.fast_io_fail_tmo, "seconds after which held I/O fails (off)")
      ->check(CLI::Range(0.0, 31536000.0));
  bench->add_option("--no-path-retry", mo.no_path_retry, "queue, fail or seconds: I/O with no usable path (queue)");
  bench->add_option("--io-timeout", mo.io_timeout, "seconds a command may take before its queue is reset (30)")
      ->check(CLI::Range(1.0, 3600.0));
  bench->add_option("--stall-timeout", mo.stall_timeout,
                    "seconds without an answer before a queue is suspected (0.3)")
      ->check(CLI::Range(0.05, 60.0));
  bench->add_option("--write-failover-delay", mo.write_failover_delay,
                    "seconds a write lost with its connection waits (default: keep-alive timeout, safe)")
      ->check(CLI::Range(0.0, 3600.0));
  bench->add_option("-n,--nqn", nqn, "subsystem NQN")->required();
  bench->add_option("--nsid", b.nsid, "namespace ID")->check(CLI::Range(1u, 0xFFFFFFFEu));
  bench->add_option("-w,--rw", workload, "randread, randwrite, read, write, randrw or verify");
  bench->add_option("--bs", bs, "block size (4k, 128k, 1m)");
  bench->add_option("--iodepth", b.iodepth, "commands in flight per thread")->check(CLI::Range(1u, 1024u));
  bench->add_option("--threads", b.threads, "I/O threads, one queue each")->check(CLI::Range(1u, 64u));
  bench->add_option("--time", b.seconds, "seconds to run")->check(CLI::Range(0.1, 86400.0));
  bench->add_flag("--digest", bopt.digest, "header and data digests");
  bench->add_option("--poll", mo.poll, "how each I/O thread waits: interrupt (least CPU), hybrid or busy (lowest latency)")
      ->check(CLI::IsMember({"interrupt", "hybrid", "busy"}));
  bench->add_option("--seed", b.seed, "verify pattern seed (default: from the clock)");

  // Commands served by nvme-mpathd through its control socket.
  std::string socket = tools::kDefaultControlSocket;
  std::string dout = "normal";
  auto daemon_cmd = [&](const char* name, const char* help, bool listing) {
    auto* c = app.add_subcommand(name, help);
    c->add_option("--socket", socket, "nvme-mpathd control socket")->capture_default_str();
    if (listing) c->add_option("-o,--output-format", dout, "normal or json")->check(CLI::IsMember({"normal", "json"}));
    return c;
  };
  auto* list = daemon_cmd("list", "namespace heads and their paths with ANA state (nvme-mpathd)", true);
  auto* topo = daemon_cmd("show-topology", "the same as list: subsystems -> namespace heads -> paths", true);
  bool prometheus = false;
  auto* stats = daemon_cmd("stats", "per path and per namespace head counters (nvme-mpathd)", true);
  stats->add_flag("--prometheus", prometheus, "Prometheus text exposition format");
  Common copt;
  std::string cnqn;
  auto* conn = daemon_cmd("connect", "connect one path of a subsystem (nvme-mpathd; root)", false);
  conn->add_option("-t,--transport", copt.transport, "transport type (tcp)")->check(CLI::IsMember({"tcp"}));
  conn->add_option("-a,--traddr", copt.traddr, "target address")->required();
  conn->add_option("-s,--trsvcid", copt.trsvcid, "target port (4420)")->check(CLI::Range(1, 65535));
  conn->add_option("-n,--nqn", cnqn, "subsystem NQN")->required();
  conn->add_option("--host-traddr", copt.host_traddr, "local address to connect from");
  conn->add_option("-f,--host-iface", copt.host_iface, "local interface to connect through");
  Common aopt;
  std::string anqn;
  auto* conn_all = daemon_cmd("connect-all", "discover and connect every path of a subsystem (nvme-mpathd; root)", false);
  conn_all->add_option("-t,--transport", aopt.transport, "transport type (tcp)")->check(CLI::IsMember({"tcp"}));
  conn_all->add_option("-a,--traddr", aopt.traddr, "discovery controller address")->required();
  conn_all->add_option("-s,--trsvcid", aopt.trsvcid, "discovery controller port (8009)")->check(CLI::Range(1, 65535));
  conn_all->add_option("-n,--nqn", anqn, "subsystem NQN to connect")->required();
  // disconnect, reauth and reset name one path (-d) or every path of a subsystem (-n).
  struct ByPath {
    CLI::App* cmd = nullptr;
    std::string nqn;
    int path = 0;
  };
  auto by_path_cmd = [&](ByPath& bp, const char* name, const char* help) {
    bp.cmd = daemon_cmd(name, help, false);
    auto* n = bp.cmd->add_option("-n,--nqn", bp.nqn, "subsystem NQN");
    auto* d = bp.cmd->add_option("-d,--path", bp.path, "path id (from list -o json or stats)")->check(CLI::Range(1, 65535));
    n->excludes(d);
  };
  ByPath disconn, reauth, reset;
  by_path_cmd(disconn, "disconnect", "disconnect every path of a subsystem, or one path (nvme-mpathd; root)");
  by_path_cmd(reauth, "reauth", "renew the in-band authentication (DH-HMAC-CHAP) of every path of a subsystem, "
                                "or of one path (nvme-mpathd; root)");
  by_path_cmd(reset, "reset", "reset the controller of one path, or of every path of a subsystem one after the "
                              "other, as nvme reset does: reconnect at once (nvme-mpathd; root)");
  std::string pnqn;
  std::string policy;
  auto* setpol = daemon_cmd("set-policy", "set the path selection policy of a subsystem (nvme-mpathd; root)", false);
  setpol->add_option("-n,--nqn", pnqn, "subsystem NQN")->required();
  setpol->add_option("policy", policy, "numa, round-robin or queue-depth")
      ->required()
      ->check(CLI::IsMember({"numa", "round-robin", "queue-depth"}));
  auto* reload = daemon_cmd("reload", "make nvme-mpathd re-read its configuration (root)", false);
  auto* demo = app.add_subcommand("demo", "the simulated target, nvme-mpathd and I/O through its NBD export: topology, failovers");

  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log connection and controller events to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  set_log_level(verbose ? LogLevel::Info : LogLevel::Warn);
  if (*disc) return run_discover(dopt);
  if (*demo) return tools::run_demo(verbose);
  const bool json = dout == "json";
  if (*list || *topo) return tools::daemon_command(socket, {{"cmd", "list"}}, json);
  if (*stats) {
    nlohmann::json r = {{"cmd", "stats"}};
    if (prometheus) r["format"] = "prometheus";
    return tools::daemon_command(socket, r, json && !prometheus);
  }
  if (*conn) {
    return tools::daemon_command(socket, {{"cmd", "connect"}, {"traddr", copt.traddr},
                                          {"trsvcid", copt.trsvcid != 0 ? copt.trsvcid : 4420}, {"nqn", cnqn},
                                          {"host_traddr", copt.host_traddr}, {"host_iface", copt.host_iface}},
                                 false);
  }
  if (*conn_all) {
    return tools::daemon_command(socket, {{"cmd", "connect-all"}, {"traddr", aopt.traddr},
                                          {"trsvcid", aopt.trsvcid != 0 ? aopt.trsvcid : 8009}, {"nqn", anqn}},
                                 false);
  }
  auto by_path = [&](const char* cmd, const ByPath& bp) {
    if (bp.nqn.empty() && bp.path == 0) {
      std::fprintf(stderr, "mpath-connect: %s: give -n NQN or -d PATH\n", cmd);
      return 2;
    }
    nlohmann::json r = {{"cmd", cmd}};
    if (bp.path != 0) {
      r["path"] = bp.path;
    } else {
      r["nqn"] = bp.nqn;
    }
    return tools::daemon_command(socket, r, false);
  };
  if (*disconn.cmd) return by_path("disconnect", disconn);
  if (*reauth.cmd) return by_path("reauth", reauth);
  if (*reset.cmd) return by_path("reset", reset);
  if (*setpol) return tools::daemon_command(socket, {{"cmd", "set-policy"}, {"nqn", pnqn}, {"policy", policy}}, false);
  if (*reload) return tools::daemon_command(socket, {{"cmd", "reload"}}, false);
  try {
    b.bs = parse_size_or_throw(bs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpath-connect: --bs %s: %s\n", bs.c_str(), e.what());
    return 2;
  }
  auto w = tools::parse_workload(workload);
  if (!w) {
    std::fprintf(stderr, "mpath-connect: -w: %s\n", w.error().message.c_str());
    return 2;
  }
  b.workload = *w;
  return run_bench(bopt, mo, nqn, b);
}
