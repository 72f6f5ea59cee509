// Deliberate misbehaviour of the simulated target: the hostile-target suite (tests/sim/
// hostile_test.cc). Chosen from the NVMe/TCP 1.0 rules and the checks of the kernel host
// (drivers/nvme/host/tcp.c: nvme_tcp_init_connection, nvme_tcp_recv_pdu, nvme_tcp_handle_comp,
// nvme_tcp_handle_c2h_data, nvme_tcp_handle_r2t): one-shot lies in the PDUs sent (`hostile
// PORT MODE`), bring-up steps never completed (`never-complete PORT STEP`), a byte-at-a-time
// sender (`trickle`), a discovery log that never settles (`genctr-churn`), retry delays of hours
// (`crdt`) and event storms (`aen-storm`). Every one is off by default (tools/README.md).
#include <fmt/format.h>

#include "sim_connection.h"
#include "sim_core.h"
#include "wire/crc32c.h"
#include "wire/libnvme_types.h"

namespace nvmemp::sim {

using namespace wire;

namespace {

constexpr std::uint16_t kUnownedCid = 0xFFFE;
constexpr std::size_t kOffCqeCid = kChLen + 12, kOffCqeStatus = kChLen + 14;

// Which PDU a one-shot mode waits for.
PduType target_of(HostileMode m) {
  switch (m) {
    case HostileMode::IcrespPfv:
    case HostileMode::IcrespCpda:
    case HostileMode::IcrespDgstReserved:
    case HostileMode::IcrespDigests:
    case HostileMode::IcrespMaxh2cdata: return PduType::IcResp;
    case HostileMode::C2hCid:
    case HostileMode::C2hPdo:
    case HostileMode::C2hDatao:
    case HostileMode::C2hDatal:
    case HostileMode::C2hOverrun:
    case HostileMode::C2hTruncated:
    case HostileMode::C2hSuccessNoLast: return PduType::C2HData;
    case HostileMode::R2tOutside: return PduType::R2T;
    case HostileMode::AnaNgrps:
    case HostileMode::AnaStateReserved:
    case HostileMode::DiscNumrec:
    case HostileMode::DiscRecfmt: return static_cast<PduType>(0xFF);  // not a PDU: hostile_log()
    default: return PduType::CapsuleResp;
  }
}

// After editing a header: a header digest, if the PDU has one, must match again so the host
// sees the lie and not a digest error.
void refresh_hdgst(std::vector<std::uint8_t>& b) {
  const std::size_t hlen = b[kOffHlen];
  if ((b[kOffFlags] & kFlagHdgst) != 0 && b.size() >= hlen + kDigestLen) {
    store_le32(b, hlen, crc32c(Bytes(b).first(hlen)));
  }
}

// Changes DATAL and PLEN of a C2HData by `delta` bytes of data (added as zeros or cut off the
// end). Only for PDUs without a data digest (the suite runs without digests).
void resize_c2h(std::vector<std::uint8_t>& b, std::int64_t delta) {
  const std::uint32_t datal = load_le32(b, kOffDatal);
  const auto n = static_cast<std::uint32_t>(static_cast<std::int64_t>(datal) + delta);
  b.resize(static_cast<std::size_t>(static_cast<std::int64_t>(b.size()) + delta), 0);
  store_le32(b, kOffDatal, n);
  store_le32(b, kOffPlen, static_cast<std::uint32_t>(b.size()));
}

}  // namespace

bool Connection::hostile_pdu(std::vector<std::uint8_t>& b) {
  PortFaults& f = core_.faults(port_);
  if (muted_) {
    return true;  // cut-pdu: nothing more leaves before the close
  }
  const HostileMode m = f.hostile;
  if (m == HostileMode::Off || b.size() < kChLen || static_cast<PduType>(b[kOffType]) != target_of(m)) {
    return false;
  }
  f.hostile = HostileMode::Off;  // one shot
  core_.log(fmt::format("port {} qid {}: hostile {}", port_ + 1, qid_, kHostileModeNames[static_cast<std::size_t>(m)]));
  switch (m) {
    case HostileMode::IcrespPfv: store_le16(b, kOffPfv, 1); break;
    case HostileMode::IcrespCpda: b[kOffPda] = 0xFF; break;
    case HostileMode::IcrespDgstReserved: b[kOffDgst] |= 0x04; break;
    case HostileMode::IcrespDigests: b[kOffDgst] = kDgstHdr | kDgstData; break;
    case HostileMode::IcrespMaxh2cdata: store_le32(b, kOffMaxh2cdata, 1024); break;
    case HostileMode::RespPlenShort: store_le32(b, kOffPlen, 16); break;
    case HostileMode::RespPlenHuge: store_le32(b, kOffPlen, 1u << 30); break;
    case HostileMode::RespHlen: b[kOffHlen] = 28; break;
    case HostileMode::RespTypeUnknown: b[kOffType] = 0x0B; break;
    case HostileMode::RespTypeHost: b[kOffType] = static_cast<std::uint8_t>(PduType::CapsuleCmd); break;
    case HostileMode::RespCid: store_le16(b, kOffCqeCid, kUnownedCid); break;
    case HostileMode::RespSctReserved:
      store_le16(b, kOffCqeStatus, static_cast<std::uint16_t>(((5u << 8) | 0x7Fu) << 1));
      break;
    case HostileMode::RespTwice:
      enqueue(b);
      enqueue(std::move(b));
      return true;
    case HostileMode::C2hUnasked: {
      // 512 bytes of data for the command this CapsuleResp completes, which reads nothing.
      C2HData d;
      d.cccid = load_le16(b, kOffCqeCid);
      d.last = true;
      const std::vector<std::uint8_t> zeros(512, 0);
      d.data = zeros;
      enqueue(encode_pdu(d, tx_));
      enqueue(std::move(b));
      return true;
    }
    case HostileMode::C2hCid: store_le16(b, kOffCccid, kUnownedCid); break;
    case HostileMode::C2hPdo: b[kOffPdo] = 8; break;
    case HostileMode::C2hDatao: store_le32(b, kOffDatao, load_le32(b, kOffDatao) + load_le32(b, kOffDatal)); break;
    case HostileMode::C2hDatal: store_le32(b, kOffDatal, load_le32(b, kOffDatal) + 4); break;
    case HostileMode::C2hOverrun: resize_c2h(b, 512); break;
    case HostileMode::C2hTruncated: resize_c2h(b, -static_cast<std::int64_t>(load_le32(b, kOffDatal) / 2)); break;
    case HostileMode::C2hSuccessNoLast: b[kOffFlags] = static_cast<std::uint8_t>((b[kOffFlags] & ~kFlagLastPdu) | kFlagSuccess); break;
    case HostileMode::R2tOutside: store_le32(b, kOffR2tl, load_le32(b, kOffR2tl) + 4096); break;
    case HostileMode::TermReq: {
      WireError e;
      e.code = Errc::Protocol;
      e.pdu_type = static_cast<std::uint8_t>(PduType::CapsuleCmd);
      e.field = "hlen";
      e.why = "hostile target";
      e.fes = Fes::InvalidHeaderField;
      e.fei = kOffHlen;
      enqueue(encode_term_req_for(e, {}, Role::Controller));
      // Not begin_drain() here: this may run inside an AEN delivery that still uses the
      // controller begin_drain() deletes. on_writable() starts the drain once it is sent.
      muted_ = true;
      term_after_flush_ = true;
      close_after_flush_ = true;
      return true;
    }
    case HostileMode::CutPdu:
      b.resize(b.size() / 2);
      enqueue(std::move(b));
      muted_ = true;
      close_after_flush_ = true;
      return true;
    default: break;
  }
  refresh_hdgst(b);
  return false;
}

// The log-page lies: applied to the next read of that log on the port, once (RECFMT to the
// next read with entries: a host checks it on the whole log).
void Core::hostile_log(std::size_t port, std::uint8_t lid, std::uint64_t len, std::vector<std::uint8_t>& page) {
  HostileMode& m = ports_[port].faults.hostile;
  const bool ana = lid == NVME_LOG_LID_ANA && page.size() >= 16 + 32;
  const bool disc = lid == NVME_LOG_LID_DISCOVER && page.size() >= 1024;
  if (ana && m == HostileMode::AnaNgrps) {
    store_le16(page, 8, 0xFFFF);
  } else if (ana && m == HostileMode::AnaStateReserved) {
    page[16 + 16] = 0x7;  // first group descriptor, state byte
  } else if (disc && m == HostileMode::DiscNumrec) {
    store_le64(page, 8, 1ull << 40);
  } else if (disc && m == HostileMode::DiscRecfmt && len > 1024) {
    store_le16(page, 16, 1);
  } else {
    return;
  }
  log(fmt::format("port {}: hostile {}", port + 1, kHostileModeNames[static_cast<std::size_t>(m)]));
  m = HostileMode::Off;
}

bool Core::hangs(std::size_t port, HangStep step) const {
  return (ports_[port].faults.hang_steps & (1u << static_cast<unsigned>(step))) != 0;
}

// never-complete by step: which step this command is (Connect is matched before the queue is
// connected, so its QID comes from the SQE).
bool Core::hangs(std::size_t port, const Sqe& sqe) const {
  const std::uint32_t steps = ports_[port].faults.hang_steps;
  if (steps == 0) {
    return false;
  }
  const std::uint32_t cdw10 = sqe.cdw(10);
  std::optional<HangStep> step;
  if (sqe.opcode() == kOpcodeFabrics) {
    const std::uint8_t fctype = sqe.fctype();
    if (fctype == 0x01) {
      auto p = parse_connect(sqe);
      step = p && p->qid != 0 ? HangStep::IoConnect : HangStep::Connect;
    } else if (fctype == 0x04 && sqe.cdw(11) == 0) {
      step = HangStep::Cap;
    } else if (fctype == 0x00 && sqe.cdw(11) == 0x14) {
      step = HangStep::Cc;
    }
  } else if (sqe.opcode() == nvme_admin_identify) {
    if ((cdw10 & 0xFF) == NVME_IDENTIFY_CNS_CTRL) step = HangStep::IdCtrl;
    if ((cdw10 & 0xFF) == NVME_IDENTIFY_CNS_NS_ACTIVE_LIST) step = HangStep::IdNsList;
  } else if (sqe.opcode() == nvme_admin_set_features && (cdw10 & 0xFF) == 0x07) {
    step = HangStep::NumQueues;
  } else if (sqe.opcode() == nvme_admin_get_log_page && (cdw10 & 0xFF) == NVME_LOG_LID_ANA) {
    step = HangStep::AnaLog;
  } else if (sqe.opcode() == nvme_admin_keep_alive) {
    step = HangStep::KeepAlive;
  }
  return step && (steps & (1u << static_cast<unsigned>(*step))) != 0;
}

// aen-storm: each AER the host posts completes at once with an ANA change notice, ignoring
// the masking until the log is read, until `storm_left` notices went out.
void Core::feed_storm(Controller& ctrl) {
  for (int guard = 0; guard < 64 && ctrl.storm_left > 0 && !ctrl.aers.empty() && ctrl.admin != nullptr; ++guard) {
    const std::uint16_t cid = ctrl.aers.front();
    ctrl.aers.pop_front();
    --ctrl.storm_left;
    ++ana_chgcnt_;
    CmdResult r;
    r.dw0 = kAenAnaChange;
    ctrl.admin->complete(cid, std::move(r));
  }
}

Result<std::string> Core::run_hostile(const ControlCommand& cmd) {
  auto idx = resolve_port(cmd.port);
  if (!idx) return tl::unexpected(idx.error());
  PortFaults& f = ports_[*idx].faults;
  switch (cmd.op) {
    case ControlOp::Hostile: f.hostile = cmd.mode; break;
    case ControlOp::Trickle: f.trickle = cmd.on; break;
    case ControlOp::GenctrChurn: f.genctr_churn = cmd.on; break;
    case ControlOp::Crdt: f.crdt_100ms = static_cast<std::uint16_t>(cmd.count); break;
    case ControlOp::AenStorm: {
      std::size_t n = 0;
      for (auto& [id, ctrl] : controllers_) {
        if (ctrl->port == *idx && !ctrl->discovery) {
          ctrl->storm_left = cmd.count;
          feed_storm(*ctrl);
          ++n;
        }
      }
      return fmt::format("storm of {} event(s) on {} controller(s)\n", cmd.count, n);
    }
    default: return make_error(Errc::InvalidArgument, "not a hostile command");
  }
  return std::string();
}

}  // namespace nvmemp::sim
