// The simulated NVMe/TCP target: one NVM subsystem with memory-backed namespaces, M ports on
// 127.0.0.1 (each with a discovery controller and its own ANA state per group), and a control
// line protocol shared with the real target (../shared/real-target/README.md). It reuses the
// initiator's wire codec (wire/), so it shares its misreadings: every feature also needs a
// `real` test.
//
// Threading: one event-loop thread (epoll) owns all state. control() posts the line to that
// thread and waits for the answer; it may be called from any thread except the loop's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nvmemp/result.h"

namespace nvmemp::sim {

inline constexpr const char* kDefaultSimNqn = "nqn.2026-01.io.example:sim";
inline constexpr const char* kDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

struct SimConfig {
  std::vector<std::uint16_t> ports{0, 0};  // TCP ports to listen on; 0 = ephemeral
  std::optional<std::uint16_t> ctl_port;   // control socket; none = no socket (control() works)
  std::string nqn = kDefaultSimNqn;
  std::uint32_t namespaces = 2;
  std::uint64_t ns_size_bytes = 64ull << 20;
  std::uint32_t lba_size = 512;               // 512 or 4096
  std::uint32_t maxh2cdata = 4u << 20;        // ICResp MAXH2CDATA, bytes (>= 4096, multiple of 4)
  std::uint8_t cpda = 0;                      // ICResp CPDA, 0's based dwords (0..31)
  std::uint32_t c2h_chunk = 0;                // bytes per C2HData PDU; 0 = whole transfer in one
  std::uint32_t r2t_chunk = 0;                // bytes per R2T; 0 = whole remaining transfer
  std::uint32_t ioccsz = 1028;                // Identify IOCCSZ, 16-byte units (1028: 16 KiB data)
  // CAP.MQES (0's based, 1..65535): an I/O queue Connect with a larger SQSIZE is refused with
  // Connect Invalid Parameters naming SQSIZE. Identify MAXCMD is MQES + 1.
  std::uint16_t mqes = 1023;
  // Hostile: the largest I/O queue SQSIZE Connect accepts when it is below what CAP.MQES and
  // MAXCMD report (a target that lies about its limits); 0: MQES, as a sane target.
  std::uint16_t accept_sqsize = 0;
  // Null namespaces: reads answer zeros sent straight from a shared zero buffer (no store is
  // read, nothing is copied), writes are accepted and discarded; Write Zeroes and Dataset
  // Management succeed and do nothing. The benchmark suite uses it so that what it measures is
  // the host's cost, not the target's memcpy.
  bool null_namespaces = false;
  // After the last event the loop polls (epoll_wait with no timeout, yielding the core to any
  // other runnable thread) this long before it sleeps. A thread that sleeps is woken by an
  // inter-processor interrupt when the host runs on another core, which in a VM costs tens of
  // microseconds per I/O; polling a core of its own avoids it. Unset: 1000 us when the process
  // is pinned to a single CPU (it owns that core), else 0 (it shares cores with the host).
  std::optional<std::uint32_t> busy_poll_us;
  bool verbose = false;                       // log connection events to stderr
  // NVMe/TCP over TLS 1.3: the configured PSK ("NVMeTLSkey-1:HH:<base64>:") the target derives
  // each host's TLS PSK from (v0 and v1 identities, for any host NQN). Empty: no TLS. As nvmet
  // does, a connection whose first byte is a plaintext ICReq's is served without TLS unless
  // tls_required; one that starts with a TLS record does the handshake.
  std::string tls_key;
  bool tls_required = false;
  bool tls_compat = false;  // derive as libnvme did before its fix (tls_psk.h)
};

// Checks ranges (lba size, ns size a multiple of it, maxh2cdata, cpda, ioccsz >= 4, ...).
Result<void> validate_config(const SimConfig& cfg);

// "64M", "4096", "1G", "512K" -> bytes. Suffixes K/M/G are powers of 1024.
Result<std::uint64_t> parse_size(std::string_view text);

class Core;

class SimTarget {
 public:
  // Binds every port (and the control port), starts the loop thread.
  static Result<std::unique_ptr<SimTarget>> start(const SimConfig& cfg);
  ~SimTarget();
  SimTarget(const SimTarget&) = delete;
  SimTarget& operator=(const SimTarget&) = delete;

  // The bound TCP port numbers, in port-index order (index 1 is ports()[0]).
  const std::vector<std::uint16_t>& ports() const { return ports_; }
  // 0 when no control socket was asked for.
  std::uint16_t ctl_port() const { return ctl_port_; }
  const std::string& nqn() const { return nqn_; }

  // Runs one control line on the loop thread. The answer: the lines the command prints (if
  // any, each ending in '\n'); an ERR becomes an Error whose message is the reason.
  Result<std::string> control(std::string_view line);

  // ---- Fault injection (the FaultPlan; every fault is off until set) ----
  // Each is the control line of the same name run through control(); `port` is an index
  // 1..M or a TCP port number, as in the line protocol.
  // blackhole: stop answering on the port (TCP stays open, the target's keep-alive timer is
  // held); in-capsule writes received meanwhile are held for apply_held()/drop_held().
  Result<void> blackhole(std::uint32_t port, bool on);
  Result<std::string> apply_held(std::uint32_t port);  // "applied N held write(s)"
  Result<std::string> drop_held(std::uint32_t port);
  Result<void> set_latency(std::uint32_t port, std::uint32_t ms);  // 0 = off
  // The next `k` I/O commands with `opcode` complete with (sct, sc[, dnr]).
  Result<void> fail_next(std::uint32_t k, std::uint8_t opcode, std::uint8_t sct, std::uint8_t sc, bool dnr = false);
  Result<void> corrupt_digest(std::uint32_t port);  // the next PDU sent with a digest
  Result<void> drop_after(std::uint32_t port, std::uint32_t pdus);  // 0 = off
  Result<void> reset_ctrl(std::uint16_t cntlid);
  Result<void> restart();  // closes everything, initial topology, keeps namespace data
  Result<void> aen_ns_changed(std::uint32_t nsid);
  Result<void> aen_discovery_changed();
  // Admin commands accepted and never completed on the port's controllers: Keep Alive
  // (ka-ignore), or any admin opcode (never-complete; off clears every opcode of the port).
  Result<void> ka_ignore(std::uint32_t port, bool on);
  Result<void> never_complete(std::uint32_t port, std::uint8_t admin_opcode);
  Result<void> never_complete_off(std::uint32_t port);

  // Closes every connection and listener and joins the loop thread. Idempotent.
  void stop();

 private:
  SimTarget() = default;
  std::unique_ptr<Core> core_;
  std::vector<std::uint16_t> ports_;
  std::uint16_t ctl_port_ = 0;
  std::string nqn_;
};

}  // namespace nvmemp::sim
