#include "discovery_follower.h"

#include <set>

#include "common/log.h"

namespace nvmemp::mpathd {

namespace {
bool same_address(const Endpoint& a, const Endpoint& b) { return a.traddr == b.traddr && a.trsvcid == b.trsvcid; }
}  // namespace

DiscoveryFollower::~DiscoveryFollower() {
  for (auto& s : sources_) {
    if (s.watch != 0) (void)fabric_.unwatch_discovery(s.watch);
  }
}

std::size_t DiscoveryFollower::connected() const noexcept {
  std::size_t n = 0;
  for (const auto& [k, p] : ports_) n += (p.path_id != 0 || p.elsewhere) ? 1 : 0;
  return n;
}

void DiscoveryFollower::add(const DiscoveryConfig& d) {
  for (auto& s : sources_) {
    if (same_address(s.endpoint, d.endpoint)) {
      s.configured = true;
      s.persistent = s.persistent || d.persistent;
      if (s.tls.tls != d.tls.tls && s.watch != 0) {
        // TLS turned on or off (a reload): connected again as the configuration says now.
        (void)fabric_.unwatch_discovery(s.watch);
        s.watch = 0;
        s.have_log = false;
      }
      s.tls = d.tls;
      return;
    }
  }
  Source s;
  s.endpoint = d.endpoint;
  s.tls = d.tls;
  s.persistent = d.persistent;
  sources_.push_back(std::move(s));
}

void DiscoveryFollower::remove(const Endpoint& ep) {
  std::erase_if(sources_, [&](Source& s) {
    if (!same_address(s.endpoint, ep)) return false;
    if (s.watch != 0) (void)fabric_.unwatch_discovery(s.watch);
    return true;
  });
}

DiscoveryFollower::Source* DiscoveryFollower::source_of(std::uint32_t watch) {
  for (auto& s : sources_) {
    if (s.watch == watch) return &s;
  }
  return nullptr;
}

void DiscoveryFollower::take_inbox() {
  std::vector<DiscoveryLogInfo> logs;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    logs.swap(inbox_);
  }
  for (auto& l : logs) {
    Source* s = source_of(l.watch);
    if (s == nullptr) continue;  // unwatched meanwhile
    s->entries = std::move(l.entries);
    s->have_log = true;
    if (!s->persistent) {
      // Read once: let it go; its ports stay wanted.
      (void)fabric_.unwatch_discovery(s->watch);
      s->watch = 0;
    }
  }
}

void DiscoveryFollower::start_watches() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& s : sources_) {
    if (s.watch != 0 || (s.have_log && !s.persistent) || now < s.next_try) continue;
    FabricOptions tls;
    s.tls.apply_to(tls);
    auto w = fabric_.watch_discovery(
        s.endpoint,
        [this](const DiscoveryLogInfo& info) {
          std::lock_guard<std::mutex> lock(inbox_mu_);
          inbox_.push_back(info);
        },
        tls);
    if (w) {
      s.watch = *w;
      const auto back = s.retry.succeeded(now);
      log(LogLevel::Info, "discovery controller {}:{}: followed{}{}{}", s.endpoint.traddr, s.endpoint.trsvcid,
          s.persistent ? " (persistent)" : "", s.tls.tls ? " over TLS" : "", back ? " (" + *back + ")" : std::string());
    } else {
      s.next_try = now + retry_;
      s.retry.rename(fmt::format("discovery controller {}:{}", s.endpoint.traddr, s.endpoint.trsvcid));
      s.retry.failed(now, w.error().message,
                     retry_plan(std::chrono::duration_cast<std::chrono::milliseconds>(retry_), std::nullopt));
    }
  }
}

void DiscoveryFollower::warn_once(const std::string& what) {
  if (warned_.insert(what).second) log(LogLevel::Warn, "discovery: {}", what);
}

