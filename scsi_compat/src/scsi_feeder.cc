#include "scsi_feeder.h"

#include <fnmatch.h>
#include <sys/sysmacros.h>
#include <poll.h>

#include <fstream>
#include <set>

#include <fmt/format.h>

#include "common/log.h"
#include "udev_scan.h"

namespace nvmemp::scsi {

namespace fs = std::filesystem;

namespace {

bool matches_any(const std::vector<std::string>& pats, const std::string& s) {
  for (const auto& p : pats) {
    if (::fnmatch(p.c_str(), s.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace

bool WwidFilter::accepts(const std::string& wwid) const {
  if (matches_any(deny, wwid)) return false;
  return allow.empty() || matches_any(allow, wwid);
}

Result<BlockPathSpec> to_block_path(const ScsiPath& p, const FeederOptions& opts) {
  const fs::path uevent = opts.dev_sysfs / "dev/block" / p.devnum / "uevent";
  std::ifstream f(uevent);
  std::string devname;
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("DEVNAME=", 0) == 0) devname = line.substr(8);
  }
  if (devname.empty()) {
    return make_error(Errc::NotFound, fmt::format("{} ({}): no block device {} on this machine ({} has no DEVNAME)",
                                                  p.dev, p.hctl, p.devnum, uevent.string()));
  }
  BlockPathSpec s;
  s.dev_node = "/dev/" + devname;
  s.name = p.dev;
  s.wwid = p.wwid;
  s.hctl = p.hctl;
  s.tpg = p.target_port_group.value_or(0);
  s.access_state = p.access_state.value_or("");
  s.ana_state = wire::ana_state_name(p.ana);
  s.preferred = p.preferred;
  s.running = p.state.empty() || p.state == "running";
  s.vendor = p.vendor;
  s.model = p.model;
  s.rev = p.rev;
  s.serial = p.serial;
  s.block_size = p.logical_block_size != 0 ? p.logical_block_size : 512;
  s.blocks = p.size_bytes / s.block_size;
  s.max_transfer = p.max_sectors_kb * 1024;  // 0: unknown, the Fabric's default
  s.volatile_write_cache = p.write_back_cache;
  return s;
}

BlockProbeFn make_block_probe(std::shared_ptr<PathProber> prober) {
  return [prober](const std::string& dev, std::chrono::milliseconds timeout) -> Result<void> {
    const ProbeResult r = prober->probe(dev, timeout);
    switch (r.state) {
      case ProbeState::Up:
      case ProbeState::Transitioning:
      case ProbeState::Standby:
      case ProbeState::Unavailable:
        return {};
      case ProbeState::Down:
      case ProbeState::NotReady:
        break;
    }
    return make_error(Errc::Io, fmt::format("{} {}: {}", probe_state_name(r.state), dev, r.detail));
  };
}

std::string ScsiFeeder::apply(const ScsiPath& p, SyncReport& rep) {
  auto spec = to_block_path(p, opts_);
  if (!spec) {
    rep.errors.push_back(spec.error().message);
    return {};
  }
  auto r = fabric_.set_block_path(*spec);
  if (!r) rep.errors.push_back(fmt::format("{} ({}): {}", p.dev, spec->dev_node, r.error().message));
  known_[spec->dev_node] = p;  // refused ones too: they are retried at every sync
  return spec->dev_node;
}

SyncReport ScsiFeeder::sync() {
  SyncReport rep;
  // The live system through libudev's enumeration; a captured tree by scanning its sys/block.
  const bool live = opts_.sysfs_root == "/";
  auto found = discover_scsi_paths(live ? std::nullopt : std::optional<fs::path>(opts_.sysfs_root), opts_.read);
  if (!found) {
    rep.errors.push_back(found.error().message);
    rep.paths = known_.size();
    return rep;  // nothing removed on a failed scan
  }
  ScanResult scan = std::move(*found);
  rep.errors = std::move(scan.errors);
  std::set<std::string> seen;
  for (const auto& p : scan.paths) {
    if (!opts_.filter.accepts(p.wwid)) {
      rep.errors.push_back(fmt::format("{} ({}): wwid {} is not taken (wwid allow/deny list)", p.dev, p.hctl, p.wwid));
      continue;
    }
    if (std::string node = apply(p, rep); !node.empty()) seen.insert(node);
  }
  for (auto it = known_.begin(); it != known_.end();) {
    if (seen.count(it->first) != 0) {
      ++it;
      continue;
    }
    log(LogLevel::Info, "SCSI path {} ({}) is gone", it->second.dev, it->first);
    (void)fabric_.remove_block_path(it->first);
    it = known_.erase(it);
  }
  rep.paths = known_.size();
  return rep;
}

SyncReport ScsiFeeder::handle(const Uevent& ev) {
  if (ev.action != "change") return sync();
  // The path the event is about: a block device by number, a scsi_device by H:C:T:L.
  const ScsiPath* hit = nullptr;
  for (const auto& [node, p] : known_) {
    const bool block = ev.subsystem == "block" && ev.devnum != 0 &&
                       p.devnum == fmt::format("{}:{}", major(ev.devnum), minor(ev.devnum));
    const bool scsi = ev.subsystem == "scsi" && p.hctl == ev.sysname;
    if (block || scsi) {
      hit = &p;
      break;
    }
  }
  if (hit == nullptr) return sync();
  const std::string wwid = hit->wwid;
  SyncReport rep;
  std::vector<std::string> devs;
  for (const auto& [node, p] : known_) {
    if (p.wwid == wwid) devs.push_back(p.dev);
  }
  for (const auto& dev : devs) {
    auto p = read_scsi_path(opts_.sysfs_root, dev, opts_.read);
    if (!p) return sync();  // gone or changed beyond a state: start from scratch
    apply(*p, rep);
  }
  rep.paths = known_.size();
  return rep;
}

Result<std::unique_ptr<ScsiWatcher>> ScsiWatcher::start(Fabric& fabric, FeederOptions opts) {
  auto m = UeventMonitor::create();
  if (!m) return tl::unexpected(m.error());
  std::unique_ptr<ScsiWatcher> w(new ScsiWatcher(fabric, std::move(opts), std::move(*m)));
  w->first_ = w->feeder_.sync();
  w->thread_ = std::thread([raw = w.get()] { raw->run(); });
  return w;
}

ScsiWatcher::~ScsiWatcher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ScsiWatcher::run() {
  while (!stop_.load()) {
    pollfd pfd{monitor_->fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    bool rescan = monitor_->take_overflow();
    while (auto ev = monitor_->receive()) {
      ++events_;
      for (const auto& e : feeder_.handle(*ev).errors) log(LogLevel::Warn, "SCSI: {}", e);
    }
    if (rescan || monitor_->take_overflow()) {
      for (const auto& e : feeder_.sync().errors) log(LogLevel::Warn, "SCSI: {}", e);
    }
  }
}

}  // namespace nvmemp::scsi
