// Fabric: block-device (SCSI) paths. scsi_compat/ reports each path with set_block_path() (at
// start-up and on every udev event); the topology model groups them by wwid into heads; each
// I/O context opens the device itself (request_queue() → open_block()) and drives it on its
// own ring (multipath/block_path.h). There is no keep-alive: an I/O that fails with a path
// errno is failed over by the I/O context, which reports it here; the path is then probed on a
// worker thread (FabricOptions::block_probe) and taken out of service when the probe fails,
// probed again every reconnect_delay, and put back when a probe passes or its device is
// reported again.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/log.h"
#include "multipath/fabric_impl.h"

namespace nvmemp::detail {

namespace {

Result<wire::AnaState> parse_ana(const std::string& s) {
  for (auto st : {wire::AnaState::Optimized, wire::AnaState::NonOptimized, wire::AnaState::Inaccessible,
                  wire::AnaState::PersistentLoss, wire::AnaState::Change}) {
    if (s == wire::ana_state_name(st)) return st;
  }
  return make_error(Errc::InvalidArgument, fmt::format("ANA state \"{}\": use optimized, non-optimized, "
                                                       "inaccessible, persistent-loss or change", s));
}

Result<void> check_spec(const BlockPathSpec& s) {
  const std::string what = s.dev_node.empty() ? std::string("block path") : "block path " + s.dev_node;
  if (s.dev_node.empty() || s.dev_node.front() != '/') {
    return make_error(Errc::InvalidArgument, fmt::format("{}: dev_node must be an absolute path", what));
  }
  if (s.wwid.empty()) return make_error(Errc::InvalidArgument, fmt::format("{}: no wwid", what));
  if (s.block_size < 512 || (s.block_size & (s.block_size - 1)) != 0) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: block size {} is not a power of two >= 512", what,
                                                         s.block_size));
  }
  if (s.blocks == 0) return make_error(Errc::InvalidArgument, fmt::format("{}: size 0", what));
  if (auto a = parse_ana(s.ana_state); !a) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: {}", what, a.error().message));
  }
  return {};
}

}  // namespace

FabricImpl::BlockEntry* FabricImpl::block(PathId id) {
  for (auto& b : blocks_) {
    if (b->id == id) return b.get();
  }
  return nullptr;
}

FabricImpl::BlockEntry* FabricImpl::block(const std::string& dev_node) {
  for (auto& b : blocks_) {
    if (b->spec.dev_node == dev_node) return b.get();
  }
  return nullptr;
}

void FabricImpl::drop_block(BlockEntry* b) {
  topo_.remove_path(b->id);
  std::erase_if(blocks_, [&](const auto& x) { return x.get() == b; });
  dirty_ = true;
}

void FabricImpl::update_block(BlockEntry& b) {
  const BlockPathSpec& s = b.spec;
  topology::PathInput in;
  in.name = s.hctl.empty() ? s.name : fmt::format("{} {}", s.name, s.hctl);
  in.live = !b.failed && s.running;
  in.generation = b.generation;
  in.queue_size = opts_.queue_size;
  topology::BlockUnit u;
  u.dev_node = s.dev_node;
  u.wwid = s.wwid;
  u.geometry.nsze = s.blocks;
  u.geometry.lba_size = s.block_size;
  u.ana = topology::NsAna{parse_ana(s.ana_state).value_or(wire::AnaState::Inaccessible), s.tpg};
  u.preferred = s.preferred;
  u.limits.max_data_len = s.max_transfer != 0 ? std::min(s.max_transfer, opts_.max_transfer) : opts_.max_transfer;
  u.limits.vwc = s.volatile_write_cache;
  in.block = std::move(u);
  b.last_error.clear();
  for (const auto& err : topo_.update_path(b.id, in)) {
    log(LogLevel::Error, "{}", err.message);
    b.last_error = err.message;
  }
  dirty_ = true;
}

PathInfo FabricImpl::block_info(const BlockEntry& b) const {
  PathInfo p;
  p.id = b.id;
  p.transport = "scsi";
  p.name = b.spec.hctl.empty() ? b.spec.name : fmt::format("{} {}", b.spec.name, b.spec.hctl);
  p.subnqn = b.spec.wwid;
  p.state = b.failed ? "failed" : (b.spec.running ? "live" : "offline");
  p.reconnects = b.reconnects;
  p.last_error = b.last_error;
  p.counters = b.counters->sum();
  p.dev = b.spec.dev_node;
  p.hctl = b.spec.hctl;
  p.tpg = b.spec.tpg;
  p.access_state = b.spec.access_state;
  p.preferred = b.spec.preferred;
  p.vendor = b.spec.vendor;
  p.model = b.spec.model;
  p.rev = b.spec.rev;
  p.serial = b.spec.serial;
  return p;
}

