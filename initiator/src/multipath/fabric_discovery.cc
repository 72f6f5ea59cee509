// Fabric and discovery controllers: connect-all (one log read, referrals followed, every TCP
// port of one subsystem connected) and persistent discovery controllers (watch_discovery: kept
// connected, their log read again after every Discovery Log Page Change event).
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "common/log.h"
#include "multipath/fabric_impl.h"
#include "multipath/tls_options.h"

namespace nvmemp::detail {

namespace {

constexpr std::uint8_t kLidDiscovery = 0x70;

std::uint16_t port_number(const std::string& trsvcid) {
  unsigned port = 0;
  auto [p, ec] = std::from_chars(trsvcid.data(), trsvcid.data() + trsvcid.size(), port);
  return (ec == std::errc() && p == trsvcid.data() + trsvcid.size() && port <= 65535) ? static_cast<std::uint16_t>(port)
                                                                                         : 0;
}

const char* subtype_name(const wire::DiscoveryLogEntry& e) {
  return e.is_nvm_subsystem() ? "nvme" : e.is_referral() ? "referral" : e.is_current_discovery() ? "current" : "other";
}

}  // namespace

}  // namespace nvmemp::detail

namespace nvmemp {

Result<bool> discovery_entry_tls(const DiscoveryEntry& e, const FabricOptions& knobs) {
  return discovery::choose_tls(discovery::tls_need(e.treq, e.trtype == "tcp" ? e.sectype : std::uint8_t{0}), knobs.tls,
                               !knobs.tls_key.empty(), fmt::format("{} @ {}:{}", e.subnqn, e.traddr, e.trsvcid));
}

}  // namespace nvmemp

namespace nvmemp::detail {

namespace {

// The TLS PSK of a discovery controller connection under `knobs` (null: no key configured);
// tls without a key is an error naming the controller.
Result<std::shared_ptr<const tls::TlsPsk>> discovery_psk(const FabricOptions& knobs, const std::string& hostnqn,
                                                         const Endpoint& ep) {
  return multipath::tls_psk_for(knobs, hostnqn, controller::kDiscoveryNqn,
                                fmt::format("discovery controller {}:{}", ep.traddr, ep.trsvcid));
}

}  // namespace

Result<std::vector<PathInfo>> FabricImpl::connect_all(const Endpoint& disc, const std::string& subnqn) {
  return connect_all(disc, subnqn, opts_);
}

Result<std::vector<PathInfo>> FabricImpl::connect_all(const Endpoint& disc, const std::string& subnqn,
                                                      const FabricOptions& knobs) {
  using Records = Result<discovery::DiscoveryResult>;
  auto recs = call<Records>(
      [this, disc, knobs](std::function<void(Records)> reply) {
        auto psk = discovery_psk(knobs, host_.hostnqn, disc);
        if (!psk) {
          reply(tl::unexpected(psk.error()));
          return;
        }
        discovery::DiscoveryOptions o;
        o.controller.endpoint = transport::TcpEndpoint{disc.traddr, disc.trsvcid, disc.host_traddr, disc.host_iface};
        o.controller.subnqn = controller::kDiscoveryNqn;
        o.controller.host = host_;
        o.controller.kato = 0s;
        o.controller.admin_timeout = opts_.admin_timeout;
        o.controller.tls = knobs.tls ? *psk : nullptr;
        o.referral_tls = *psk;
        discoveries_.push_back(std::make_unique<discovery::Discovery>(*reactor_, clock_, o));
        discoveries_.back()->start([reply](Records r) { reply(std::move(r)); });
      },
      make_error(Errc::Timeout, "discovery: no answer from the control thread"));
  if (!recs) return tl::unexpected(recs.error());
  std::vector<PathInfo> out;
  std::vector<std::string> errors;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& rec : recs->records) {
    const auto& en = rec.entry;
    if (!en.is_tcp() || en.subnqn != subnqn || !seen.insert({en.traddr, en.trsvcid}).second) continue;
    Endpoint ep;
    ep.traddr = en.traddr;
    ep.host_traddr = disc.host_traddr;
    ep.host_iface = disc.host_iface;
    unsigned port = 0;
    auto [p, ec] = std::from_chars(en.trsvcid.data(), en.trsvcid.data() + en.trsvcid.size(), port);
    if (ec != std::errc() || port == 0 || port > 65535) {
      errors.push_back(fmt::format("{} (from {}): trsvcid \"{}\" is not a port", en.traddr, rec.source, en.trsvcid));
      continue;
    }
    ep.trsvcid = static_cast<std::uint16_t>(port);
    auto tls = discovery::choose_tls(discovery::tls_need(en), knobs.tls, !knobs.tls_key.empty(),
                                     fmt::format("{} @ {}:{}", subnqn, en.traddr, en.trsvcid));
    if (!tls) {
      errors.push_back(tls.error().message);
      log(LogLevel::Warn, "connect-all: {}", tls.error().message);
      continue;
    }
    FabricOptions path_knobs = knobs;
    path_knobs.tls = *tls;
    auto r = connect(ep, subnqn, path_knobs);
    if (r) {
      out.push_back(std::move(*r));
    } else {
      errors.push_back(r.error().message);
      log(LogLevel::Warn, "connect-all: {}", r.error().message);
    }
  }
  if (out.empty()) {
    std::string why = errors.empty() ? fmt::format("the discovery log at {}:{} lists no TCP entry for {}", disc.traddr,
                                                   disc.trsvcid, subnqn)
                                     : fmt::format("no path of {} could be connected: {}", subnqn,
                                                   fmt::join(errors, "; "));
    return make_error(Errc::NotFound, why);
  }
  return out;
}

