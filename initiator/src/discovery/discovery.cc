#include "discovery/discovery.h"

#include <algorithm>

#include <fmt/format.h>

namespace nvmemp::discovery {

using namespace wire;
using controller::AdminResult;
using controller::Controller;
using controller::CtrlState;

namespace {

constexpr std::uint8_t kLidDiscovery = 0x70;
constexpr std::uint32_t kHeaderLen = 1024;
// A bound on what a discovery controller may ask us to read: 16 Ki records, 16 MiB.
constexpr std::uint64_t kMaxRecords = 16384;

struct LogRead : std::enable_shared_from_this<LogRead> {
  Controller* dc = nullptr;
  unsigned retries_left = 0;
  std::function<void(Result<DiscoveryLog>)> done;
  std::uint64_t genctr = 0;
  std::vector<std::uint8_t> log;
  std::uint64_t size = 0;

  void fail(std::string why) { done(make_error(Errc::Protocol, fmt::format("{}: discovery log: {}", dc->name(), why))); }

  // 1: the header, keeping the event masked (RAE 1) until the whole log is read.
  void start() {
    auto cmd = make_get_log_page(kLidDiscovery, 0, 0, kHeaderLen, 0, true);
    auto self = shared_from_this();
    auto r = dc->admin(*cmd, kHeaderLen, {}, [self](const AdminResult& res) {
      if (!res.completion.status.ok()) {
        self->fail(res.completion.status.to_string());
        return;
      }
      auto hdr = parse_discovery_log_header(res.data);
      if (!hdr) {
        self->fail(hdr.error().message);
        return;
      }
      if (hdr->numrec > kMaxRecords) {
        self->fail(fmt::format("NUMREC {} exceeds the {} records nvme-mpath reads", hdr->numrec, kMaxRecords));
        return;
      }
      auto total = discovery_log_size(hdr->numrec);
      if (!total) {
        self->fail(total.error().message);
        return;
      }
      self->genctr = hdr->genctr;
      self->size = *total;
      self->log.assign(*total, 0);
      self->read_piece(0);
    });
    if (!r) fail(r.error().message);
  }

  // 2: all of it, in pieces no larger than the controller's transfer limit.
  void read_piece(std::uint64_t offset) {
    if (offset >= size) {
      recheck();
      return;
    }
    const std::uint32_t max = std::max<std::uint32_t>(dc->info().max_data_len / 4 * 4, kHeaderLen);
    const auto len = static_cast<std::uint32_t>(std::min<std::uint64_t>(size - offset, max));
    const bool last = offset + len >= size;
    auto cmd = make_get_log_page(kLidDiscovery, 0, offset, len, 0, !last);  // RAE 0 on the last piece
    if (!cmd) {
      fail(cmd.error().message);
      return;
    }
    auto self = shared_from_this();
    auto r = dc->admin(*cmd, len, {}, [self, offset](const AdminResult& res) {
      if (!res.completion.status.ok()) {
        self->fail(res.completion.status.to_string());
        return;
      }
      std::copy(res.data.begin(), res.data.end(), self->log.begin() + static_cast<std::ptrdiff_t>(offset));
      self->read_piece(offset + res.data.size());
    });
    if (!r) fail(r.error().message);
  }

  // 3: the log is consistent when GENCTR did not move while it was read.
  void recheck() {
    auto parsed = parse_discovery_log(log);
    if (!parsed) {
      fail(parsed.error().message);
      return;
    }
    if (parsed->header.genctr == genctr) {
      done(std::move(*parsed));
      return;
    }
    if (retries_left-- == 0) {
      fail(fmt::format("GENCTR kept changing while the log was read ({} then {})", genctr, parsed->header.genctr));
      return;
    }
    start();
  }
};

}  // namespace

TlsNeed tls_need(std::uint8_t treq, std::uint8_t sectype) noexcept {
  constexpr std::uint8_t kTreqRequired = 0x1;     // bits 1:0 = 01b
  constexpr std::uint8_t kSectypeTls13 = 0x2;
  if ((treq & 0x3) == kTreqRequired) return TlsNeed::Required;
  return sectype == kSectypeTls13 ? TlsNeed::Offered : TlsNeed::None;
}

const char* tls_need_name(TlsNeed n) noexcept {
  switch (n) {
    case TlsNeed::Required: return "required";
    case TlsNeed::Offered: return "offered";
    case TlsNeed::None: break;
  }
  return "none";
}

Result<bool> choose_tls(TlsNeed need, bool configured_tls, bool have_key, std::string_view what) {
  if (have_key) return configured_tls || need != TlsNeed::None;
  if (need == TlsNeed::Required) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{} requires TLS 1.3: set tls_key or tls_key_file (mpath-connect --tls-key-file), "
                                  "the NVMeTLSkey-1 key the target has for this host (its discovery log entry says "
                                  "TREQ secure channel required: it is never connected without TLS)",
                                  what));
  }
  if (configured_tls) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: tls is on but no TLS key is configured: set tls_key or tls_key_file "
                                  "(mpath-connect --tls-key-file)",
                                  what));
  }
  return false;  // offered or not: plain, as no key is configured
}

