#include "daemon.h"

#include <fmt/format.h>

#include "common/log.h"
#include "controller/host_identity.h"

namespace nvmemp::mpathd {

namespace {

bool same_wanted(const std::string& nqn_a, const Endpoint& a, const std::string& nqn_b, const Endpoint& b) {
  return nqn_a == nqn_b && same_endpoint(a, b);
}

// The same configured path, TLS on or off alike (a path whose tls changes is connected anew).
template <class W>
bool same_path(const W& a, const W& b) {
  return same_wanted(a.nqn, a.endpoint, b.nqn, b.endpoint) && a.tls.tls == b.tls.tls;
}

}  // namespace

std::vector<Daemon::Wanted> Daemon::wanted_of(const DaemonConfig& cfg) {
  std::vector<Wanted> out;
  for (const auto& s : cfg.subsystems) {
    for (const auto& p : s.paths) {
      out.push_back(Wanted{s.nqn, p.endpoint, p.dhchap_secret, p.dhchap_ctrl_secret, p.tls, {}, false, false, {}, {}});
    }
  }
  return out;
}

Result<std::unique_ptr<Daemon>> Daemon::start(DaemonConfig cfg, std::string config_path) {
  // discovery.conf may name a host identity per entry (-q/-I); the daemon has one.
  std::string hostnqn = cfg.fabric.hostnqn;
  for (const auto& dc : cfg.discovery) {
    if (dc.hostnqn.empty()) continue;
    if (hostnqn.empty()) {
      auto id = controller::load_host_identity({});
      if (!id) return tl::unexpected(id.error());
      hostnqn = id->hostnqn;
    }
    if (dc.hostnqn != hostnqn) {
      return make_error(Errc::InvalidArgument,
                        fmt::format("{}: this discovery entry connects as host {}, but nvme-mpathd runs as {}: the "
                                    "daemon has one host identity; drop -q/-I there or set [host] hostnqn",
                                    dc.origin, dc.hostnqn, hostnqn));
    }
  }
  auto d = std::unique_ptr<Daemon>(new Daemon(std::move(cfg), std::move(config_path)));
  FabricOptions fo = d->cfg_.fabric;
  if (d->cfg_.scsi.enable) fo.block_probe = scsi::make_block_probe(scsi::make_sg_path_prober());
  auto f = Fabric::start(fo);
  if (!f) return tl::unexpected(f.error());
  d->fabric_ = std::move(*f);
  d->control_.fabric = d->fabric_.get();
  d->control_.reload = [raw = d.get()] { return raw->reload(); };
  d->control_.knobs = [raw = d.get()](const std::string& nqn) { return raw->knobs_for(nqn); };
  d->wanted_ = wanted_of(d->cfg_);
  for (auto& w : d->wanted_) d->try_connect(w);
  d->discovery_ = std::make_unique<DiscoveryFollower>(
      *d->fabric_, d->cfg_.fabric.reconnect_delay,
      [raw = d.get()](const std::string& nqn, const TlsSettings& source) { return raw->discovered_knobs(nqn, source); });
  for (const auto& dc : d->cfg_.discovery) d->discovery_->add(dc);
  d->discovery_->tick();
  d->apply_policies();
  if (d->cfg_.scsi.enable) {
    scsi::FeederOptions so;
    so.sysfs_root = d->cfg_.scsi.sysfs_root;
    so.filter.allow = d->cfg_.scsi.wwid_allow;
    so.filter.deny = d->cfg_.scsi.wwid_deny;
    auto w = scsi::ScsiWatcher::start(*d->fabric_, so);
    if (!w) return make_error(w.error().code, fmt::format("[scsi] enable: {}", w.error().message));
    d->scsi_ = std::move(*w);
    for (const auto& e : d->scsi_->first_sync().errors) log(LogLevel::Warn, "SCSI: {}", e);
    log(LogLevel::Info, "SCSI: {} path(s) from {} (uevents from the {} source)", d->scsi_->first_sync().paths,
        so.sysfs_root.string(), d->scsi_->source());
  }
  if (!d->cfg_.exports.empty()) {
    auto nbd = NbdServer::start(*d->fabric_, d->cfg_.exports, d->cfg_.io_threads);
    if (!nbd) return tl::unexpected(nbd.error());
    d->nbd_ = std::move(*nbd);
    d->refresh_exports();
  }
  return d;
}

void Daemon::try_connect(Wanted& w) {
  const auto now = std::chrono::steady_clock::now();
  w.next_try = now + knobs_for(w.nqn).reconnect_delay;  // its subsystem's, as its controller's
  FabricOptions knobs = knobs_for(w.nqn);
  if (!w.dhchap_secret.empty()) knobs.dhchap_secret = w.dhchap_secret;
  if (!w.dhchap_ctrl_secret.empty()) knobs.dhchap_ctrl_secret = w.dhchap_ctrl_secret;
  w.tls.apply_to(knobs);
  auto r = fabric_->connect(w.endpoint, w.nqn, knobs);
  if (r) {
    w.connected = true;
    const auto back = w.retry.succeeded(now);
    log(LogLevel::Info, "path {} connected{}", r->name, back ? " (" + *back + ")" : std::string());
  } else if (r.error().message.find("already connected") != std::string::npos) {
    w.connected = true;
  } else if (r.error().code == Errc::AuthFailed) {
    // Asking again with the same keys gets the same answer: wait for new ones (a reload).
    w.last_error = r.error().message;
    w.auth_failed = true;
    w.next_try = std::chrono::steady_clock::time_point::max();
    log(LogLevel::Error, "{}; not retried until the configuration is reloaded", w.last_error);
  } else {
    // A configured path is retried for as long as it is configured.
    w.last_error = r.error().message;
    w.retry.rename("configured path");  // the error names the subsystem and the address
    w.retry.failed(now, w.last_error, retry_plan(knobs_for(w.nqn).reconnect_delay, std::nullopt));
  }
}

const FabricOptions& Daemon::knobs_for(const std::string& nqn) const {
  for (const auto& s : cfg_.subsystems) {
    if (s.nqn == nqn) return s.options;
  }
  return cfg_.fabric;
}

FabricOptions Daemon::discovered_knobs(const std::string& nqn, const TlsSettings& source) const {
  if (const SubsystemConfig* s = find_subsystem(cfg_, nqn)) return s->options;
  FabricOptions o = cfg_.fabric;
  source.apply_to(o);
  return o;
}

void Daemon::apply_policies() {
  for (const auto& s : cfg_.subsystems) {
    if (auto r = fabric_->set_subsystem_rules(s.nqn, s.options); !r) {
      log(LogLevel::Warn, "subsystem {}: {}", s.nqn, r.error().message);
    }
    if (!s.policy) continue;
    if (auto r = fabric_->set_policy(s.nqn, *s.policy); !r) {
      log(LogLevel::Warn, "subsystem {}: policy {} not applied yet: {}", s.nqn, io_policy_name(*s.policy),
          r.error().message);
    }
  }
}

void Daemon::tick() {
  const auto now = std::chrono::steady_clock::now();
  bool connected_any = false;
  for (auto& w : wanted_) {
    if (w.connected || now < w.next_try) continue;
    try_connect(w);
    connected_any = connected_any || w.connected;
  }
  const std::size_t before = discovery_->connected();
  discovery_->tick();
  connected_any = connected_any || discovery_->connected() != before;
  if (connected_any) apply_policies();
  if (nbd_ && now >= next_export_refresh_) refresh_exports();
}

void Daemon::refresh_exports() {
  next_export_refresh_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  control_.exports = nbd_ ? nbd_->exports_by_head() : decltype(control_.exports){};
}

void Daemon::stop_exports() {
  if (nbd_) nbd_->stop();
}

Result<void> Daemon::reload() {
  auto next = load_config(config_path_);
  if (!next) return tl::unexpected(next.error());
  if (next->fabric.hostnqn != cfg_.fabric.hostnqn || next->io_threads != cfg_.io_threads ||
      next->fabric.poll_mode != cfg_.fabric.poll_mode || next->control_socket != cfg_.control_socket) {
    log(LogLevel::Warn, "reload: [host], io_threads, poll and control_socket take effect at the next start");
  }
  if (next->scsi.enable != cfg_.scsi.enable || next->scsi.wwid_allow != cfg_.scsi.wwid_allow ||
      next->scsi.wwid_deny != cfg_.scsi.wwid_deny || next->scsi.sysfs_root != cfg_.scsi.sysfs_root) {
    log(LogLevel::Warn, "reload: [scsi] changes take effect at the next start");
  }
  if (next->exports != cfg_.exports) {
    log(LogLevel::Warn, "reload: [[export]] changes take effect at the next start");
  }
  auto wanted = wanted_of(*next);
  // Paths that are no longer configured: disconnected (their in-flight I/O fails over to the
  // paths that stay). Paths that are new: connected. A path whose tls changed: both. The rest:
  // untouched.
  const TopologyInfo topo = fabric_->topology();
  for (const auto& old : wanted_) {
    bool keep = false;
    bool tls_flip = false;
    for (const auto& w : wanted) {
      keep = keep || same_path(old, w);
      tls_flip = tls_flip || same_wanted(old.nqn, old.endpoint, w.nqn, w.endpoint);
    }
    if (keep) continue;
    for (const auto& p : topo.paths) {
      if (p.subnqn == old.nqn && p.traddr == old.endpoint.traddr && p.trsvcid == old.endpoint.trsvcid) {
        log(LogLevel::Info, "reload: disconnecting {} ({})", p.name,
            tls_flip ? (old.tls.tls ? "tls is off now: connected again plain" : "tls is on now: connected again over TLS")
                     : "no longer configured");
        if (auto r = fabric_->disconnect(p.id); !r) log(LogLevel::Warn, "reload: {}", r.error().message);
      }
    }
  }
  for (auto& w : wanted) {
    for (const auto& old : wanted_) {
      if (same_path(old, w)) {
        w.connected = old.connected;
        if (!old.auth_failed) w.next_try = old.next_try;  // refused by authentication: try the (new) keys now
      }
    }
  }
  // A configured path whose controller gave up (dead: its keys refused at a reconnect, or
  // ctrl_loss_tmo passed) is connected again, with the keys the configuration holds now.
  for (auto& w : wanted) {
    if (!w.connected) continue;
    for (const auto& p : topo.paths) {
      if (p.subnqn != w.nqn || p.traddr != w.endpoint.traddr || p.trsvcid != w.endpoint.trsvcid || p.state != "dead") {
        continue;
      }
      log(LogLevel::Info, "reload: {} had given up ({}): connecting it again", p.name,
          p.last_error.empty() ? "no reason recorded" : p.last_error);
      if (auto r = fabric_->disconnect(p.id); !r) log(LogLevel::Warn, "reload: {}", r.error().message);
      w.connected = false;
    }
  }
  // Discovery controllers: removed ones let go (the ports only they listed leave), new ones
  // followed.
  for (const auto& old : cfg_.discovery) {
    bool keep = false;
    for (const auto& d : next->discovery) keep = keep || same_endpoint(old.endpoint, d.endpoint);
    if (!keep) discovery_->remove(old.endpoint);
  }
  for (const auto& d : next->discovery) discovery_->add(d);
  cfg_.subsystems = next->subsystems;
  cfg_.discovery = next->discovery;
  // [host]'s keys are per connection: the next connect (a discovered path's too) takes them.
  cfg_.fabric.dhchap_secret = next->fabric.dhchap_secret;
  cfg_.fabric.dhchap_ctrl_secret = next->fabric.dhchap_ctrl_secret;
  TlsSettings::of(next->fabric).apply_to(cfg_.fabric);  // [host]'s TLS settings, alike
  wanted_ = std::move(wanted);
  for (auto& w : wanted_) {
    if (!w.connected) try_connect(w);
  }
  apply_policies();
  log(LogLevel::Info, "reload: {} applied", config_path_);
  return {};
}

std::string Daemon::status() const {
  const TopologyInfo t = fabric_->topology();
  std::size_t live = 0;
  for (const auto& p : t.paths) live += p.state == "live" ? 1 : 0;
  return fmt::format("{} namespace head(s), {}/{} path(s) live", t.heads.size(), live, t.paths.size());
}

}  // namespace nvmemp::mpathd
