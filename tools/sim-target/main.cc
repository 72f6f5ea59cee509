// nvme-mpath-simtarget: the simulated NVMe/TCP target as a process. Prints the listening ports
// on one line, then runs until SIGINT or SIGTERM. Bad arguments: one line naming it, exit 2.
#include <csignal>
#include <malloc.h>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "sim_target.h"

namespace {

// CLI11 validator for K/M/G sizes; the value is re-parsed after CLI11 accepts it.
std::string check_size(const std::string& s) {
  auto r = nvmemp::sim::parse_size(s);
  return r ? std::string() : r.error().message;
}

}  // namespace

int main(int argc, char** argv) {
  nvmemp::sim::SimConfig cfg;
  std::vector<std::uint16_t> ports;
  int ctl_port = -1;
  std::string ns_size = "64M";
  std::string maxh2cdata, c2h_chunk, r2t_chunk;
  unsigned cpda = 0;
  int busy_poll_us = -1;

  CLI::App app{"Simulated NVMe/TCP target (nvme-mpath), listening on 127.0.0.1 only"};
  app.add_option("--port", ports, "TCP port of a target port (repeatable; 0 = ephemeral). Default: 2 ephemeral ports");
  app.add_option("--ctl-port", ctl_port, "control socket port (0 = ephemeral). Default: none")
      ->check(CLI::Range(0, 65535));
  app.add_option("--nqn", cfg.nqn, "subsystem NQN")->capture_default_str();
  app.add_option("--namespaces", cfg.namespaces, "number of namespaces")->capture_default_str();
  app.add_option("--ns-size", ns_size, "size of each namespace (suffix K/M/G)")->capture_default_str()->check(check_size);
  app.add_option("--lba-size", cfg.lba_size, "logical block size: 512 or 4096")->capture_default_str();
  app.add_option("--maxh2cdata", maxh2cdata, "ICResp MAXH2CDATA in bytes (suffix K/M)")->check(check_size);
  app.add_option("--cpda", cpda, "ICResp CPDA (0..31)")->check(CLI::Range(0, 31));
  app.add_option("--c2h-chunk", c2h_chunk, "bytes per C2HData PDU (0 = whole transfer)")->check(check_size);
  app.add_option("--r2t-chunk", r2t_chunk, "bytes per R2T (0 = whole transfer)")->check(check_size);
  app.add_option("--ioccsz", cfg.ioccsz, "Identify IOCCSZ in 16-byte units")->capture_default_str();
  app.add_option("--mqes", cfg.mqes, "CAP.MQES, 0's based (1..65535): largest I/O queue SQSIZE accepted")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_flag("--null", cfg.null_namespaces,
               "null namespaces: reads return zeros without touching data, writes are discarded (benchmarks)");
  app.add_option("--busy-poll-us", busy_poll_us,
                 "after the last event, poll this long before sleeping (0 = never). Default: 1000 when "
                 "the process is pinned to one CPU (taskset -c N), else 0")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--tls-key", cfg.tls_key,
                 "NVMe/TCP over TLS 1.3: the configured PSK (NVMeTLSkey-1:HH:<base64>:) each host's TLS PSK is "
                 "derived from; a connection that starts with a TLS record does the handshake");
  app.add_flag("--tls-required", cfg.tls_required, "refuse plaintext connections (needs --tls-key)");
  app.add_flag("--tls-compat", cfg.tls_compat, "derive TLS PSKs as libnvme did before its fix");
  app.add_flag("-v,--verbose", cfg.verbose, "log connections and errors to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "nvme-mpath-simtarget: %s\n", e.what());
    return 2;
  }
  const auto size_of = [](const std::string& s) { return s.empty() ? 0 : *nvmemp::sim::parse_size(s); };
  cfg.ns_size_bytes = size_of(ns_size);
  if (!maxh2cdata.empty()) {
    cfg.maxh2cdata = static_cast<std::uint32_t>(std::min<std::uint64_t>(size_of(maxh2cdata), 0xFFFFFFFFu));
  }
  cfg.c2h_chunk = static_cast<std::uint32_t>(std::min<std::uint64_t>(size_of(c2h_chunk), 0xFFFFFFFFu));
  cfg.r2t_chunk = static_cast<std::uint32_t>(std::min<std::uint64_t>(size_of(r2t_chunk), 0xFFFFFFFFu));
  cfg.cpda = static_cast<std::uint8_t>(cpda);
  if (!ports.empty()) {
    cfg.ports = ports;
  }
  if (busy_poll_us >= 0) {
    cfg.busy_poll_us = static_cast<std::uint32_t>(busy_poll_us);
  }
  if (ctl_port >= 0) {
    cfg.ctl_port = static_cast<std::uint16_t>(ctl_port);
  }
  if (auto v = nvmemp::sim::validate_config(cfg); !v) {
    std::fprintf(stderr, "nvme-mpath-simtarget: %s\n", v.error().message.c_str());
    return 2;
  }

  // The target allocates and frees PDU-sized buffers all the time; glibc's default would hand
  // freed heap top back with madvise after each burst, and every such call flushes the TLBs of
  // both CPUs (an interrupt on the initiator's core too): 43 % of the target's samples with
  // digests on in a perf profile. Keep the memory instead, as a long-running server should.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);

  // Block the signals before the loop thread starts so only sigwait() below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto target = nvmemp::sim::SimTarget::start(cfg);
  if (!target) {
    std::fprintf(stderr, "nvme-mpath-simtarget: %s\n", target.error().message.c_str());
    return 1;
  }
  std::string line = fmt::format("nvme-mpath-simtarget: nqn={} ports={}", cfg.nqn, fmt::join((*target)->ports(), ","));
  if ((*target)->ctl_port() != 0) {
    line += fmt::format(" ctl={}", (*target)->ctl_port());
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  (*target)->stop();
  return 0;
}