Result<PathInfo> FabricImpl::set_block_path(const BlockPathSpec& spec) {
  if (auto ok = check_spec(spec); !ok) return tl::unexpected(ok.error());
  return call<Result<PathInfo>>(
      [this, spec](std::function<void(Result<PathInfo>)> reply) {
        BlockEntry* b = block(spec.dev_node);
        if (b != nullptr && b->spec.wwid != spec.wwid) {
          // Another logical unit behind the same device node: a new path.
          log(LogLevel::Info, "{}: wwid changed from {} to {}", spec.dev_node, b->spec.wwid, spec.wwid);
          drop_block(b);
          b = nullptr;
        }
        if (b == nullptr) {
          topology::ConnectionKey key{spec.dev_node, 0, spec.wwid, "scsi"};
          auto id = topo_.add_path(key);
          if (!id) {
            reply(tl::unexpected(id.error()));
            return;
          }
          auto e = std::make_unique<BlockEntry>();
          e->id = *id;
          e->key = key;
          e->counters = new_counters<topology::PathCounterSet>();
          blocks_.push_back(std::move(e));
          b = blocks_.back().get();
          log(LogLevel::Info, "block path {} ({}) added to {}", spec.dev_node, spec.hctl, spec.wwid);
        }
        b->spec = spec;
        if (b->failed) {
          b->failed = false;  // reported again: give it another chance
          ++b->generation;
          ++b->reconnects;
        }
        update_block(*b);
        if (!b->last_error.empty()) {
          reply(make_error(Errc::InvalidArgument, b->last_error));
          return;
        }
        reply(block_info(*b));
      },
      make_error(Errc::Timeout, "set_block_path: no answer from the control thread"));
}

Result<void> FabricImpl::remove_block_path(const std::string& dev_node) {
  return call<Result<void>>(
      [this, dev_node](std::function<void(Result<void>)> reply) {
        BlockEntry* b = block(dev_node);
        if (b == nullptr) {
          reply(make_error(Errc::NotFound, fmt::format("no block path {}", dev_node)));
          return;
        }
        drop_block(b);
        reply({});
      },
      make_error(Errc::Timeout, "remove_block_path: no answer from the control thread"));
}

Result<int> FabricImpl::open_block(PathId path, std::uint64_t generation) {
  BlockEntry* b = block(path);
  if (b == nullptr) return make_error(Errc::NotFound, fmt::format("path {} is gone", path));
  if (b->failed || b->generation != generation) {
    return make_error(Errc::Protocol, fmt::format("{}: out of service", b->spec.dev_node));
  }
  const int fd = ::open(b->spec.dev_node.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = fmt::format("open {} (O_DIRECT): {}", b->spec.dev_node, std::strerror(errno));
    probe_block(*b, why);
    return make_error(Errc::Io, why);
  }
  return fd;
}

void FabricImpl::probe_block(BlockEntry& b, const std::string& why) {
  if (b.probing) return;
  if (!opts_.block_probe) {
    if (!b.failed) {
      log(LogLevel::Warn, "block path {}: {}; out of service until its device is reported again (no probe)",
          b.spec.dev_node, why);
      b.failed = true;
      update_block(b);
      b.last_error = why;
    }
    return;
  }
  b.probing = true;
  Probe pr;
  const PathId id = b.id;
  pr.thread = std::thread([this, id, why, fn = opts_.block_probe, dev = b.spec.dev_node,
                           timeout = opts_.probe_timeout, done = pr.done] {
    Result<void> r = fn(dev, timeout);
    reactor_->post([this, id, why, r] {
      BlockEntry* x = block(id);
      if (x == nullptr) return;
      x->probing = false;
      if (r) {
        if (x->failed) {
          log(LogLevel::Info, "block path {}: probe passed; back in service", x->spec.dev_node);
          x->failed = false;
          ++x->generation;
          ++x->reconnects;
          update_block(*x);
        }
        return;
      }
      const std::string msg = fmt::format("{}; probe: {}", why, r.error().message);
      if (!x->failed) {
        log(LogLevel::Warn, "block path {}: {}; out of service, probed again every {} s", x->spec.dev_node, msg,
            opts_.reconnect_delay.count());
        x->failed = true;
        update_block(*x);
      }
      x->last_error = msg;
      x->reprobe_at = clock_.now() + opts_.reconnect_delay;
    });
    done->store(true, std::memory_order_release);
  });
  probes_.push_back(std::move(pr));
}

void FabricImpl::tick_blocks() {
  std::erase_if(probes_, [](Probe& p) {
    if (!p.done->load(std::memory_order_acquire)) return false;
    p.thread.join();
    return true;
  });
  const TimePoint now = clock_.now();
  for (auto& b : blocks_) {
    if (b->failed && !b->probing && opts_.block_probe && now >= b->reprobe_at) {
      probe_block(*b, "re-probe of a failed path");
    }
  }
}

void FabricImpl::report_path_error(PathId path, std::uint64_t generation, const std::string& why) {
  reactor_->post([this, path, generation, why] {
    BlockEntry* b = block(path);
    if (b != nullptr && !b->failed && b->generation == generation) probe_block(*b, why);
  });
}

}  // namespace nvmemp::detail
