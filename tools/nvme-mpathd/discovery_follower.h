// nvme-mpathd's discovery controllers ([[discovery]], discovery.conf): every NVMe/TCP port
// their logs list is connected (its path joins its namespace heads), like nvme connect-all.
// A persistent discovery controller stays connected (Fabric::watch_discovery): after each
// Discovery Log Page Change event its log is read again, new ports are connected and the
// ports it connected that no log lists any more are disconnected. A non-persistent one is read
// once (retried until it answers) and let go. Referrals are watched too (as persistent as
// the controller that named them), at most kMaxSources controllers in all.
//
// TLS: a discovery controller is connected over TLS when its [[discovery]] says tls (a referral
// when its entry in the log requires or offers TLS 1.3 and a key is configured, or its referrer
// is over TLS). A port is connected as discovery_entry_tls() says with its subsystem's knobs:
// with TLS when its subsystem says tls, when its entry requires it, or when it offers TLS 1.3
// and a key is configured; a port that requires TLS while no key is configured is refused and
// logged (retried every `retry`, so a reload that adds a key takes it).
//
// Threading: the logs arrive on the Fabric's control thread and wait in an inbox; tick(), on
// the daemon's main loop, does the connecting and disconnecting.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/retry_log.h"
#include "config.h"
#include "nvmemp/mpath.h"

namespace nvmemp::mpathd {

class DiscoveryFollower {
 public:
  static constexpr std::size_t kMaxSources = 32;

  // `knobs`: the connection knobs, keys and TLS settings of a subsystem (its [[subsystem]]'s, or
  // [defaults] with the TLS settings of the discovery controller whose log lists it).
  using KnobsFn = std::function<FabricOptions(const std::string& nqn, const TlsSettings& source)>;
  DiscoveryFollower(Fabric& fabric, std::chrono::seconds retry, KnobsFn knobs)
      : fabric_(fabric), retry_(retry), knobs_(std::move(knobs)) {}
  ~DiscoveryFollower();
  DiscoveryFollower(const DiscoveryFollower&) = delete;
  DiscoveryFollower& operator=(const DiscoveryFollower&) = delete;

  // Starts following a configured discovery controller (connects on the next tick()).
  void add(const DiscoveryConfig& d);
  // Stops following it (reload): its watch ends; ports only it listed are disconnected.
  void remove(const Endpoint& ep);
  // Takes the logs that arrived, watches referrals, connects new ports (retrying failed ones
  // every `retry`), disconnects ports no log lists any more.
  void tick();

  // For status and tests: controllers followed, ports wanted, ports connected by this.
  std::size_t sources() const noexcept { return sources_.size(); }
  std::size_t ports() const noexcept { return ports_.size(); }
  std::size_t connected() const noexcept;

 private:
  struct Source {
    Endpoint endpoint;
    TlsSettings tls;               // of its discovery controller (and, its key, of its ports)
    bool persistent = true;
    bool configured = true;        // from the configuration (else: a referral)
    std::uint32_t watch = 0;       // 0: not watched (yet, or any more)
    bool have_log = false;
    std::vector<DiscoveryEntry> entries;
    std::chrono::steady_clock::time_point next_try{};
    RetryLog retry;                // its failed watch attempts, in a few lines
  };
  using PortKey = std::tuple<std::string, std::string, std::uint16_t>;  // nqn, traddr, port
  struct Port {
    Endpoint endpoint;
    std::uint16_t path_id = 0;     // connected by this follower
    bool elsewhere = false;        // connected already by someone else (a static path)
    std::chrono::steady_clock::time_point next_try{};
    RetryLog retry;                // its failed connect attempts, in a few lines
  };

  void take_inbox();
  void start_watches();
  void follow_referrals();
  void reconcile();
  Source* source_of(std::uint32_t watch);
  void warn_once(const std::string& what);  // a refusal seen again at every tick is logged once

  Fabric& fabric_;
  std::chrono::seconds retry_;
  KnobsFn knobs_;
  std::vector<Source> sources_;
  std::map<PortKey, Port> ports_;
  std::set<std::string> warned_;
  std::mutex inbox_mu_;
  std::vector<DiscoveryLogInfo> inbox_;  // filled on the control thread
};

}  // namespace nvmemp::mpathd
