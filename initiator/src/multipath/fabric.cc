// Fabric: the control thread. It owns the controllers (one per path), the topology model and
// the snapshot publisher; I/O contexts talk to it only through ControlLink (posted) and the
// snapshot mailboxes. Public calls from other threads are posted to its reactor and waited for.
#include <unistd.h>

#include <set>

#include <fmt/format.h>

#include "auth/dhchap_key_impl.h"
#include "common/log.h"
#include "multipath/fabric_impl.h"
#include "multipath/tls_options.h"
#include "wire/libnvme_types.h"

namespace nvmemp::detail {

topology::HeadRules rules_of(const FabricOptions& o) {
  topology::HeadRules r;
  r.no_path_retry = o.no_path_retry;
  r.failover.max_attempts = o.max_retries;
  if (o.write_failover_delay) r.failover.write_failover_delay = *o.write_failover_delay;
  return r;
}

ContextHandle::~ContextHandle() {
  fabric_.release_context(engine_->index());
  engine_.reset();
}

Result<void> FabricImpl::init() {
  controller::HostIdentityOptions ho;
  if (!opts_.hostnqn.empty()) ho.hostnqn = opts_.hostnqn;
  if (!opts_.hostid.empty()) ho.hostid = opts_.hostid;
  auto h = controller::load_host_identity(ho);
  if (!h) return tl::unexpected(h.error());
  host_ = std::move(*h);
  if (host_.generated) log(LogLevel::Info, "{}", host_.hint);
  if (opts_.max_io_contexts == 0 || opts_.max_io_contexts > topology::kMaxIoContexts) {
    return make_error(Errc::InvalidArgument, fmt::format("max_io_contexts {} must be 1..{}", opts_.max_io_contexts,
                                                         topology::kMaxIoContexts));
  }
  if (opts_.queue_size < 2 || opts_.queue_size > 1024) {
    return make_error(Errc::InvalidArgument, fmt::format("queue_size {} must be 2..1024", opts_.queue_size));
  }
  topo_.set_default_policy(opts_.policy);
  topo_.set_default_rules(rules_of(opts_));
  contexts_.assign(opts_.max_io_contexts, nullptr);
  // The reactor belongs to the control thread (single issuer): create it there.
  std::promise<Result<void>> ready;
  auto fut = ready.get_future();
  thread_ = std::thread([this, &ready] {
    thread_id_ = std::this_thread::get_id();
    auto r = transport::Reactor::create(clock_);
    if (!r) {
      ready.set_value(tl::unexpected(r.error()));
      return;
    }
    reactor_ = std::move(*r);
    ready.set_value({});
    loop();
  });
  auto res = fut.get();
  if (!res) {
    thread_.join();
    return res;
  }
  return {};
}

FabricImpl::~FabricImpl() {
  if (!reactor_) return;
  // Orderly shutdown of every controller, bounded, on the control thread.
  call<bool>(
      [this](std::function<void(bool)> reply) {
        std::vector<Controller*> live;
        for (auto& e : entries_) {
          if (e->ctrl->state() != CtrlState::Dead && !e->removed) live.push_back(e->ctrl.get());
        }
        for (auto& w : watches_) {
          if (w->ctrl && !w->removed && w->ctrl->state() != CtrlState::Dead && w->ctrl->state() != CtrlState::New) {
            w->on_log = nullptr;
            live.push_back(w->ctrl.get());
          }
        }
        if (live.empty()) {
          reply(true);
          return;
        }
        auto left = std::make_shared<std::size_t>(live.size());
        for (Controller* c : live) {
          c->shutdown([left, reply](const Result<void>&) {
            if (--*left == 0) reply(true);
          });
        }
      },
      false);
  stop_ = true;
  reactor_->post([] {});
  thread_.join();
}

void FabricImpl::loop() {
  while (!stop_.load(std::memory_order_acquire)) {
    (void)reactor_->poll(10ms);
    // By index: a tick's callbacks may add entries or discoveries (no iterator to invalidate).
    for (std::size_t i = 0; i < entries_.size(); ++i) entries_[i]->ctrl->tick();
    for (std::size_t i = 0; i < discoveries_.size(); ++i) discoveries_[i]->tick();
    tick_watches();
    tick_blocks();
    tick_refused_queues();
    tick_reauth();
    tick_reset();
    std::erase_if(discoveries_, [](const auto& d) { return d->finished(); });
    for (auto& e : entries_) {
      const bool ff = e->ctrl->io_fail_fast();
      if (ff != e->fail_fast) {
        e->fail_fast = ff;
        dirty_ = true;
      }
    }
    // Controllers are destroyed here, never inside their own callbacks.
    std::erase_if(entries_, [&](const auto& e) {
      if (!e->removed) return false;
      topo_.remove_path(e->id);
      dirty_ = true;
      return true;
    });
    if (dirty_) publish();
    publisher_.collect();
  }
  for (auto& p : probes_) p.thread.join();  // bounded by probe_timeout; their posts never run
  probes_.clear();
  entries_.clear();
  watches_.clear();
  retired_.clear();
}

FabricImpl::Entry* FabricImpl::entry(PathId id) {
  for (auto& e : entries_) {
    if (e->id == id && !e->removed) return e.get();
  }
  return nullptr;
}

void FabricImpl::update(Entry& e) {
  const Controller& c = *e.ctrl;
  topology::PathInput in;
  in.name = c.name();
  in.endpoint = c.options().endpoint;
  in.live = c.state() == CtrlState::Live;
  in.dead = c.state() == CtrlState::Dead;
  in.generation = e.generation;
  in.info = c.info().cntlid != 0 || e.generation > 0 ? &c.info() : nullptr;
  in.queue_size = c.info().io_queue_size != 0 ? c.info().io_queue_size : c.options().queue_size;
  in.hdgst = c.options().hdgst;
  in.ddgst = c.options().ddgst;
  in.dhchap = c.options().dhchap;
  in.facts.crdt_100ms = c.info().id.crdt;
  in.facts.kato = c.options().kato;
  in.facts.cqt = std::chrono::milliseconds(c.info().id.cqt_ms);
  in.facts.last_alive = in.live ? c.last_alive() : e.down_since;
  in.io_timeout = e.io_timeout;
  in.stall_timeout = e.stall_timeout;
  for (const auto& err : topo_.update_path(e.id, in)) {
    log(LogLevel::Error, "{}", err.message);
  }
  dirty_ = true;
}

void FabricImpl::publish() {
  dirty_ = false;
  auto s = std::make_shared<TopologySnapshot>(*topo_.build());
  for (auto& pv : s->paths) {
    if (Entry* e = entry(pv.id)) {
      pv.counters = e->counters;
      pv.fail_fast = e->fail_fast;
    } else if (BlockEntry* b = block(pv.id)) {
      pv.counters = b->counters;
    }
  }
  attach_counters(*s);
  publisher_.publish(std::move(s));
}

void FabricImpl::attach_counters(TopologySnapshot& s) {
  std::set<HeadId> heads;
  std::set<PathId> paths;
  for (const auto& pv : s.paths) paths.insert(pv.id);
  for (auto& hv : s.heads) {
    heads.insert(hv.id);
    auto& c = head_counters_[hv.id];
    if (!c) c = new_counters<topology::HeadCounterSet>();
    hv.counters = c;
    for (auto& hp : hv.paths) {
      auto& pc = head_path_counters_[{hv.id, s.paths[hp.path_index].id}];
      if (!pc) pc = new_counters<topology::HeadPathCounterSet>();
      hp.counters = pc;
    }
  }
  // A head that is gone never comes back (ids are not reused); a path left out of a head's
  // list for a while (a geometry change) keeps its counts while the path exists.
  std::erase_if(head_counters_, [&](const auto& kv) { return !heads.contains(kv.first); });
  std::erase_if(head_path_counters_, [&](const auto& kv) {
    return !heads.contains(kv.first.first) || !paths.contains(kv.first.second);
  });
}

void FabricImpl::start_controller(Entry& ent, std::function<void(Result<PathInfo>)> reply) {
  const PathId id = ent.id;
  ent.ctrl->on_state([this, id](Controller& c, CtrlState s, const std::string&) {
    Entry* e = entry(id);
    if (e == nullptr) return;
    if (s == CtrlState::Live) {
      if (e->generation > 0) ++e->reconnects;
      ++e->generation;
      e->queues_refused.clear();
      e->queue_error.clear();
      e->refused_reset_at = TimePoint{};
    } else if (s == CtrlState::Resetting || e->down_since == TimePoint{}) {
      e->down_since = clock_.now();  // declared lost: nothing more is sent to it from now on
    }
    (void)c;
    update(*e);
  });
  ent.ctrl->on_event([this, id](Controller&, const wire::AsyncEvent& ev) {
    Entry* e = entry(id);
    if (e == nullptr) return;
    if (ev.log_page == 0x0C) {  // ANA change notice
      e->ana_changed = std::chrono::system_clock::now();
    }
    update(*e);
  });
  ent.ctrl->on_ana([this, id](Controller&) {
    if (Entry* e = entry(id)) {
      // From the I/O that saw an ANA status when there was one, else from the read's start
      // (which follows the ANA change event at once).
      const Nanos took = e->ana_error_at != TimePoint{} ? clock_.now() - e->ana_error_at
                                                        : e->ctrl->last_ana_read_took();
      e->ana_took = std::chrono::duration_cast<std::chrono::microseconds>(took);
      e->ana_error_at = TimePoint{};
      e->ana_changed = std::chrono::system_clock::now();
      update(*e);
    }
  });
  ent.ctrl->connect([this, id, reply](const Result<void>& r) {
    Entry* e = entry(id);
    if (e == nullptr) {
      reply(make_error(Errc::NotFound, "the path was removed during its bring-up"));
      return;
    }
    if (!r) {
      e->removed = true;  // a first connect that fails leaves nothing behind (as nvme connect)
      reply(tl::unexpected(r.error()));
      return;
    }
    update(*e);
    reply(path_info(*e));
  });
}

FabricImpl::Entry* FabricImpl::add_entry(const Endpoint& ep, const std::string& subnqn, const FabricOptions& knobs,
                                         Result<PathId>& id) {
  if (knobs.queue_size < 2 || knobs.queue_size > 1024) {
    id = make_error(Errc::InvalidArgument, fmt::format("queue_size {} must be 2..1024", knobs.queue_size));
    return nullptr;
  }
  std::shared_ptr<const auth::DhchapKeys> keys;
  if (!knobs.dhchap_ctrl_secret.empty() && knobs.dhchap_secret.empty()) {
    id = make_error(Errc::InvalidArgument, fmt::format("{}: a controller key (dhchap_ctrl_secret) needs a host key "
                                                       "(dhchap_secret) as well",
                                                       subnqn));
    return nullptr;
  }
  if (!knobs.dhchap_secret.empty()) {
    const auth::DhchapSecret* ctrl =
        knobs.dhchap_ctrl_secret.empty() ? nullptr : &knobs.dhchap_ctrl_secret.impl()->secret;
    auto k = auth::make_dhchap_keys(knobs.dhchap_secret.impl()->secret, ctrl, host_.hostnqn, subnqn);
    if (!k) {
      id = make_error(k.error().code, fmt::format("{}: {}", subnqn, k.error().message));
      return nullptr;
    }
    keys = std::move(*k);
  }
  std::shared_ptr<const tls::TlsPsk> tls_psk;
  if (knobs.tls) {
    auto t = multipath::tls_psk_for(knobs, host_.hostnqn, subnqn, fmt::format("{} @ {}:{}", subnqn, ep.traddr, ep.trsvcid));
    if (!t) {
      id = tl::unexpected(t.error());
      return nullptr;
    }
    tls_psk = std::move(*t);
  }
  topology::ConnectionKey key{ep.traddr, ep.trsvcid, subnqn, host_.hostnqn};
  id = topo_.add_path(key);
  if (!id) return nullptr;
  controller::ControllerOptions co;
  co.endpoint = transport::TcpEndpoint{ep.traddr, ep.trsvcid, ep.host_traddr, ep.host_iface};
  co.subnqn = subnqn;
  co.host = host_;
  co.kato = knobs.keep_alive_tmo;
  co.queue_size = knobs.queue_size;
  co.nr_io_queues = opts_.max_io_contexts;
  co.hdgst = knobs.hdr_digest;
  co.ddgst = knobs.data_digest;
  co.reconnect_delay = knobs.reconnect_delay;
  co.ctrl_loss_tmo = knobs.ctrl_loss_tmo;
  co.fast_io_fail_tmo = knobs.fast_io_fail_tmo;
  co.max_data_len = knobs.max_transfer;
  co.admin_timeout = knobs.admin_timeout;
  co.dhchap = std::move(keys);
  co.tls = std::move(tls_psk);
  auto e = std::make_unique<Entry>();
  e->id = *id;
  e->key = key;
  e->counters = new_counters<topology::PathCounterSet>();
  e->io_timeout = knobs.io_timeout;
  e->stall_timeout = knobs.stall_timeout;
  e->probe_timeout = knobs.probe_timeout;
  e->ctrl = std::make_unique<Controller>(*reactor_, clock_, co);
  entries_.push_back(std::move(e));
  return entries_.back().get();
}

Result<PathInfo> FabricImpl::connect(const Endpoint& ep, const std::string& subnqn) {
  return connect(ep, subnqn, opts_);
}

Result<void> FabricImpl::set_subsystem_rules(const std::string& subnqn, const FabricOptions& knobs) {
  return call<Result<void>>(
      [this, subnqn, knobs](std::function<void(Result<void>)> reply) {
        topo_.set_rules(subnqn, rules_of(knobs));
        dirty_ = true;
        reply({});
      },
      make_error(Errc::Timeout, "set_subsystem_rules: no answer from the control thread"));
}

Result<PathInfo> FabricImpl::connect(const Endpoint& ep, const std::string& subnqn, const FabricOptions& knobs) {
  return call<Result<PathInfo>>(
      [this, ep, subnqn, knobs](std::function<void(Result<PathInfo>)> reply) {
        Result<PathId> id = PathId{0};
        Entry* e = add_entry(ep, subnqn, knobs, id);
        if (e == nullptr) {
          reply(tl::unexpected(id.error()));
          return;
        }
        start_controller(*e, reply);
      },
      make_error(Errc::Timeout, fmt::format("connect to {} @ {}:{}: no answer from the control thread", subnqn,
                                            ep.traddr, ep.trsvcid)));
}

Result<void> FabricImpl::disconnect(std::uint16_t path_id) {
  return call<Result<void>>(
      [this, path_id](std::function<void(Result<void>)> reply) {
        Entry* e = entry(path_id);
        if (BlockEntry* b = e == nullptr ? block(path_id) : nullptr) {
          drop_block(b);
          reply({});
          return;
        }
        if (e == nullptr) {
          reply(make_error(Errc::NotFound, fmt::format("path {} does not exist", path_id)));
          return;
        }
        e->ctrl->shutdown([this, path_id, reply](const Result<void>&) {
          if (Entry* x = entry(path_id)) x->removed = true;
          reply({});
        });
      },
      make_error(Errc::Timeout, "disconnect: no answer from the control thread"));
}

Result<void> FabricImpl::set_policy(const std::string& subnqn, IoPolicy policy) {
  return call<Result<void>>(
      [this, subnqn, policy](std::function<void(Result<void>)> reply) {
        auto r = topo_.set_policy(subnqn, policy);
        if (r) dirty_ = true;
        reply(r);
      },
      make_error(Errc::Timeout, "set_policy: no answer from the control thread"));
}

PathInfo FabricImpl::path_info(const Entry& e) const {
  PathInfo p;
  p.id = e.id;
  p.name = e.ctrl->name();
  p.subnqn = e.key.subnqn;
  p.traddr = e.key.traddr;
  p.trsvcid = e.key.trsvcid;
  p.cntlid = e.ctrl->info().cntlid;
  p.state = controller::ctrl_state_name(e.ctrl->state());
  p.reconnects = e.reconnects;
  p.last_error = e.ctrl->last_error();
  p.counters = e.counters->sum();
  p.queue_size = e.ctrl->info().io_queue_size;
  p.io_queues = e.ctrl->info().io_queues;
  p.queues_refused = static_cast<std::uint16_t>(e.queues_refused.size());
  p.queue_error = e.queue_error;
  p.auth = e.ctrl->info().auth;
  if (const auto& t = e.ctrl->options().tls) {
    p.tls = t->hash == tls::PskHash::Sha384 ? "TLS 1.3 TLS_AES_256_GCM_SHA384" : "TLS 1.3 TLS_AES_128_GCM_SHA256";
    p.tls_identity = t->identity;
  }
  return p;
}

HeadInfo FabricImpl::head_info(const topology::HeadView& h, const TopologySnapshot& s) const {
  HeadInfo hi;
  hi.id = h.id;
  const bool scsi = !h.paths.empty() && s.paths[h.paths.front().path_index].kind == topology::PathKind::Block;
  hi.transport = scsi ? "scsi" : "tcp";
  hi.subnqn = h.subnqn;
  hi.nsid = h.nsid;
  hi.wwid = h.wwid;
  hi.blocks = h.geometry.nsze;
  hi.block_size = h.geometry.lba_size;
  hi.max_transfer = h.limits.max_data_len;
  hi.volatile_write_cache = h.limits.vwc;
  hi.can_deallocate = (h.limits.oncs & NVME_CTRL_ONCS_DSM) != 0;
  hi.can_write_zeroes = (h.limits.oncs & NVME_CTRL_ONCS_WRITE_ZEROES) != 0;
  hi.policy = h.policy;
  bool any_optimized = false;
  for (const auto& hp : h.paths) {
    const auto& pv = s.paths[hp.path_index];
    const multipath::PathCandidate c{pv.id, pv.live, hp.ana, 0};
    const bool usable = multipath::path_selectable(c);
    any_optimized = any_optimized || (usable && hp.ana == wire::AnaState::Optimized);
    hi.paths.push_back(HeadPathInfo{pv.id, wire::ana_state_name(hp.ana), hp.anagrpid, usable, false,
                                    hp.counters ? hp.counters->sum() : HeadPathCounters{}});
  }
  for (auto& p : hi.paths) {
    p.current = p.usable && (!any_optimized || p.ana_state == "optimized");
  }
  if (h.counters) hi.counters = h.counters->sum();
  for (const auto& hp : h.paths) {
    for (const auto& e : entries_) {
      if (e->id != s.paths[hp.path_index].id || !e->ana_changed) continue;
      if (!hi.last_ana_change || *e->ana_changed > *hi.last_ana_change) {
        hi.last_ana_change = e->ana_changed;
        hi.last_ana_change_took = e->ana_took;
      }
    }
  }
  return hi;
}

Result<HeadInfo> FabricImpl::find_head(const std::string& subnqn, std::uint32_t nsid) {
  return call<Result<HeadInfo>>(
      [this, subnqn, nsid](std::function<void(Result<HeadInfo>)> reply) {
        if (dirty_) publish();
        auto id = topo_.find(subnqn, nsid);
        const auto& s = publisher_.current();
        const topology::HeadView* h = (id && s) ? s->head(*id) : nullptr;
        if (h == nullptr) {
          reply(make_error(Errc::NotFound, fmt::format("no namespace {} of {} on any connected path: check the "
                                                       "nsid with `mpath-connect discover` / the target", nsid,
                                                       subnqn)));
          return;
        }
        reply(head_info(*h, *s));
      },
      make_error(Errc::Timeout, "find_head: no answer from the control thread"));
}

Result<HeadInfo> FabricImpl::find_wwid(const std::string& wwid) {
  return call<Result<HeadInfo>>(
      [this, wwid](std::function<void(Result<HeadInfo>)> reply) {
        if (dirty_) publish();
        auto id = topo_.find_wwid(wwid);
        const auto& s = publisher_.current();
        const topology::HeadView* h = (id && s) ? s->head(*id) : nullptr;
        if (h == nullptr) {
          reply(make_error(Errc::NotFound, fmt::format("no namespace with wwid {} on any connected path", wwid)));
          return;
        }
        reply(head_info(*h, *s));
      },
      make_error(Errc::Timeout, "find_wwid: no answer from the control thread"));
}

TopologyInfo FabricImpl::topology() {
  return call<TopologyInfo>(
      [this](std::function<void(TopologyInfo)> reply) {
        if (dirty_) publish();
        TopologyInfo t;
        for (const auto& e : entries_) {
          if (!e->removed) t.paths.push_back(path_info(*e));
        }
        for (const auto& b : blocks_) t.paths.push_back(block_info(*b));
        if (const auto& s = publisher_.current()) {
          for (const auto& h : s->heads) t.heads.push_back(head_info(h, *s));
        }
        reply(std::move(t));
      },
      TopologyInfo{});
}

Result<std::unique_ptr<IoContext>> FabricImpl::create_io_context() {
  auto r = transport::Reactor::create(clock_, 2 * opts_.queue_size * opts_.max_io_contexts + 64);
  if (!r) return tl::unexpected(r.error());
  multipath::EngineOptions eo;
  eo.host = host_;
  eo.io_timeout = opts_.io_timeout;
  eo.stall_timeout = opts_.stall_timeout;
  eo.failover.max_attempts = opts_.max_retries;
  if (opts_.write_failover_delay) eo.failover.write_failover_delay = *opts_.write_failover_delay;
  eo.no_path_retry = opts_.no_path_retry;
  eo.poll_mode = opts_.poll_mode;
  auto slot = call<int>(
      [this](std::function<void(int)> reply) {
        for (std::size_t i = 0; i < contexts_.size(); ++i) {
          if (contexts_[i] == nullptr) {
            contexts_[i] = reserved_context();  // until the engine exists
            reply(static_cast<int>(i));
            return;
          }
        }
        reply(-1);
      },
      -1);
  if (slot < 0) {
    return make_error(Errc::InvalidArgument, fmt::format("all {} I/O contexts are in use (FabricOptions::"
                                                         "max_io_contexts)", opts_.max_io_contexts));
  }
  auto engine = std::make_unique<IoEngine>(static_cast<unsigned>(slot), std::move(*r), clock_, eo, *this);
  IoEngine* raw = engine.get();
  call<bool>(
      [this, raw, slot](std::function<void(bool)> reply) {
        contexts_[static_cast<std::size_t>(slot)] = raw;
        if (dirty_) publish();
        publisher_.subscribe(&raw->mailbox());
        reply(true);
      },
      false);
  return std::unique_ptr<IoContext>(new ContextHandle(*this, std::move(engine)));
}

void FabricImpl::release_context(unsigned index) {
  call<bool>(
      [this, index](std::function<void(bool)> reply) {
        if (IoEngine* e = contexts_[index]) publisher_.unsubscribe(&e->mailbox());
        contexts_[index] = nullptr;
        reauth_context_gone(index);
        reply(true);
      },
      false);
}

}  // namespace nvmemp::detail

namespace nvmemp {

Result<std::unique_ptr<Fabric>> Fabric::start(const FabricOptions& opts) {
  using detail::FabricImpl;
  auto f = std::make_unique<FabricImpl>(opts);
  if (auto r = f->init(); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Fabric>(std::move(f));
}

}  // namespace nvmemp