void DiscoveryFollower::follow_referrals() {
  std::vector<Source> found;
  for (const auto& s : sources_) {
    for (const auto& e : s.entries) {
      if (e.subtype != "referral" || e.trtype != "tcp" || e.trsvcid == 0) continue;
      Endpoint ep{e.traddr, e.trsvcid, s.endpoint.host_traddr, s.endpoint.host_iface};
      bool known = false;
      for (const auto& x : sources_) known = known || same_address(x.endpoint, ep);
      for (const auto& x : found) known = known || same_address(x.endpoint, ep);
      if (known) continue;
      // Over TLS as its entry asks (with the referrer's key), or as its referrer is.
      FabricOptions k;
      s.tls.apply_to(k);
      auto tls = discovery_entry_tls(e, k);
      if (!tls) {
        warn_once(fmt::format("the referral to {}:{} is not followed: {}", ep.traddr, ep.trsvcid, tls.error().message));
        continue;
      }
      Source r;
      r.endpoint = ep;
      r.tls = s.tls;
      r.tls.tls = *tls;
      r.persistent = s.persistent;
      r.configured = false;
      found.push_back(std::move(r));
    }
  }
  for (auto& r : found) {
    if (sources_.size() >= kMaxSources) {
      log(LogLevel::Warn, "discovery: referral to {}:{} not followed: {} discovery controllers already",
          r.endpoint.traddr, r.endpoint.trsvcid, kMaxSources);
      break;
    }
    log(LogLevel::Info, "discovery: following the referral to {}:{}", r.endpoint.traddr, r.endpoint.trsvcid);
    sources_.push_back(std::move(r));
  }
}

void DiscoveryFollower::reconcile() {
  struct Want {
    Endpoint endpoint;
    const DiscoveryEntry* entry;
    const Source* source;
  };
  std::map<PortKey, Want> wanted;
  for (const auto& s : sources_) {
    for (const auto& e : s.entries) {
      if (e.subtype != "nvme" || e.trtype != "tcp" || e.trsvcid == 0) continue;
      wanted.try_emplace(PortKey{e.subnqn, e.traddr, e.trsvcid},
                         Want{Endpoint{e.traddr, e.trsvcid, s.endpoint.host_traddr, s.endpoint.host_iface}, &e, &s});
    }
  }
  // Ports no log lists any more: the paths this follower made leave.
  for (auto it = ports_.begin(); it != ports_.end();) {
    if (wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    const auto& [nqn, addr, port] = it->first;
    if (it->second.path_id != 0) {
      log(LogLevel::Info, "discovery: {} @ {}:{} is no longer in any discovery log: disconnecting it", nqn, addr, port);
      if (auto r = fabric_.disconnect(it->second.path_id); !r) log(LogLevel::Warn, "discovery: {}", r.error().message);
    }
    it = ports_.erase(it);
  }
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [key, want] : wanted) {
    const Endpoint& ep = want.endpoint;
    Port& p = ports_.try_emplace(key, Port{ep, 0, false, {}, {}}).first->second;
    if (p.path_id != 0 || p.elsewhere || now < p.next_try) continue;
    const std::string& nqn = std::get<0>(key);
    FabricOptions knobs = knobs_(nqn, want.source->tls);
    // A port that requires TLS with no key configured is refused as a failed connect.
    auto tls = discovery_entry_tls(*want.entry, knobs);
    if (tls) knobs.tls = *tls;
    auto r = tls ? fabric_.connect(p.endpoint, nqn, knobs) : Result<PathInfo>(tl::unexpected(tls.error()));
    if (r) {
      p.path_id = r->id;
      const auto back = p.retry.succeeded(now);
      log(LogLevel::Info, "discovery: path {} connected{}{}", r->name, r->tls != "none" ? " over TLS" : "",
          back ? " (" + *back + ")" : std::string());
    } else if (r.error().message.find("already connected") != std::string::npos) {
      p.elsewhere = true;  // a static path, or another discovery controller's entry
    } else {
      p.next_try = now + retry_;
      p.retry.rename(fmt::format("discovery: path {} @ {}:{}", nqn, ep.traddr, ep.trsvcid));
      p.retry.failed(now, r.error().message,
                     retry_plan(std::chrono::duration_cast<std::chrono::milliseconds>(retry_), std::nullopt));
    }
  }
}

void DiscoveryFollower::tick() {
  take_inbox();
  follow_referrals();
  start_watches();
  reconcile();
}

}  // namespace nvmemp::mpathd