FabricImpl::Watch* FabricImpl::watch(std::uint32_t id) {
  for (auto& w : watches_) {
    if (w->id == id && !w->removed) return w.get();
  }
  return nullptr;
}

void FabricImpl::start_watch(Watch& w) {
  controller::ControllerOptions co;
  co.endpoint = transport::TcpEndpoint{w.endpoint.traddr, w.endpoint.trsvcid, w.endpoint.host_traddr,
                                       w.endpoint.host_iface};
  co.subnqn = controller::kDiscoveryNqn;
  co.host = host_;
  co.kato = opts_.keep_alive_tmo;  // persistent: keep-alive, and log change events
  co.reconnect_delay = opts_.reconnect_delay;
  co.ctrl_loss_tmo = std::chrono::seconds(-1);
  co.admin_timeout = opts_.admin_timeout;
  co.tls = w.tls;
  w.ctrl = std::make_unique<Controller>(*reactor_, clock_, co);
  const std::uint32_t id = w.id;
  w.ctrl->on_state([this, id](Controller&, CtrlState s, const std::string&) {
    if (s != CtrlState::Live) return;
    if (Watch* x = watch(id)) {
      if (auto back = x->retry.succeeded(clock_.now())) log(LogLevel::Info, "discovery controller {}: {}", x->source, *back);
    }
    read_watch(id);  // first bring-up and every reconnect
  });
  w.ctrl->on_event([this, id](Controller&, const wire::AsyncEvent& ev) {
    if (ev.log_page == kLidDiscovery) read_watch(id);
  });
  w.ctrl->connect([this, id](const Result<void>& r) {
    Watch* x = watch(id);
    if (x == nullptr || r) return;
    // The first connect failed: a new controller after reconnect_delay (later losses are the
    // controller's own reconnects).
    x->retry.rename(fmt::format("discovery controller {}", x->source));
    x->retry.failed(clock_.now(), r.error().message, retry_plan(opts_.reconnect_delay, std::nullopt));
    x->retry_at = clock_.now() + opts_.reconnect_delay;
  });
}