void read_discovery_log(Controller& dc, unsigned max_retries, std::function<void(Result<DiscoveryLog>)> done) {
  auto r = std::make_shared<LogRead>();
  r->dc = &dc;
  r->retries_left = max_retries;
  r->done = std::move(done);
  r->start();
}

Discovery::Discovery(transport::Reactor& reactor, const Clock& clock, DiscoveryOptions opts)
    : reactor_(reactor), clock_(clock), opts_(std::move(opts)) {
  opts_.controller.subnqn = controller::kDiscoveryNqn;
}

Discovery::~Discovery() = default;

void Discovery::start(DoneFn done) {
  done_ = std::move(done);
  queue_.push_back(Target{opts_.controller.endpoint, 0, opts_.controller.tls != nullptr});
  seen_.insert(transport::endpoint_name(opts_.controller.endpoint));
  next();
}

void Discovery::tick() {
  if (current_) {
    current_->tick();
  }
  for (auto& c : closing_) {
    c->tick();
  }
  std::erase_if(closing_, [](const auto& c) { return c->state() == CtrlState::Dead; });
}

void Discovery::next() {
  if (queue_.empty() || visited_ >= opts_.max_controllers) {
    finish(std::move(result_));
    return;
  }
  const Target t = queue_.front();
  queue_.erase(queue_.begin());
  ++visited_;
  auto o = opts_.controller;
  o.endpoint = t.endpoint;
  o.tls = !t.tls ? nullptr : opts_.referral_tls ? opts_.referral_tls : opts_.controller.tls;
  current_ = std::make_unique<Controller>(reactor_, clock_, o);
  Controller* dc = current_.get();
  dc->connect([this, t, dc](const Result<void>& r) {
    if (!r) {
      visit_done(t, tl::unexpected(r.error()));
      return;
    }
    read_discovery_log(*dc, opts_.max_retries, [this, t](Result<DiscoveryLog> log) { visit_done(t, std::move(log)); });
  });
}

void Discovery::visit_done(const Target& t, Result<DiscoveryLog> log) {
  // The controller is done with: shut it down in the background (tick() reaps it).
  if (current_) {
    Controller* dc = current_.get();
    closing_.push_back(std::move(current_));
    dc->shutdown([](const Result<void>&) {});
  }
  const std::string source = transport::endpoint_name(t.endpoint);
  if (!log) {
    if (t.depth == 0) {
      finish(tl::unexpected(log.error()));  // the controller asked for: the whole discovery fails
      return;
    }
    result_.errors.push_back(fmt::format("referral {}: {}", source, log.error().message));
    next();
    return;
  }
  if (t.depth == 0) {
    result_.genctr = log->header.genctr;
  }
  for (const auto& e : log->entries) {
    result_.records.push_back(DiscoveryRecord{e, source});
    if (!opts_.follow_referrals || !e.is_referral() || t.depth + 1 > opts_.max_depth) continue;
    if (!e.is_tcp()) continue;  // another transport: not ours to follow
    std::uint16_t port = kDefaultDiscoveryPort;
    if (!e.trsvcid.empty()) {
      try {
        const int p = std::stoi(e.trsvcid);
        if (p <= 0 || p > 65535) throw std::out_of_range("port");
        port = static_cast<std::uint16_t>(p);
      } catch (const std::exception&) {
        result_.errors.push_back(fmt::format("referral from {}: bad TRSVCID '{}'", source, e.trsvcid));
        continue;
      }
    }
    transport::TcpEndpoint ep = opts_.controller.endpoint;
    ep.traddr = e.traddr;
    ep.trsvcid = port;
    if (!seen_.insert(transport::endpoint_name(ep)).second) continue;
    const bool have_key = opts_.referral_tls != nullptr || opts_.controller.tls != nullptr;
    auto tls = choose_tls(tls_need(e), opts_.controller.tls != nullptr, have_key,
                          fmt::format("referral {} (from {})", transport::endpoint_name(ep), source));
    if (!tls) {
      result_.errors.push_back(tls.error().message);
      continue;
    }
    queue_.push_back(Target{ep, t.depth + 1, *tls});
  }
  next();
}

void Discovery::finish(Result<DiscoveryResult> r) {
  if (finished_) return;
  finished_ = true;
  if (auto d = std::move(done_)) {
    done_ = nullptr;
    d(std::move(r));
  }
}

}  // namespace nvmemp::discovery
