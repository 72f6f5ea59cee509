// Fabrics and admin commands of the simulated target: Connect, Property Get/Set, Identify,
// Get Log Page, Set/Get Features, Keep Alive, Asynchronous Event Request (NVMe Base 2.0
// section 5, NVMe over Fabrics 1.1 section 3). Behaviour follows nvmet where the spec leaves
// a choice (drivers/nvme/target/{admin-cmd,fabrics-cmd,discovery}.c).
#include <algorithm>

#include <fmt/format.h>

#include "sim_auth.h"
#include "sim_connection.h"
#include "sim_core.h"
#include "sim_identify.h"
#include "wire/registers.h"

namespace nvmemp::sim {

using namespace wire;

namespace {

constexpr std::uint16_t kMaxIoQueues = 64;
constexpr std::uint8_t kFctypePropertySet = 0x00, kFctypeConnect = 0x01, kFctypePropertyGet = 0x04,
                       kFctypeAuthSend = 0x05, kFctypeAuthReceive = 0x06, kFctypeDisconnect = 0x08;
// Connect response DW0 AUTHREQ.ATR: the queue must authenticate (in-band, DH-HMAC-CHAP).
constexpr std::uint32_t kConnectAtr = 1u << 17;
// AUTHREQ.ASCR: secure channel concatenation (TLS set up after DH-HMAC-CHAP); auth-fault ascr.
constexpr std::uint32_t kConnectAscr = 1u << 18;
constexpr std::uint8_t kFidNumQueues = 0x07, kFidKato = 0x0F;

// Connect Invalid Parameters with the offending field (Connect response DW0: IPO 15:0 =
// byte offset, IATTR bit 16: 0 = in the SQE, 1 = in the Connect data).
CmdResult connect_invalid(std::uint16_t offset, bool in_data) {
  CmdResult r = status_result(Status::kSctCommandSpecific, kScConnectInvalidParam);
  r.dw0 = offset | (in_data ? 1u << 16 : 0u);
  return r;
}

CmdResult ok_result(std::uint32_t dw0 = 0, std::uint32_t dw1 = 0) {
  CmdResult r;
  r.dw0 = dw0;
  r.dw1 = dw1;
  return r;
}

}  // namespace

CmdResult Core::connect(Connection& c, const Sqe& sqe, Bytes data) {
  auto p = parse_connect(sqe);
  if (!p) {
    return status_result(Status::kSctCommandSpecific, 0x80);  // Connect Incompatible Format
  }
  auto d = parse_connect_data(data);
  if (!d) {
    log(fmt::format("port {}: Connect rejected: {}", c.port() + 1, d.error().message));
    return connect_invalid(256, true);
  }
  const bool discovery = d->subnqn == kDiscoveryNqn;
  if (!discovery && (d->subnqn != cfg_.nqn || !ports_[c.port()].linked)) {
    return connect_invalid(256, true);  // SUBNQN: no such subsystem here (or not on this port)
  }
  if (!discovery && p->qid == 0 && !host_allowed(d->hostnqn)) {
    // Not one of the allowed hosts (auth-host configured some): nvmet answers Connect Invalid
    // Host with the HOSTNQN's location (Connect data byte 512).
    log(fmt::format("port {}: connect by host {} not allowed", c.port() + 1, d->hostnqn));
    CmdResult r = status_result(Status::kSctCommandSpecific, kScConnectInvalidHost);
    r.dw0 = 512u | 1u << 16;
    return r;
  }
  // SQSIZE (0's based): at least 1; an I/O queue's at most CAP.MQES, which on fabrics does not
  // apply to the admin queue (nvmet_install_queue); SPDK logs "Invalid SQSIZE".
  const std::uint16_t max_sqsize =
      p->qid == 0 ? kAdminMaxSqsize : (cfg_.accept_sqsize != 0 ? cfg_.accept_sqsize : cfg_.mqes);
  if (p->sqsize == 0 || p->sqsize > max_sqsize) {
    log(fmt::format("port {}: Connect qid {}: Invalid SQSIZE = {} (max {})", c.port() + 1, p->qid, p->sqsize,
                    max_sqsize));
    return connect_invalid(44, false);
  }
  const bool no_sqflow = (p->cattr & kCattrDisableSqFlowControl) != 0;
  if (p->qid == 0) {
    if (d->cntlid != kCntlidDynamic) {
      return connect_invalid(16, true);  // dynamic controller model only
    }
    std::uint16_t id = 1;  // lowest free id, like nvmet's ida (ids are reused)
    while (controllers_.count(id) != 0 && id < 0xFFEF) {
      ++id;
    }
    if (controllers_.count(id) != 0) {
      return status_result(Status::kSctCommandSpecific, 0x81);  // Connect Controller Busy
    }
    auto keys = discovery ? Result<std::shared_ptr<const CtrlAuth>>() : auth_->controller_auth(d->hostnqn);
    if (!keys) {
      log(fmt::format("port {}: Connect: the host's keys: {}", c.port() + 1, keys.error().message));
      return status_result(Status::kSctGeneric, kScInternalError);
    }
    auto ctrl = std::make_unique<Controller>();
    ctrl->auth = std::move(*keys);
    ctrl->cntlid = id;
    ctrl->discovery = discovery;
    ctrl->port = c.port();
    ctrl->hostnqn = d->hostnqn;
    ctrl->hostid = d->hostid;
    ctrl->kato_ms = p->kato_ms;  // Connect CDW12 (NVMe over Fabrics 1.1, 3.3)
    ctrl->last_seen = SimClock::now();
    ctrl->nr_io_queues = discovery ? 0 : kMaxIoQueues;
    ctrl->admin = &c;
    controllers_[id] = std::move(ctrl);
    c.set_queue(0, id, p->sqsize, no_sqflow);
    const bool atr = controllers_[id]->auth != nullptr;
    log(fmt::format("port {}: controller {} for {} ({}), kato {} ms{}", c.port() + 1, id, d->hostnqn,
                    discovery ? "discovery" : "nvm", p->kato_ms, atr ? ", with DH-HMAC-CHAP" : ""));
    return ok_result(id | (atr ? kConnectAtr | (auth_->take_connect_ascr() ? kConnectAscr : 0u) : 0u));
  }
  if (discovery) {
    return connect_invalid(42, false);  // a discovery controller has no I/O queues
  }
  Controller* ctrl = controller(d->cntlid);
  if (ctrl == nullptr || ctrl->discovery || ctrl->hostnqn != d->hostnqn) {
    return connect_invalid(16, true);  // CNTLID: no such controller of this host
  }
  if (p->qid > ctrl->nr_io_queues) {
    return connect_invalid(42, false);  // QID beyond the queues granted (Set Features 0x07)
  }
  for (const Connection* q : ctrl->io) {
    if (q->qid() == p->qid) {
      return connect_invalid(42, false);  // QID already connected
    }
  }
  ctrl->io.push_back(&c);
  touch(*ctrl);
  c.set_queue(p->qid, ctrl->cntlid, p->sqsize, no_sqflow);
  const bool atr = ctrl->auth != nullptr;
  return ok_result(ctrl->cntlid | (atr ? kConnectAtr | (auth_->take_connect_ascr() ? kConnectAscr : 0u) : 0u));
}

CmdResult Core::execute_admin(Connection& c, Controller& ctrl, const Sqe& sqe, Bytes data) {
  if (sqe.opcode() == kOpcodeFabrics) {
    switch (sqe.fctype()) {
      case kFctypePropertyGet: return property_get(ctrl, sqe);
      case kFctypePropertySet: return property_set(ctrl, sqe);
      case kFctypeConnect: return status_result(Status::kSctGeneric, kScCmdSeqError);
      case kFctypeAuthSend:
      case kFctypeAuthReceive: return authentication(c, ctrl, sqe, data);
      case kFctypeDisconnect: return status_result(Status::kSctCommandSpecific, 0x85);  // invalid queue type
      default: return status_result(Status::kSctGeneric, kScInvalidField);
    }
  }
  // Other admin commands need an enabled controller (nvmet_check_ctrl_status()).
  if (!csts_rdy(ctrl.csts)) {
    return status_result(Status::kSctGeneric, kScCmdSeqError);
  }
  // Then, until this queue authenticated: Authentication Required (nvmet_check_auth_status; the
  // real target answers Command Sequence Error first while CC.EN is 0).
  if (auth_required(c, ctrl)) {
    return status_result(Status::kSctCommandSpecific, kScAuthRequired);
  }
  switch (sqe.opcode()) {
    case nvme_admin_identify: return identify(ctrl, sqe);
    case nvme_admin_get_log_page: return get_log_page(c, ctrl, sqe);
    case nvme_admin_set_features: return set_features(ctrl, sqe);
    case nvme_admin_get_features: return get_features(ctrl, sqe);
    case nvme_admin_keep_alive: return ok_result();
    case nvme_admin_async_event: {
      if (ctrl.aers.size() >= kAerl + 1u) {
        return status_result(Status::kSctCommandSpecific, kScAsyncLimit);
      }
      ctrl.aers.push_back(sqe.cid());
      deliver_aen(ctrl);
      feed_storm(ctrl);
      CmdResult r;
      r.deferred = true;  // completes when an event occurs
      return r;
    }
    default: return status_result(Status::kSctGeneric, kScInvalidOpcode);
  }
}

CmdResult Core::property_get(Controller& ctrl, const Sqe& sqe) {
  const std::uint32_t ofst = sqe.cdw(11);
  switch (ofst) {
    case kRegCap: {
      // MQES, CQR, TO 15 (7.5 s), CSS bit 37 (NVM), MPSMIN/MPSMAX 0 (4 KiB).
      // never-complete csts-rdy also says CAP.TO 2 (1 s), so the host's wait is short.
      const std::uint64_t to = hangs(ctrl.port, HangStep::CstsRdy) ? 2 : 15;
      const std::uint64_t cap = cfg_.mqes | (1ull << 16) | (to << 24) | (1ull << 37);
      return ok_result(static_cast<std::uint32_t>(cap), static_cast<std::uint32_t>(cap >> 32));
    }
    case kRegVs: return ok_result(0x10400);  // 1.4.0
    case kRegCc: return ok_result(ctrl.cc);
    case kRegCsts: return ok_result(ctrl.csts);
    default: return status_result(Status::kSctGeneric, kScInvalidField);
  }
}

CmdResult Core::property_set(Controller& ctrl, const Sqe& sqe) {
  if (sqe.cdw(11) != kRegCc) {
    return status_result(Status::kSctGeneric, kScInvalidField);
  }
  const std::uint32_t old = ctrl.cc;
  const std::uint32_t cc = sqe.cdw(12);
  ctrl.cc = cc;
  if (cc_en(cc) && !cc_en(old) && hangs(ctrl.port, HangStep::CstsRdy)) {
    // never-complete csts-rdy: enabled, never ready.
  } else if (cc_en(cc) && !cc_en(old)) {
    // Only 64-byte SQEs and 16-byte CQEs exist on fabrics; anything else is a fatal status.
    const bool sizes_ok = ctrl.discovery || (cc_iosqes(cc) == 6 && cc_iocqes(cc) == 4);
    ctrl.csts = sizes_ok ? 0x1u : 0x2u;  // CSTS.RDY (bit 0) or CSTS.CFS (bit 1)
  } else if (!cc_en(cc) && cc_en(old)) {
    ctrl.csts = 0;  // controller reset
  }
  if (cc_shn(cc) != 0 && cc_shn(old) == 0) {
    ctrl.csts = static_cast<std::uint32_t>(kShstComplete) << NVME_CSTS_SHST_SHIFT;  // shutdown is instant
  }
  return ok_result();
}

CmdResult Core::identify(Controller& ctrl, const Sqe& sqe) {
  const std::uint8_t cns = sqe.cdw(10) & 0xFF;
  const std::uint32_t nsid = sqe.nsid();
  if (sqe.sgl1().length != 4096) {
    return status_result(Status::kSctGeneric, kScSglLengthInvalid);
  }
  CmdResult r;
  if (cns == NVME_IDENTIFY_CNS_CTRL) {
    IdCtrlInfo info;
    info.cntlid = ctrl.cntlid;
    info.discovery = ctrl.discovery;
    info.subnqn = ctrl.discovery ? kDiscoveryNqn : cfg_.nqn;
    info.ioccsz = cfg_.ioccsz;
    info.mqes = cfg_.mqes;
    info.crdt_100ms = ports_[ctrl.port].faults.crdt_100ms;
    r.data = build_id_ctrl(info);
    return r;
  }
  if (ctrl.discovery) {
    return status_result(Status::kSctGeneric, kScInvalidField);
  }
  switch (cns) {
    case NVME_IDENTIFY_CNS_NS: {
      if (nsid == 0 || (nsid > kMaxNsid && nsid != 0xFFFFFFFF)) {
        return status_result(Status::kSctGeneric, kScInvalidNs);
      }
      const SimNamespace* ns = find_ns(nsid);
      SimNamespace inactive;
      inactive.enabled = false;
      r.data = build_id_ns(ns != nullptr ? *ns : inactive, cfg_.lba_size);
      return r;
    }
    case NVME_IDENTIFY_CNS_NS_ACTIVE_LIST:
      if (nsid >= 0xFFFFFFFE) {
        return status_result(Status::kSctGeneric, kScInvalidNs);
      }
      r.data = build_active_ns_list(namespaces_, nsid);
      return r;
    case NVME_IDENTIFY_CNS_NS_DESC_LIST: {
      const SimNamespace* ns = find_ns(nsid);
      if (ns == nullptr) {
        return status_result(Status::kSctGeneric, kScInvalidNs);
      }
      if (!ns->enabled) {  // nvmet: a configured but disabled namespace is a path error
        return status_result(Status::kSctPath, Status::kScInternalPathError, false);
      }
      r.data = build_ns_descriptors(*ns);
      return r;
    }
    default: return status_result(Status::kSctGeneric, kScInvalidField);
  }
}

CmdResult Core::get_log_page(Connection& c, Controller& ctrl, const Sqe& sqe) {
  const std::uint32_t cdw10 = sqe.cdw(10);
  const std::uint8_t lid = cdw10 & 0xFF;
  const std::uint8_t lsp = (cdw10 >> 8) & 0x7F;
  const bool rae = (cdw10 >> 15) & 1;
  const std::uint64_t numd = ((static_cast<std::uint64_t>(sqe.cdw(11) & 0xFFFF) << 16) | (cdw10 >> 16)) + 1;
  const std::uint64_t len = numd * 4;
  const std::uint64_t offset = sqe.cdw(12) | (static_cast<std::uint64_t>(sqe.cdw(13)) << 32);
  if (sqe.sgl1().length != len || len > kMaxTransferBytes) {
    return status_result(Status::kSctGeneric, kScSglLengthInvalid);
  }
  if (offset % 4 != 0) {
    return status_result(Status::kSctGeneric, kScInvalidField);
  }
  std::vector<std::uint8_t> log;
  std::uint32_t unmask = 0;
  if (lid == NVME_LOG_LID_ANA && !ctrl.discovery) {
    log = build_ana_log(*this, ctrl.port, (lsp & 1) != 0);
    unmask = kAenAna;
  } else if (lid == NVME_LOG_LID_CHANGED_NS && !ctrl.discovery) {
    log = build_changed_ns_log(ctrl);
    unmask = kAenNsAttr;
    if (!rae) {  // reading it clears the list (NVMe Base 2.0, Changed Namespace List)
      ctrl.changed_ns.clear();
      ctrl.changed_ns_overflow = false;
    }
  } else if (lid == NVME_LOG_LID_DISCOVER && ctrl.discovery) {
    if (ports_[c.port()].faults.genctr_churn) {
      ++disc_genctr_;  // genctr-churn: the log never settles
    }
    log = build_discovery_log(*this, c.port(), ctrl.hostnqn);
    unmask = kAenDisc;
  } else {
    return status_result(Status::kSctCommandSpecific, kScInvalidLogPage);
  }
  hostile_log(c.port(), lid, len, log);
  if (offset > log.size()) {
    return status_result(Status::kSctGeneric, kScInvalidField);
  }
  if (!rae) {
    // RAE 0: the event that pointed at this log may be reported again (NVMe Base 2.0 5.2).
    ctrl.masked_aen &= ~unmask;
  }
  CmdResult r;
  r.data.assign(len, 0);
  const std::size_t n = std::min<std::uint64_t>(len, log.size() - offset);
  std::copy_n(log.begin() + static_cast<std::ptrdiff_t>(offset), n, r.data.begin());
  return r;
}

CmdResult Core::set_features(Controller& ctrl, const Sqe& sqe) {
  const std::uint8_t fid = sqe.cdw(10) & 0xFF;
  const std::uint32_t v = sqe.cdw(11);
  if (fid == kFidNumQueues && !ctrl.discovery) {
    const std::uint32_t nsqr = v & 0xFFFF, ncqr = v >> 16;
    if (nsqr == 0xFFFF || ncqr == 0xFFFF) {
      return status_result(Status::kSctGeneric, kScInvalidField);
    }
    // Grants what was asked up to our limit; both counts 0's based in DW0.
    ctrl.nr_io_queues = static_cast<std::uint16_t>(std::min<std::uint32_t>(std::min(nsqr, ncqr) + 1, kMaxIoQueues));
    const std::uint32_t g = ctrl.nr_io_queues - 1u;
    return ok_result(g | (g << 16));
  }
  if (fid == kFidAsyncEventConfig) {
    ctrl.aec = v & (kAecNsAttr | kAecAna | kAecDiscoveryLogChange);
    return ok_result(ctrl.aec);  // nvmet echoes the value
  }
  if (fid == kFidKato) {
    ctrl.kato_ms = v;
    touch(ctrl);
    return ok_result();
  }
  return status_result(Status::kSctGeneric, kScInvalidField);
}

CmdResult Core::get_features(Controller& ctrl, const Sqe& sqe) {
  const std::uint8_t fid = sqe.cdw(10) & 0xFF;
  if (fid == kFidNumQueues && !ctrl.discovery) {
    const std::uint32_t g = std::max<std::uint32_t>(ctrl.nr_io_queues, 1) - 1u;
    return ok_result(g | (g << 16));
  }
  if (fid == kFidAsyncEventConfig) {
    return ok_result(ctrl.aec);
  }
  if (fid == kFidKato) {
    return ok_result(ctrl.kato_ms);
  }
  return status_result(Status::kSctGeneric, kScInvalidField);
}

// ---- asynchronous events ----

void Core::deliver_aen(Controller& ctrl) {
  static constexpr std::pair<std::uint32_t, std::uint32_t> kCodes[] = {
      {kAenNsAttr, kAenNsAttrChanged}, {kAenAna, kAenAnaChange}, {kAenDisc, kAenDiscoveryLogChange}};
  for (const auto& [bit, dw0] : kCodes) {
    if ((ctrl.pending_aen & bit) == 0 || ctrl.aers.empty() || ctrl.admin == nullptr) {
      continue;
    }
    const std::uint16_t cid = ctrl.aers.front();
    ctrl.aers.pop_front();
    ctrl.pending_aen &= ~bit;
    ctrl.masked_aen |= bit;  // until the host reads the log with RAE 0
    CmdResult r;
    r.dw0 = dw0;
    ctrl.admin->complete(cid, std::move(r));
  }
}

void Core::raise_aen(std::uint32_t kind, std::size_t only_port, bool discovery_ctrls) {
  const std::uint32_t aec_bit = kind == kAenNsAttr ? kAecNsAttr : kind == kAenAna ? kAecAna : kAecDiscoveryLogChange;
  std::vector<Controller*> targets;
  for (auto& [id, ctrl] : controllers_) {
    if (ctrl->discovery != discovery_ctrls || (only_port != SIZE_MAX && ctrl->port != only_port)) {
      continue;
    }
    if ((ctrl->aec & aec_bit) == 0 || (ctrl->masked_aen & kind) != 0) {
      continue;  // disabled, or reported and not yet read: the log holds the news
    }
    ctrl->pending_aen |= kind;
    targets.push_back(ctrl.get());
  }
  for (Controller* ctrl : targets) {
    deliver_aen(*ctrl);
  }
}

void Core::ns_changed(std::uint32_t nsid) {
  for (auto& [id, ctrl] : controllers_) {
    if (ctrl->discovery || ctrl->changed_ns_overflow) {
      continue;
    }
    if (std::find(ctrl->changed_ns.begin(), ctrl->changed_ns.end(), nsid) == ctrl->changed_ns.end()) {
      if (ctrl->changed_ns.size() >= 1024) {
        ctrl->changed_ns_overflow = true;  // more than 1024: the log says 0xFFFFFFFF
        ctrl->changed_ns.clear();
      } else {
        ctrl->changed_ns.push_back(nsid);
        std::sort(ctrl->changed_ns.begin(), ctrl->changed_ns.end());
      }
    }
  }
  raise_aen(kAenNsAttr, SIZE_MAX, false);
}

}  // namespace nvmemp::sim