void FabricImpl::read_watch(std::uint32_t id) {
  Watch* w = watch(id);
  if (w == nullptr) return;
  if (w->reading) {
    w->reread = true;  // one more read after this one: the log seen is never older than the event
    return;
  }
  w->reading = true;
  discovery::read_discovery_log(*w->ctrl, 5, [this, id](Result<wire::DiscoveryLog> log) {
    Watch* x = watch(id);
    if (x == nullptr) return;
    x->reading = false;
    if (!log) {
      nvmemp::log(LogLevel::Warn, "discovery controller {}: log page 0x70: {}", x->source, log.error().message);
    } else {
      DiscoveryLogInfo info;
      info.watch = id;
      info.source = x->source;
      info.genctr = log->header.genctr;
      for (const auto& e : log->entries) {
        info.entries.push_back(DiscoveryEntry{subtype_name(e), e.is_tcp() ? "tcp" : fmt::format("trtype {}", e.trtype),
                                              e.subnqn, e.traddr, port_number(e.trsvcid), e.treq,
                                              e.is_tcp() ? e.sectype : std::uint8_t{0}});
      }
      nvmemp::log(LogLevel::Info, "discovery controller {}: log generation {}, {} entries", x->source, info.genctr,
                  info.entries.size());
      if (x->on_log) x->on_log(info);
    }
    if (x->reread) {
      x->reread = false;
      read_watch(id);
    }
  });
}

void FabricImpl::tick_watches() {
  const TimePoint now = clock_.now();
  // By index, not by iterator: a tick runs callbacks that may add watches or retire
  // controllers, and a push_back would leave a range-for with dangling iterators.
  for (std::size_t i = 0; i < watches_.size(); ++i) {
    Watch* w = watches_[i].get();
    if (w->removed) continue;
    if (w->retry_at != TimePoint{} && now >= w->retry_at) {
      w->retry_at = TimePoint{};
      if (w->ctrl) retired_.push_back(std::move(w->ctrl));
      start_watch(*w);
    }
    if (w->ctrl) w->ctrl->tick();
  }
  for (std::size_t i = 0; i < retired_.size(); ++i) retired_[i]->tick();
  std::erase_if(retired_, [](const auto& c) { return c->state() == CtrlState::Dead || c->state() == CtrlState::New; });
  std::erase_if(watches_, [](const auto& w) { return w->removed && w->shut; });
}

Result<std::uint32_t> FabricImpl::watch_discovery(const Endpoint& ep, DiscoveryFn on_log) {
  return watch_discovery(ep, std::move(on_log), opts_);
}

Result<std::uint32_t> FabricImpl::watch_discovery(const Endpoint& ep, DiscoveryFn on_log, const FabricOptions& knobs) {
  return call<Result<std::uint32_t>>(
      [this, ep, on_log, knobs](std::function<void(Result<std::uint32_t>)> reply) {
        auto psk = discovery_psk(knobs, host_.hostnqn, ep);
        if (!psk) {
          reply(tl::unexpected(psk.error()));
          return;
        }
        for (const auto& w : watches_) {
          if (!w->removed && w->endpoint.traddr == ep.traddr && w->endpoint.trsvcid == ep.trsvcid) {
            reply(make_error(Errc::InvalidArgument,
                             fmt::format("discovery controller {} is watched already (watch {})", w->source, w->id)));
            return;
          }
        }
        auto w = std::make_unique<Watch>();
        w->id = next_watch_++;
        w->endpoint = ep;
        w->source = fmt::format("{}:{}", ep.traddr, ep.trsvcid);
        w->on_log = on_log;
        if (knobs.tls) w->tls = *psk;
        watches_.push_back(std::move(w));
        start_watch(*watches_.back());
        reply(watches_.back()->id);
      },
      make_error(Errc::Timeout, "watch_discovery: no answer from the control thread"));
}

Result<void> FabricImpl::unwatch_discovery(std::uint32_t id) {
  return call<Result<void>>(
      [this, id](std::function<void(Result<void>)> reply) {
        Watch* w = watch(id);
        if (w == nullptr) {
          reply(make_error(Errc::NotFound, fmt::format("discovery watch {} does not exist", id)));
          return;
        }
        w->removed = true;
        w->on_log = nullptr;
        if (!w->ctrl || w->ctrl->state() == CtrlState::Dead || w->ctrl->state() == CtrlState::New) {
          w->shut = true;
          reply({});
          return;
        }
        w->ctrl->shutdown([this, id, reply](const Result<void>&) {
          for (auto& x : watches_) {
            if (x->id == id) x->shut = true;
          }
          reply({});
        });
      },
      make_error(Errc::Timeout, "unwatch_discovery: no answer from the control thread"));
}

}  // namespace nvmemp::detail
