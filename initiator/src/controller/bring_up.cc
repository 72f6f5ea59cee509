// The bring-up sequence of Controller, one admin command per step (see controller.h).
#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "controller/controller.h"
#include "wire/registers.h"

namespace nvmemp::controller {

using namespace std::chrono_literals;
using namespace wire;

namespace {
constexpr std::uint8_t kFidNumQueues = 0x07;
constexpr std::uint8_t kLidAna = 0x0C;
constexpr std::uint8_t kLidChangedNs = 0x04;
constexpr std::uint32_t kOaesNsAttr = 1u << 8;
constexpr std::uint32_t kOaesAna = 1u << 11;
constexpr std::uint32_t kOaesDiscovery = 1u << 31;
constexpr auto kReadyPollInterval = 100ms;
}  // namespace

void Controller::step_connect() {
  auto data = encode_connect_data(opts_.host.hostid, kCntlidDynamic, opts_.subnqn, opts_.host.hostnqn);
  if (!data) {
    fail_bring_up(fmt::format("{}: {}", name(), data.error().message), true);
    return;
  }
  ConnectParams p;
  p.qid = 0;
  p.sqsize = 31;
  p.kato_ms = static_cast<std::uint32_t>(opts_.kato.count());
  auto r = admin_->submit(make_connect(p), 0, std::vector<std::uint8_t>(data->begin(), data->end()),
                          step_cb([this](const AdminResult& res) {
                            const Status st = res.completion.status;
                            if (!st.ok() && st.sct() == Status::kSctPath &&
                                (st.sc() == Status::kScHostPathError || st.sc() == Status::kScAbortedByHost)) {
                              // Made by this host: the connection went while the Connect was out.
                              fail_bring_up(fmt::format("{}: the connection was lost during Connect ({})", name(),
                                                        status_text(st, true)));
                              return;
                            }
                            if (!st.ok()) {
                              // A Connect the controller refused with DNR will not work later either.
                              fail_bring_up(fmt::format("{}: Connect rejected: {}; check the subsystem NQN and "
                                                        "that the target allows host {}",
                                                        name(), connect_status_text(st, res.completion.dw0),
                                                        opts_.host.hostnqn),
                                            st.dnr());
                              return;
                            }
                            info_.cntlid = connect_cntlid(res.completion.dw0);
                            if (connect_authreq_ascr(res.completion.dw0)) {
                              fail_bring_up(fmt::format("{}: the controller requires authentication with secure "
                                                        "channel concatenation (ASCR, TLS after DH-HMAC-CHAP), "
                                                        "which nvme-mpath does not support",
                                                        name()),
                                            true, Errc::Unsupported);
                              return;
                            }
                            if (connect_authreq_atr(res.completion.dw0)) {
                              step_authenticate();
                              return;
                            }
                            step_cap();
                          }));
  if (!r) fail_bring_up(r.error().message);
}

// In-band authentication of the admin queue, before any other command (the controller refuses
// them until it is done). The exchange's commands share what is left of connect_timeout.
void Controller::step_authenticate() {
  if (!opts_.dhchap) {
    fail_bring_up(fmt::format("{}: the controller requires in-band authentication (DH-HMAC-CHAP) and no host key "
                              "is configured for host {}: set dhchap_secret (or mpath-connect --dhchap-secret)",
                              name(), opts_.host.hostnqn),
                  true, Errc::AuthFailed);
    return;
  }
  const TimePoint deadline = clock_.now() + opts_.connect_timeout;
  auth_ = auth::QueueAuth::start(reactor_, admin_auth_params(), admin_auth_submit(deadline),
                                 [this, attempt = attempt_](const Result<std::string>& r) {
                                   if (attempt != attempt_ || step_ == Step::Idle) return;
                                   auth_.reset();
                                   if (!r) {
                                     // A refusal either way stays a refusal: no retry until the keys change.
                                     const bool final = r.error().code == Errc::AuthFailed;
                                     fail_bring_up(r.error().message, final, final ? Errc::AuthFailed : Errc::Protocol);
                                     return;
                                   }
                                   info_.auth = *r;
                                   log(LogLevel::Info, "ctrl {}: authenticated ({})", name(), *r);
                                   step_cap();
                                 });
}

void Controller::step_cap() {
  auto r = admin_->submit(make_property_get(kRegCap, true), 0, {}, step_cb([this](const AdminResult& res) {
    if (!res.completion.status.ok()) {
      fail_bring_up(fmt::format("{}: Property Get CAP: {}", name(), status_text(res.completion.status, true)));
      return;
    }
    info_.cap = static_cast<std::uint64_t>(res.completion.dw0) | (static_cast<std::uint64_t>(res.completion.dw1) << 32);
    auto v = admin_->submit(make_property_get(kRegVs, false), 0, {}, step_cb([this](const AdminResult& vs) {
      info_.vs = vs.completion.dw0;
      step_enable();
    }));
    if (!v) fail_bring_up(v.error().message);
  }));
  if (!r) fail_bring_up(r.error().message);
}

void Controller::step_enable() {
  auto r = admin_->submit(make_property_set(kRegCc, cc_enable_value(), false), 0, {},
                          step_cb([this](const AdminResult& res) {
                            if (!res.completion.status.ok()) {
                              fail_bring_up(fmt::format("{}: Property Set CC.EN: {}", name(),
                                                        status_text(res.completion.status, true)));
                              return;
                            }
                            step_ = Step::WaitReady;
                            // CAP.TO is the worst case, in 500 ms units (at least one poll).
                            step_deadline_ = clock_.now() + std::chrono::milliseconds(
                                                                std::max<std::uint32_t>(cap_timeout_ms(info_.cap), 500));
                            next_poll_ = clock_.now();
                          }));
  if (!r) fail_bring_up(r.error().message);
}

void Controller::step_poll_ready() {
  next_poll_ = TimePoint::max();  // one poll in flight at a time
  auto r = admin_->submit(make_property_get(kRegCsts, false), 0, {}, step_cb([this](const AdminResult& res) {
    const std::uint32_t csts = res.completion.dw0;
    if (!res.completion.status.ok() || csts_cfs(csts)) {
      fail_bring_up(fmt::format("{}: controller fatal status while enabling (CSTS {:#x})", name(), csts));
    } else if (csts_rdy(csts)) {
      step_ = Step::Identify;
      step_identify();
    } else if (clock_.now() >= step_deadline_) {
      fail_bring_up(fmt::format("{}: CSTS.RDY not set within CAP.TO ({} ms)", name(), cap_timeout_ms(info_.cap)));
    } else {
      next_poll_ = clock_.now() + kReadyPollInterval;
    }
  }));
  if (!r) fail_bring_up(r.error().message);
}

void Controller::step_identify() {
  auto r = admin_->submit(make_identify(1, 0), kIdentifyDataSize, {}, step_cb([this](const AdminResult& res) {
    if (!res.completion.status.ok()) {
      fail_bring_up(fmt::format("{}: Identify Controller: {}", name(), status_text(res.completion.status, false)));
      return;
    }
    auto id = parse_identify_controller(res.data);
    if (!id) {
      fail_bring_up(fmt::format("{}: Identify Controller: {}", name(), id.error().message));
      return;
    }
    if (id->subnqn != opts_.subnqn) {
      fail_bring_up(fmt::format("{}: the controller reports subsystem NQN '{}', not the one connected to", name(),
                                id->subnqn),
                    true);
      return;
    }
    if (!id->sgl_supported()) {
      fail_bring_up(fmt::format("{}: the controller does not support SGLs, which NVMe/TCP needs", name()), true);
      return;
    }
    info_.id = *id;
    info_.max_icd = max_in_capsule_data(id->ioccsz);
    std::uint64_t limit = opts_.max_data_len;
    if (id->mdts != 0) {
      const std::uint64_t page = std::uint64_t{4096} << cap_mpsmin(info_.cap);
      limit = std::min<std::uint64_t>(limit, page << std::min<std::uint8_t>(id->mdts, 20));
    }
    info_.max_data_len = static_cast<std::uint32_t>(limit);
    info_.io_queue_size = io_queue_entries(opts_.queue_size, cap_mqes(info_.cap), id->maxcmd);
    if (info_.io_queue_size < opts_.queue_size && !is_discovery()) {
      log(LogLevel::Info, "ctrl {}: I/O queues of {} entries, not {} (CAP.MQES {}, MAXCMD {})", name(),
          info_.io_queue_size, opts_.queue_size, cap_mqes(info_.cap), id->maxcmd);
    }
    if (is_discovery()) {
      if ((id->oaes & kOaesDiscovery) != 0 && opts_.kato.count() > 0) {
        // A persistent discovery controller reports log changes (nvme-facts.md section 6).
        auto a = admin_->submit(make_set_features(kFidAsyncEventConfig, kAecDiscoveryLogChange), 0, {},
                                step_cb([this](const AdminResult&) {
                                  submit_aer();
                                  finish_bring_up();
                                }));
        if (!a) fail_bring_up(a.error().message);
        return;
      }
      finish_bring_up();
      return;
    }
    step_queues();
  }));
  if (!r) fail_bring_up(r.error().message);
}

void Controller::step_queues() {
  const std::uint32_t n = std::max<std::uint16_t>(opts_.nr_io_queues, 1) - 1u;  // 0's based
  auto r = admin_->submit(make_set_features(kFidNumQueues, n | (n << 16)), 0, {},
                          step_cb([this](const AdminResult& res) {
                            if (!res.completion.status.ok()) {
                              fail_bring_up(fmt::format("{}: Set Features Number of Queues: {}", name(),
                                                        status_text(res.completion.status, false)));
                              return;
                            }
                            const std::uint32_t nsqa = (res.completion.dw0 & 0xFFFF) + 1;
                            const std::uint32_t ncqa = (res.completion.dw0 >> 16) + 1;
                            info_.io_queues = static_cast<std::uint16_t>(
                                std::min<std::uint32_t>({opts_.nr_io_queues, nsqa, ncqa}));
                            step_aen_config();
                          }));
  if (!r) fail_bring_up(r.error().message);
}

void Controller::step_aen_config() {
  std::uint32_t aec = 0;
  if ((info_.id.oaes & kOaesNsAttr) != 0) aec |= kAecNsAttr;
  if ((info_.id.oaes & kOaesAna) != 0) aec |= kAecAna;
  auto after = [this] {
    submit_aer();
    if (info_.id.ana_supported()) {
      step_ana_log([this] { step_ns_list([this] { finish_bring_up(); }); });
    } else {
      step_ns_list([this] { finish_bring_up(); });
    }
  };
  if (aec == 0) {
    after();
    return;
  }
  auto r = admin_->submit(make_set_features(kFidAsyncEventConfig, aec), 0, {},
                          step_cb([after](const AdminResult&) { after(); }));  // refusal: no events, go on
  if (!r) fail_bring_up(r.error().message);
}

void Controller::step_ana_log(std::function<void()> next) {
  const std::size_t want = ana_log_max_size(info_.id.nanagrpid, info_.id.mnan);
  const auto len = static_cast<std::uint32_t>(std::min<std::size_t>((want + 3) / 4 * 4, info_.max_data_len));
  auto cmd = make_get_log_page(kLidAna, 0xFFFFFFFF, 0, len);
  if (!cmd) {
    fail_bring_up(cmd.error().message);
    return;
  }
  auto fail = [this](std::string why) { fail_step(std::move(why)); };
  auto r = admin_->submit(*cmd, len, {}, [this, fail, next = std::move(next), attempt = attempt_](const AdminResult& res) {
    if (attempt != attempt_ || step_ == Step::Idle) return;  // the association is gone
    if (ana_reads_ > 0) --ana_reads_;
    if (!res.completion.status.ok()) {
      fail(fmt::format("{}: Get Log Page ANA: {}", name(), status_text(res.completion.status, false)));
      return;
    }
    auto log = parse_ana_log(res.data);
    if (!log) {
      fail(fmt::format("{}: {}", name(), log.error().message));
      return;
    }
    info_.ana = std::move(*log);
    last_ana_read_took_ = clock_.now() - ana_read_started_;
    on_ana_log(*info_.ana);
    if (sm_.state() == CtrlState::Live && on_ana_) {
      on_ana_(*this);
    }
    next();
    if (ana_again_ && ana_reads_ == 0 && sm_.state() == CtrlState::Live) {
      ana_again_ = false;  // a refresh_ana() came while this read was out: its answer may predate it
      step_ana_log([] {});
    }
  });
  if (!r) {
    fail(r.error().message);
    return;
  }
  if (ana_reads_ == 0) ana_read_started_ = clock_.now();
  ++ana_reads_;
}

void Controller::refresh_ana() {
  if (sm_.state() != CtrlState::Live || !info_.id.ana_supported() || !admin_ || !admin_->live()) {
    return;
  }
  if (ana_reads_ > 0) {
    ana_again_ = true;
    return;
  }
  step_ana_log([] {});
}

Nanos Controller::anatt_timeout() const {
  // ANATT must not be 0 with ANA reporting (NVMe Base 2.0, Identify Controller); one that
  // is gets 10 s rather than an immediate reset. Doubled like the kernel (nvme_read_ana_log():
  // "slack for transports or AEN processing overhead").
  const std::uint8_t anatt = info_.id.anatt != 0 ? info_.id.anatt : 10;
  return 2 * std::chrono::seconds(anatt);
}

void Controller::on_ana_log(const AnaLog& log) {
  // One timer for the controller, as the kernel's anatt_timer; unlike the kernel's
  // mod_timer() it is not pushed back by every read that still shows a group in change
  // (refresh_ana() after each ANA-status I/O would keep it from ever firing): it runs from
  // the read that first showed one and stops when a read shows none.
  const bool change = std::any_of(log.groups.begin(), log.groups.end(),
                                  [](const AnaGroup& g) { return g.state == AnaState::Change; });
  if (!change) {
    anatt_deadline_.reset();
  } else if (!anatt_deadline_) {
    anatt_deadline_ = clock_.now() + anatt_timeout();
  }
}

void Controller::fail_step(std::string why) {
  // During bring-up a failure ends the attempt; on a live controller (a refresh after an
  // event) it resets the controller, as the kernel does when it cannot read what changed.
  if (sm_.state() == CtrlState::Live) {
    reset(why);
  } else {
    fail_bring_up(std::move(why));
  }
}

void Controller::step_ns_list(std::function<void()> next) {
  auto r = admin_->submit(make_identify(2, 0), kIdentifyDataSize, {},
                          step_cb([this, next = std::move(next)](const AdminResult& res) {
    if (!res.completion.status.ok()) {
      fail_step(fmt::format("{}: Identify active namespaces: {}", name(), status_text(res.completion.status, false)));
      return;
    }
    auto list = parse_active_ns_list(res.data);
    if (!list) {
      fail_step(fmt::format("{}: {}", name(), list.error().message));
      return;
    }
    auto nsids = std::make_shared<const std::vector<std::uint32_t>>(std::move(*list));
    step_ns(0, nsids, std::make_shared<std::vector<NamespaceInfo>>(), next);
  }));
  if (!r) fail_step(r.error().message);
}

void Controller::step_ns(std::size_t index, std::shared_ptr<const std::vector<std::uint32_t>> nsids,
                         std::shared_ptr<std::vector<NamespaceInfo>> found, std::function<void()> next) {
  if (index == nsids->size()) {
    info_.namespaces = std::move(*found);
    next();
    return;
  }
  const std::uint32_t nsid = (*nsids)[index];
  auto r = admin_->submit(
      make_identify(0, nsid), kIdentifyDataSize, {},
      step_cb([this, index, nsids, found, next, nsid](const AdminResult& res) {
        auto ns = parse_identify_namespace(res.data);
        if (!res.completion.status.ok() || !ns) {
          fail_step(fmt::format("{}: Identify Namespace {}: {}", name(), nsid,
                                ns ? status_text(res.completion.status, false) : ns.error().message));
          return;
        }
        auto d = admin_->submit(make_identify(3, nsid), kIdentifyDataSize, {},
                                step_cb([this, index, nsids, found, next, nsid, ns = *ns](const AdminResult& dres) {
                                  NamespaceInfo info{nsid, ns, {}};
                                  // Controllers before NVMe 1.3 may not know CNS 3: the NGUID/EUI-64
                                  // of Identify Namespace then stand alone.
                                  if (dres.completion.status.ok()) {
                                    auto ids = parse_ns_id_descriptors(dres.data);
                                    if (!ids) {
                                      fail_step(fmt::format("{}: namespace {}: {}", name(), nsid,
                                                            ids.error().message));
                                      return;
                                    }
                                    info.ids = *ids;
                                  }
                                  found->push_back(std::move(info));
                                  step_ns(index + 1, nsids, found, next);
                                }));
        if (!d) fail_step(d.error().message);
      }));
  if (!r) fail_step(r.error().message);
}

void Controller::submit_aer() {
  if (aer_outstanding_ || !admin_) {
    return;
  }
  auto r = admin_->submit(make_async_event_request(), 0, {}, [this, attempt = attempt_](const AdminResult& res) {
    if (attempt != attempt_) return;
    aer_outstanding_ = false;
    handle_aer(res);
  });
  aer_outstanding_ = r.has_value();
}

void Controller::handle_aer(const AdminResult& res) {
  if (!res.completion.status.ok()) {
    return;  // aborted with the queue, or refused: nothing to report, not re-armed
  }
  const AsyncEvent ev = decode_async_event(res.completion.dw0);
  auto deliver = [this, ev] {
    if (on_event_) on_event_(*this, ev);
    submit_aer();  // re-arm once the log that masks it was read
  };
  if (res.completion.dw0 == kAenAnaChange && info_.id.ana_supported()) {
    step_ana_log(deliver);  // RAE 0: reading the log re-enables the event
  } else if (res.completion.dw0 == kAenNsAttrChanged) {
    // Reading the Changed Namespace List with RAE 0 unmasks the event; then the active
    // namespaces are identified again (added, removed, resized).
    auto cmd = make_get_log_page(kLidChangedNs, 0xFFFFFFFF, 0, kIdentifyDataSize);
    auto r = admin_->submit(*cmd, kIdentifyDataSize, {}, step_cb([this, deliver](const AdminResult& log) {
      if (!log.completion.status.ok()) {
        fail_step(fmt::format("{}: Get Log Page Changed Namespace List: {}", name(),
                              status_text(log.completion.status, false)));
        return;
      }
      step_ns_list(deliver);
    }));
    if (!r) fail_step(r.error().message);
  } else {
    deliver();
  }
}

}  // namespace nvmemp::controller
