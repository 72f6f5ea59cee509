// Discovery (NVMe over Fabrics 1.1, 5.3; nvme-facts.md section 6): connect to a discovery
// controller, read log page 0x70 completely and consistently, follow referrals to other
// discovery controllers (bounded depth, each address once) and return typed records. Each
// record says what its port asks of TLS (TREQ and TSAS SECTYPE: tls_need()); choose_tls()
// decides how a port is connected, for connect-all, referrals and nvme-mpathd alike.
//
// Runs on the control thread like Controller: start() returns at once, tick() advances it,
// `done` runs once with the result.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "controller/controller.h"
#include "wire/log_pages.h"

namespace nvmemp::discovery {

inline constexpr std::uint16_t kDefaultDiscoveryPort = 8009;

// What a port's discovery log entry asks of TLS (NVMe/TCP): TREQ bits 1:0 say whether a
// secure channel is required (01b), not required (10b) or not specified (00b); TSAS byte 0,
// SECTYPE, which security it speaks (0 none, 1 TLS 1.2, 2 TLS 1.3).
enum class TlsNeed : std::uint8_t {
  None,      // no secure channel required, none offered (or only TLS 1.2, which NVMe/TCP hosts do not speak)
  Offered,   // SECTYPE TLS 1.3, TREQ not "required": TLS and plain both accepted
  Required,  // TREQ "secure channel required" (whatever SECTYPE says: TLS 1.3 is the one there is)
};
TlsNeed tls_need(std::uint8_t treq, std::uint8_t sectype) noexcept;
inline TlsNeed tls_need(const wire::DiscoveryLogEntry& e) noexcept {
  return tls_need(e.treq, e.is_tcp() ? e.sectype : std::uint8_t{0});
}
const char* tls_need_name(TlsNeed n) noexcept;  // "none", "offered", "required"

// How a port is connected: with TLS when the configuration says tls (never plain then), when its
// entry requires TLS, or when it offers TLS 1.3 and a TLS key is configured; plain otherwise. A
// port that needs TLS while no key is configured is refused (InvalidArgument) with a message
// that starts with `what` (the subsystem and the port: "nqn... @ 10.0.0.1:4420") and never
// holds key material.
[[nodiscard]] Result<bool> choose_tls(TlsNeed need, bool configured_tls, bool have_key, std::string_view what);

struct DiscoveryRecord {
  wire::DiscoveryLogEntry entry;  // entry.treq and entry.sectype (TSAS byte 0): tls_need(entry)
  std::string source;  // the discovery controller it came from: "127.0.0.1:8009"
};

struct DiscoveryResult {
  std::uint64_t genctr = 0;  // of the first discovery controller's log
  std::vector<DiscoveryRecord> records;
  std::vector<std::string> errors;  // referrals that could not be read (the first one fails the whole)
};

struct DiscoveryOptions {
  // Endpoint, host identity, digests, timeouts; `controller.tls` set: the first discovery
  // controller is connected over TLS (and so is every referral).
  controller::ControllerOptions controller;
  // The TLS PSK a referral that requires or offers TLS 1.3 is connected with (derived for the
  // discovery NQN, as controller.tls); null: no key configured (controller.tls is used when
  // set), and a referral that requires TLS is not followed (an error of the result).
  std::shared_ptr<const tls::TlsPsk> referral_tls;
  bool follow_referrals = true;
  unsigned max_depth = 4;        // referral hops followed at most
  unsigned max_controllers = 32; // discovery controllers visited at most
  unsigned max_retries = 5;      // re-reads when GENCTR changes during the read
};

// Reads log 0x70 of a live discovery controller: header, all entries (in pieces of at most
// the controller's transfer size, with offsets), GENCTR re-checked; `done` gets the log.
void read_discovery_log(controller::Controller& dc, unsigned max_retries,
                        std::function<void(Result<wire::DiscoveryLog>)> done);

class Discovery {
 public:
  using DoneFn = std::function<void(Result<DiscoveryResult>)>;
  Discovery(transport::Reactor& reactor, const Clock& clock, DiscoveryOptions opts);
  ~Discovery();

  void start(DoneFn done);
  void tick();
  bool finished() const noexcept { return finished_; }

 private:
  struct Target {
    transport::TcpEndpoint endpoint;
    unsigned depth = 0;
    bool tls = false;
  };
  void next();
  void visit_done(const Target& t, Result<wire::DiscoveryLog> log);
  void finish(Result<DiscoveryResult> r);

  transport::Reactor& reactor_;
  const Clock& clock_;
  DiscoveryOptions opts_;
  DoneFn done_;
  std::vector<Target> queue_;
  std::set<std::string> seen_;
  std::unique_ptr<controller::Controller> current_;
  std::vector<std::unique_ptr<controller::Controller>> closing_;
  DiscoveryResult result_;
  unsigned visited_ = 0;
  bool finished_ = false;
};

}  // namespace nvmemp::discovery
