// Fuzz target: nvme-mpathd's configuration parsers, parse_config (TOML, through toml++) and
// parse_discovery_conf (nvme-cli's discovery.conf), fed the same bytes. Neither may crash or
// throw; a refusal must say where and why; whatever is accepted must hold the invariants the
// daemon relies on (addresses and ports set, knobs in range, exports naming configured
// subsystems).
// Corpus: tests/fuzz/corpus/config/ (small valid configurations, near misses, discovery.conf).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config.h"

namespace {

using namespace nvmemp::mpathd;

void require(bool ok) {
  if (!ok) std::abort();
}

void check_endpoint(const nvmemp::Endpoint& ep) {
  require(!ep.traddr.empty() && ep.trsvcid != 0);
  require(ep.traddr.find('\0') == std::string::npos);
  require(ep.host_iface.size() <= 15);
}

void check_options(const nvmemp::FabricOptions& o, unsigned io_threads) {
  require(o.keep_alive_tmo.count() >= 1 && o.keep_alive_tmo.count() <= 3600);
  require(o.reconnect_delay.count() >= 1);
  require(o.ctrl_loss_tmo.count() >= -1);
  require(!o.fast_io_fail_tmo || o.fast_io_fail_tmo->count() >= 0);
  require(o.queue_size >= 2 && o.queue_size <= 1024);
  require(o.max_io_contexts == io_threads);
  require(o.stall_timeout.count() >= 1 && o.probe_timeout.count() >= 1);
  require(!o.write_failover_delay || o.write_failover_delay->count() >= 0);
  require(o.max_transfer >= 4096 && o.max_transfer % 4096 == 0);
}

void check_error(const nvmemp::Error& e, const std::string& source) {
  require(!e.message.empty());
  require(e.message.rfind(source + ":", 0) == 0);  // every line names the file
}

void check_config(std::string_view text) {
  const std::string source = "fuzz.toml";
  auto r = parse_config(text, source);
  if (!r) {
    check_error(r.error(), source);
    return;
  }
  const DaemonConfig& c = *r;
  require(c.io_threads >= 1 && c.io_threads <= 64);
  check_options(c.fabric, c.io_threads);
  require(!c.control_socket.empty() && c.control_socket[0] == '/');
  for (const auto& d : c.discovery) check_endpoint(d.endpoint);
  for (const auto& s : c.subsystems) {
    require(s.nqn.rfind("nqn.", 0) == 0 && s.nqn.size() <= 223);
    require(find_subsystem(c, s.nqn) == &s);  // NQNs are unique
    check_options(s.options, c.io_threads);
    if (s.policy) require(*s.policy == s.options.policy);
    for (std::size_t i = 0; i < s.paths.size(); ++i) {
      check_endpoint(s.paths[i].endpoint);
      for (std::size_t j = 0; j < i; ++j) {
        require(!same_endpoint(s.paths[i].endpoint, s.paths[j].endpoint));
      }
    }
  }
  for (const auto& e : c.exports) {
    require(!e.name.empty() && !e.unix_socket.empty() && e.unix_socket[0] == '/');
    require(e.wwid.empty() != e.nqn.empty());  // named one way, exactly
    if (!e.nqn.empty()) require(e.nsid != 0 && find_subsystem(c, e.nqn) != nullptr);
    if (e.nqn.empty()) require(e.nsid == 0);
    require(!e.tcp_port || *e.tcp_port != 0);
  }
}

void check_discovery_conf(std::string_view text) {
  const std::string source = "fuzz.conf";
  auto r = parse_discovery_conf(text, source);
  if (!r) {
    check_error(r.error(), source);
    return;
  }
  for (const auto& d : *r) {
    check_endpoint(d.endpoint);
    require(d.origin.rfind(source + ":", 0) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_config(text);
  check_discovery_conf(text);
  return 0;
}
