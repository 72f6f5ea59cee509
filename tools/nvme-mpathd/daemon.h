// nvme-mpathd's topology work: connect what the configuration names (static paths, and the
// ports discovery controllers list: discovery_follower.h), keep trying configured paths that
// are down, pick up SCSI disks ([scsi]: scsi_compat/'s ScsiWatcher), apply a reloaded configuration as a difference (paths added and removed,
// policies changed) without touching I/O on the paths that stay, and answer the control socket.
// The data path is the library's (Fabric / IoContext); the daemon only handles topology.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/retry_log.h"
#include "config.h"
#include "control_handler.h"
#include "discovery_follower.h"
#include "nbd_server.h"
#include "nvmemp/mpath.h"
#include "scsi_feeder.h"

namespace nvmemp::mpathd {

class Daemon {
 public:
  // Starts the fabric and connects what `cfg` names (paths that are down are retried later).
  static Result<std::unique_ptr<Daemon>> start(DaemonConfig cfg, std::string config_path);

  // One turn of the main loop: retries configured paths that are not connected (every
  // reconnect_delay). Cheap; call it about every 100 ms.
  void tick();
  // Re-reads the configuration file; on an error the running configuration stays.
  Result<void> reload();
  // One line for systemd's STATUS=.
  std::string status() const;
  // Stops the NBD export: requests in flight are answered, then the clients are disconnected.
  void stop_exports();

  Fabric& fabric() noexcept { return *fabric_; }
  ControlContext& control() noexcept { return control_; }
  const DaemonConfig& config() const noexcept { return cfg_; }

 private:
  // A static path of a [[subsystem]] (discovery controllers: DiscoveryFollower).
  struct Wanted {
    std::string nqn;
    Endpoint endpoint;
    DhchapKey dhchap_secret, dhchap_ctrl_secret;  // the path's own keys (empty: its subsystem's)
    TlsSettings tls;  // the path's TLS settings (over its subsystem's)
    std::chrono::steady_clock::time_point next_try{};
    bool connected = false;
    bool auth_failed = false;  // refused by in-band authentication: not retried until a reload
    std::string last_error;
    RetryLog retry;  // failed attempts: the first, a reminder a minute, changes, and when it is back
  };
  Daemon(DaemonConfig cfg, std::string path) : cfg_(std::move(cfg)), config_path_(std::move(path)) {}
  static std::vector<Wanted> wanted_of(const DaemonConfig& cfg);
  void try_connect(Wanted& w);
  // Policies and I/O rules of the configured subsystems (set_policy, set_subsystem_rules).
  void apply_policies();
  // A subsystem's effective connection knobs: its [[subsystem]] overrides over [defaults].
  const FabricOptions& knobs_for(const std::string& nqn) const;
  // The knobs of a port a discovery log lists: its [[subsystem]]'s, else [defaults] with the
  // TLS settings of the [[discovery]] it came from.
  FabricOptions discovered_knobs(const std::string& nqn, const TlsSettings& source) const;

  void refresh_exports();

  DaemonConfig cfg_;
  std::string config_path_;
  std::unique_ptr<Fabric> fabric_;
  std::unique_ptr<DiscoveryFollower> discovery_;
  std::unique_ptr<scsi::ScsiWatcher> scsi_;  // [scsi] enable: SCSI disks as heads (udev events)
  std::unique_ptr<NbdServer> nbd_;  // declared after fabric_: stops (drains) before it goes
  std::vector<Wanted> wanted_;
  ControlContext control_;
  std::chrono::steady_clock::time_point next_export_refresh_{};
};

}  // namespace nvmemp::mpathd
