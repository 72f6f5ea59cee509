// mpath-connect: the command line of nvme-mpath, with nvme-cli's flag names.
//   mpath-connect discover -t tcp -a ADDR [-s PORT] [-q HOSTNQN] [-I HOSTID] [-o normal|json]
//   mpath-connect bench -t tcp -a ADDR -s PORT -n SUBNQN [--nsid 1] [-w WORKLOAD] [--bs 4k]
//                       [--iodepth 32] [--threads N] [--time 10] [--digest] [-o normal|json]
#include <cstdio>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench.h"
#include "common/log.h"
#include "discover_cmd.h"

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
};

void add_common(CLI::App* c, Common& o, bool need_port) {
  c->add_option("-t,--transport", o.transport, "transport type (tcp)")->check(CLI::IsMember({"tcp"}));
  c->add_option("-a,--traddr", o.traddr, "target address (IPv4 or IPv6)")->required();
  auto* port = c->add_option("-s,--trsvcid", o.trsvcid, "target port (discover: 8009 when not given)")
                   ->check(CLI::Range(1, 65535));
  if (need_port) port->required();
  c->add_option("--host-traddr", o.host_traddr, "local address to connect from");
  c->add_option("-f,--host-iface", o.host_iface, "local interface to connect through");
  c->add_option("-q,--hostnqn", o.hostnqn, "host NQN (default: /etc/nvme/hostnqn)");
  c->add_option("-I,--hostid", o.hostid, "host ID, a UUID (default: /etc/nvme/hostid)");
  c->add_option("-o,--output-format", o.output, "normal or json")->check(CLI::IsMember({"normal", "json"}));
  c->add_option("-k,--keep-alive-tmo", o.keep_alive_tmo, "keep-alive timeout in seconds")->check(CLI::Range(0, 3600));
}

Result<controller::ControllerOptions> controller_options(const Common& o, std::uint16_t default_port) {
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

int run_discover(const Common& o) {
  auto c = controller_options(o, discovery::kDefaultDiscoveryPort);
  if (!c) return fail(c.error().message);
  discovery::DiscoveryOptions d;
  d.controller = *c;
  if (o.keep_alive_tmo < 0) d.controller.kato = std::chrono::milliseconds(0);  // as the kernel for a one-shot read
  auto r = tools::discover(d);
  if (!r) return fail(r.error().message);
  std::fputs((o.output == "json" ? tools::discovery_json(*r) + "\n" : tools::discovery_text(*r)).c_str(), stdout);
  return 0;
}

int run_bench(const Common& o, const std::string& nqn, tools::BenchOptions b) {
  auto c = controller_options(o, 0);
  if (!c) return fail(c.error().message);
  c->subnqn = nqn;
  const bool tty = o.output != "json" && ::isatty(STDOUT_FILENO) != 0;
  auto r = tools::run_bench(*c, b, [&](std::uint64_t ios, double secs) {
    if (tty && secs > 0) {
      std::fprintf(stdout, "\r[%4.0fs] %10.0f IOPS %9.1f MiB/s", secs, static_cast<double>(ios) / secs,
                   static_cast<double>(ios) / secs * b.bs / (1024.0 * 1024.0));
      std::fflush(stdout);
    }
  });
  if (tty) std::fputs("\n", stdout);
  if (!r) return fail(r.error().message);
  if (o.output == "json") {
    nlohmann::ordered_json j = {{"workload", tools::workload_name(b.workload)},
                        {"bs", b.bs},
                        {"iodepth", b.iodepth},
                        {"threads", b.threads},
                        {"ios", r->ios},
                        {"iops", r->iops},
                        {"mib_s", r->mib_s},
                        {"lat_us",
                         {{"avg", r->lat_avg_us}, {"p50", r->lat_p50_us}, {"p99", r->lat_p99_us},
                          {"p999", r->lat_p999_us}, {"max", r->lat_max_us}}},
                        {"errors", r->errors},
                        {"verify_failures", r->verify_failures},
                        {"seconds", r->seconds}};
    if (!r->first_error.empty()) j["first_error"] = r->first_error;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s bs=%u iodepth=%u threads=%u (%s ring)\n", tools::workload_name(b.workload), b.bs, b.iodepth,
                b.threads, r->ring_flags.c_str());
    std::printf("  ios=%llu iops=%.0f bw=%.1f MiB/s errors=%llu verify_failures=%llu\n",
                static_cast<unsigned long long>(r->ios), r->iops, r->mib_s, static_cast<unsigned long long>(r->errors),
                static_cast<unsigned long long>(r->verify_failures));
    std::printf("  lat (us): avg=%.1f p50=%.1f p99=%.1f p99.9=%.1f max=%.1f\n", r->lat_avg_us, r->lat_p50_us,
                r->lat_p99_us, r->lat_p999_us, r->lat_max_us);
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
  add_common(disc, dopt, false);

  Common bopt;
  std::string nqn;
  std::string workload = "randread";
  std::string bs = "4k";
  tools::BenchOptions b;
  auto* bench = app.add_subcommand("bench", "fio-like load over one path to one namespace");
  add_common(bench, bopt, true);
  bench->add_option("-n,--nqn", nqn, "subsystem NQN")->required();
  bench->add_option("--nsid", b.nsid, "namespace ID")->check(CLI::Range(1u, 0xFFFFFFFEu));
  bench->add_option("-w,--rw", workload, "randread, randwrite, read, write, randrw or verify");
  bench->add_option("--bs", bs, "block size (4k, 128k, 1m)");
  bench->add_option("--iodepth", b.iodepth, "commands in flight per thread")->check(CLI::Range(1u, 1024u));
  bench->add_option("--threads", b.threads, "I/O threads, one queue each")->check(CLI::Range(1u, 64u));
  bench->add_option("--time", b.seconds, "seconds to run")->check(CLI::Range(0.1, 86400.0));
  bench->add_flag("--digest", bopt.digest, "header and data digests");
  bench->add_option("--seed", b.seed, "verify pattern seed (default: from the clock)");

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
  return run_bench(bopt, nqn, b);
}
