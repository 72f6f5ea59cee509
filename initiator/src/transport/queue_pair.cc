#include "transport/queue_pair.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/iov_gather.h"

namespace nvmemp::transport {

using namespace wire;

namespace {
constexpr std::uint16_t kNoTag = 0xFFFF;
// Transient Transport Error (NVMe Base 2.0, generic SC 0x22): what a data digest mismatch
// makes of a command. Retryable: no DNR.
constexpr Status kTransientTransportError = Status::from_parts(0, 0x22);
}  // namespace

struct QueuePair::Slot {
  bool busy = false;
  std::uint8_t gen = 0;
  Command cmd;
  std::uint8_t opcode = 0;
  std::uint32_t data_len = 0;
  bool is_read = false;          // data comes in C2HData
  bool is_r2t_write = false;     // data leaves in H2CData after R2Ts
  bool any_sent = false;         // a byte of the capsule has left
  bool resp = false;             // CapsuleResp (or C2HData SUCCESS) is in
  bool digest_error = false;     // some C2HData failed its data digest
  bool abandoned = false;        // abandon_read(): C2HData is checked but not copied
  Completion result;
  std::uint32_t c2h_bytes = 0;   // read data received so far
  std::uint32_t pdus_unsent = 0; // PDUs of this command in the TX ring
  bool r2t_active = false;       // an R2T whose data is not yet all in the TX ring
  std::uint16_t ttag = 0;
  std::uint32_t r2t_remaining = 0;
  std::uint32_t h2c_queued = 0;  // write data handed to H2CData PDUs so far
  TimePoint deadline{};
  Nanos timeout{};               // what `deadline` was set from, for the message
};

struct QueuePair::TxPdu {
  std::array<std::uint8_t, kMaxHeaderSection> hdr{};
  std::uint16_t hdr_len = 0;
  const std::uint8_t* data = nullptr;
  std::uint32_t data_len = 0;
  std::array<std::uint8_t, kDigestLen> ddgst{};
  bool has_ddgst = false;
  std::uint16_t tag = kNoTag;
  std::size_t size() const { return hdr_len + data_len + (has_ddgst ? kDigestLen : 0); }
};

const char* qp_state_name(QpState s) noexcept {
  switch (s) {
    case QpState::New: return "new";
    case QpState::IcSent: return "icreq-sent";
    case QpState::Live: return "live";
    case QpState::Failed: return "failed";
  }
  return "?";
}

QueuePair::QueuePair(const QueuePairConfig& cfg, const Clock& clock, CompletionFn on_complete, void* ctx)
    : cfg_(cfg),
      clock_(clock),
      on_complete_(on_complete),
      ctx_(ctx),
      framer_(RxParams{}) {
  cfg_.queue_size = std::clamp<std::uint16_t>(cfg_.queue_size, 1, kMaxTags);
  slots_.resize(cfg_.queue_size);
  free_tags_.reserve(cfg_.queue_size);
  for (std::uint16_t t = cfg_.queue_size; t > 0; --t) {
    free_tags_.push_back(static_cast<std::uint16_t>(t - 1));
  }
  // Room for every command's capsule plus the ICReq and some H2CData PDUs.
  tx_.resize(static_cast<std::size_t>(cfg_.queue_size) + 17);
  r2t_fifo_.resize(static_cast<std::size_t>(cfg_.queue_size) + 1);
}

QueuePair::~QueuePair() = default;

Result<void> QueuePair::start() {
  if (state_ != QpState::New) {
    return make_error(Errc::Protocol, fmt::format("{}: start() in state {}", cfg_.name, qp_state_name(state_)));
  }
  IcReq req;
  req.hpda = 0;
  req.maxr2t = 0;  // one R2T outstanding per command, like the kernel host
  req.hdgst = cfg_.hdgst;
  req.ddgst = cfg_.ddgst;
  const auto bytes = encode_pdu(req);
  TxPdu* p = tx_push();
  std::memcpy(p->hdr.data(), bytes.data(), bytes.size());
  p->hdr_len = static_cast<std::uint16_t>(bytes.size());
  state_ = QpState::IcSent;
  if (cfg_.icresp_timeout.count() > 0) {
    icresp_deadline_ = clock_.now() + cfg_.icresp_timeout;
  }
  return {};
}

QueuePair::TxPdu* QueuePair::tx_push() {
  TxPdu* p = &tx_[(tx_head_ + tx_count_) % tx_.size()];
  *p = TxPdu{};
  ++tx_count_;
  return p;
}

Result<std::uint16_t> QueuePair::submit(const Command& cmd) {
  if (state_ != QpState::Live) {
    return make_error(Errc::Protocol, fmt::format("{}: queue is {}, not live{}{}", cfg_.name, qp_state_name(state_),
                                                  failure_.empty() ? "" : ": ", failure_));
  }
  if (free_tags_.empty()) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: queue full ({} commands in flight)", cfg_.name, inflight_));
  }
  const SglDescriptor sgl = cmd.sqe.sgl1();
  const bool in_capsule = sgl.id == SglDescriptor::kIdDataBlockOffset;
  const std::uint32_t len = sgl.length;
  if (len > cfg_.max_data_len) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: {} bytes exceed the transfer limit of {} bytes", cfg_.name,
                                                         len, cfg_.max_data_len));
  }
  bool is_read = false;
  bool is_r2t_write = false;
  if (in_capsule) {
    if (cmd.write_buf.size() != len || !cmd.read_buf.empty() || len > cfg_.max_icd) {
      return make_error(Errc::InvalidArgument,
                        fmt::format("{}: in-capsule SGL of {} bytes needs a write buffer of that size within the "
                                    "in-capsule limit of {} bytes",
                                    cfg_.name, len, cfg_.max_icd));
    }
  } else if (sgl.id == SglDescriptor::kIdTransportDataBlock && len > 0) {
    is_read = cmd.read_buf.size() == len && cmd.write_buf.empty();
    is_r2t_write = cmd.write_buf.size() == len && cmd.read_buf.empty();
    if (!is_read && !is_r2t_write) {
      return make_error(Errc::InvalidArgument,
                        fmt::format("{}: SGL length {} matches neither the read buffer ({}) nor the write buffer ({})",
                                    cfg_.name, len, cmd.read_buf.size(), cmd.write_buf.size()));
    }
  } else if (len != 0 || !cmd.read_buf.empty() || !cmd.write_buf.empty()) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: unsupported SGL id {:#x} length {}", cfg_.name, sgl.id, len));
  }

  const std::uint16_t tag = free_tags_.back();
  free_tags_.pop_back();
  ++inflight_;
  Slot& s = slots_[tag];
  const std::uint8_t gen = s.gen;
  s = Slot{};
  s.gen = gen;
  s.busy = true;
  s.cmd = cmd;
  s.opcode = cmd.sqe.opcode();
  s.data_len = len;
  s.is_read = is_read;
  s.is_r2t_write = is_r2t_write;
  s.timeout = cmd.timeout.count() > 0 ? cmd.timeout : cfg_.io_timeout;
  s.deadline = cmd.no_timeout ? TimePoint::max() : (cmd.now != TimePoint{} ? cmd.now : clock_.now()) + s.timeout;
  const std::uint16_t cid = make_cid(tag, gen);
  s.result.user = cmd.user;

  Sqe sqe = cmd.sqe;
  sqe.set_cid(cid);
  TxPdu* p = tx_push();
  const std::uint32_t icd = in_capsule ? len : 0;
  p->hdr_len = static_cast<std::uint16_t>(encode_capsule_cmd_header(p->hdr, sqe.bytes, icd, tx_params_));
  p->tag = tag;
  if (icd > 0) {
    p->data = cmd.write_buf.data();
    p->data_len = icd;
    if (tx_params_.ddgst) {
      p->ddgst = digest_bytes(cmd.write_buf);
      p->has_ddgst = true;
    }
  }
  s.pdus_unsent = 1;
  return cid;
}

void QueuePair::fill_h2c() {
  const std::size_t reserve = static_cast<std::size_t>(cfg_.queue_size - inflight_) + 1;  // future capsules
  while (!r2t_fifo_empty() && tx_count_ + reserve < tx_.size()) {
    const std::uint16_t cid = r2t_fifo_[r2t_head_];
    Slot& s = slots_[cid_tag(cid)];
    if (!s.busy || s.gen != cid_gen(cid) || !s.r2t_active) {
      r2t_head_ = (r2t_head_ + 1) % r2t_fifo_.size();  // cancelled (completed or failed)
      continue;
    }
    const std::uint32_t n = std::min(s.r2t_remaining, icresp_.maxh2cdata);
    const Bytes chunk = s.cmd.write_buf.subspan(s.h2c_queued, n);
    TxPdu* p = tx_push();
    const bool last = n == s.r2t_remaining;
    p->hdr_len = static_cast<std::uint16_t>(
        encode_h2c_data_header(p->hdr, cid, s.ttag, s.h2c_queued, n, last, tx_params_));
    p->data = chunk.data();
    p->data_len = n;
    if (tx_params_.ddgst) {
      p->ddgst = digest_bytes(chunk);
      p->has_ddgst = true;
    }
    p->tag = cid_tag(cid);
    ++s.pdus_unsent;
    s.h2c_queued += n;
    s.r2t_remaining -= n;
    if (last) {
      s.r2t_active = false;
      r2t_head_ = (r2t_head_ + 1) % r2t_fifo_.size();
    }
  }
}

std::size_t QueuePair::gather_tx(std::span<iovec> out) {
  if (state_ == QpState::Failed) {
    return 0;
  }
  fill_h2c();
  IovGather g(out, tx_head_sent_);
  for (std::size_t i = 0; i < tx_count_; ++i) {
    const TxPdu& p = tx_[(tx_head_ + i) % tx_.size()];
    if (!g.add(p.hdr.data(), p.hdr_len) || !g.add(p.data, p.data_len) ||
        !g.add(p.ddgst.data(), p.has_ddgst ? kDigestLen : 0)) {
      break;
    }
  }
  const std::size_t n = g.count();
  tx_in_flight_ = tx_in_flight_ || n > 0;
  return n;
}

void QueuePair::send_failed() {
  tx_in_flight_ = false;
  if (failed_unreported_) {
    complete_all_failed();
  }
}

void QueuePair::sent(std::size_t n) {
  tx_in_flight_ = false;
  advance_tx(n);
  if (failed_unreported_) {
    complete_all_failed();
  }
}

void QueuePair::advance_tx(std::size_t n) {
  while (n > 0 && tx_count_ > 0) {
    TxPdu& p = tx_[tx_head_];
    const std::size_t left = p.size() - tx_head_sent_;
    if (p.tag != kNoTag) {
      slots_[p.tag].any_sent = true;
    }
    if (n < left) {
      tx_head_sent_ += n;
      return;
    }
    n -= left;
    tx_head_sent_ = 0;
    const std::uint16_t tag = p.tag;
    tx_head_ = (tx_head_ + 1) % tx_.size();
    --tx_count_;
    if (tag != kNoTag && slots_[tag].busy) {
      --slots_[tag].pdus_unsent;
      maybe_complete(tag);
    }
  }
}

std::size_t QueuePair::rx_iov(std::span<iovec> out) { return framer_.rx_iov(out); }

Result<void> QueuePair::received_into(std::size_t n) {
  // One clock read per receive, not per PDU: the stall check needs no finer grain.
  last_progress_ = clock_.now();
  framer_.landed(n);
  while (state_ != QpState::Failed) {
    auto ev = framer_.next();
    if (!ev) {
      fail(fmt::format("{}: bad PDU from the controller: {}", cfg_.name, ev.error().to_string()));
      break;
    }
    if (ev->kind == RxFramer::Kind::None) {
      break;
    }
    if (ev->kind == RxFramer::Kind::Pdu) {
      on_pdu(ev->pdu);
    } else if (ev->kind == RxFramer::Kind::DataHeader) {
      if (const Placement pl = on_c2h_header(ev->data); pl.ok) {
        framer_.place(pl.dst);
      }
    } else {
      on_c2h_end(ev->data, ev->data_digest_ok);
    }
  }
  if (state_ == QpState::Failed) {
    return make_error(Errc::Protocol, failure_);
  }
  return {};
}

void QueuePair::on_pdu(const Pdu& pdu) {
  if (const auto* t = std::get_if<C2HTermReq>(&pdu.body)) {
    protocol_error(fmt::format("controller terminated the connection: FES {:#x} ({}), FEI {}", t->fes, fes_name(t->fes),
                               t->fei));
    return;
  }
  if (state_ == QpState::IcSent) {
    if (const auto* r = std::get_if<IcResp>(&pdu.body)) {
      on_icresp(*r);
    } else {
      protocol_error(fmt::format("{} before ICResp", pdu_type_name(pdu.ch.type)));
    }
    return;
  }
  if (const auto* r = std::get_if<CapsuleResp>(&pdu.body)) {
    on_capsule_resp(*r);
  } else if (const auto* t = std::get_if<R2T>(&pdu.body)) {
    on_r2t(*t);
  } else {
    protocol_error(fmt::format("unexpected {}", pdu_type_name(pdu.ch.type)));
  }
}

void QueuePair::on_icresp(const IcResp& r) {
  // The kernel host insists that the controller enables exactly the digests asked for.
  if (r.hdgst != cfg_.hdgst || r.ddgst != cfg_.ddgst) {
    protocol_error(fmt::format("ICResp digests hdgst={} ddgst={} differ from the requested hdgst={} ddgst={}", r.hdgst,
                               r.ddgst, cfg_.hdgst, cfg_.ddgst));
    return;
  }
  icresp_ = r;
  tx_params_ = TxParams{r.hdgst, r.ddgst, r.cpda};
  RxParams rx;
  rx.role = Role::Host;
  rx.hdgst = r.hdgst;
  rx.ddgst = r.ddgst;
  rx.pda = 0;  // our HPDA
  rx.max_plen = cfg_.max_data_len + static_cast<std::uint32_t>(kMaxHeaderSection + kDigestLen);
  framer_.set_params(rx);
  state_ = QpState::Live;
  icresp_deadline_ = TimePoint::max();
  if (on_live_ != nullptr) {
    on_live_(ctx_);
  }
}

QueuePair::Slot* QueuePair::lookup(std::uint16_t cid, const char* what) {
  const std::uint16_t tag = cid_tag(cid);
  if (tag >= slots_.size() || !slots_[tag].busy || slots_[tag].gen != cid_gen(cid)) {
    protocol_error(fmt::format("{} for cid {:#x}, which is not in flight", what, cid));
    return nullptr;
  }
  return &slots_[tag];
}

void QueuePair::on_capsule_resp(const CapsuleResp& r) {
  const Cqe cqe = decode_cqe(r.cqe);
  Slot* s = lookup(cqe.cid, "CapsuleResp");
  if (s == nullptr) return;
  if (s->resp) {
    protocol_error(fmt::format("second completion for cid {:#x}", cqe.cid));
    return;
  }
  if (cqe.status.ok() && s->is_read && s->c2h_bytes != s->data_len) {
    protocol_error(fmt::format("cid {:#x} completed with {} of {} data bytes", cqe.cid, s->c2h_bytes, s->data_len));
    return;
  }
  s->resp = true;
  s->result.status = (cqe.status.ok() && s->digest_error) ? kTransientTransportError : cqe.status;
  s->result.dw0 = cqe.dw0;
  s->result.dw1 = cqe.dw1;
  s->r2t_active = false;  // no more data for a command the controller has finished
  maybe_complete(cid_tag(cqe.cid));
}

// The header of a C2HData is in: its CCCID, DATAO and DATAL are checked against the command
// before any byte of its data is written, so a hostile controller cannot write outside the
// read buffer. Says where the data goes (nowhere for an abandoned read).
QueuePair::Placement QueuePair::on_c2h_header(const C2HDataHeader& h) {
  if (state_ == QpState::IcSent) {
    protocol_error("C2HData before ICResp");
    return {};
  }
  Slot* s = lookup(h.cccid, "C2HData");
  if (s == nullptr) return {};
  if (!s->is_read || s->resp) {
    protocol_error(fmt::format("C2HData for cid {:#x}, which expects no data from the controller", h.cccid));
    return {};
  }
  const std::uint64_t end = std::uint64_t{h.datao} + h.datal;
  if (h.datao != s->c2h_bytes || end > s->data_len) {
    protocol_error(fmt::format("C2HData for cid {:#x} with DATAO {} DATAL {}: expected DATAO {} and the data within "
                               "the command's {} bytes",
                               h.cccid, h.datao, h.datal, s->c2h_bytes, s->data_len));
    return {};
  }
  rx_tag_ = cid_tag(h.cccid);
  // An abandoned read's buffer belongs to the caller again: the data is checked, it goes
  // nowhere.
  return {true, s->abandoned ? nullptr : s->cmd.read_buf.data() + h.datao};
}

void QueuePair::on_c2h_end(const C2HDataHeader& h, bool digest_ok) {
  rx_tag_ = kNoTag;
  Slot* s = lookup(h.cccid, "C2HData");
  if (s == nullptr) return;
  s->c2h_bytes = h.datao + h.datal;
  s->digest_error = s->digest_error || !digest_ok;
  if (h.success) {
    if (s->c2h_bytes != s->data_len) {
      protocol_error(fmt::format("C2HData SUCCESS for cid {:#x} after {} of {} bytes", h.cccid, s->c2h_bytes,
                                 s->data_len));
      return;
    }
    s->resp = true;
    s->result.status = s->digest_error ? kTransientTransportError : Status::success();
    maybe_complete(cid_tag(h.cccid));
  }
}

void QueuePair::on_r2t(const R2T& r) {
  Slot* s = lookup(r.cccid, "R2T");
  if (s == nullptr) return;
  if (!s->is_r2t_write || s->resp) {
    protocol_error(fmt::format("R2T for cid {:#x}, which has no data to send by R2T", r.cccid));
    return;
  }
  if (s->r2t_active) {
    protocol_error(fmt::format("second R2T for cid {:#x} while one is outstanding (MAXR2T 0)", r.cccid));
    return;
  }
  if (r.r2to != s->h2c_queued || std::uint64_t{r.r2to} + r.r2tl > s->data_len) {
    protocol_error(fmt::format("R2T for cid {:#x} with R2TO {} R2TL {}: expected R2TO {} and the range within the "
                               "write's {} bytes",
                               r.cccid, r.r2to, r.r2tl, s->h2c_queued, s->data_len));
    return;
  }
  s->r2t_active = true;
  s->ttag = r.ttag;
  s->r2t_remaining = r.r2tl;
  r2t_fifo_[r2t_tail_] = r.cccid;
  r2t_tail_ = (r2t_tail_ + 1) % r2t_fifo_.size();
}

void QueuePair::maybe_complete(std::uint16_t tag) {
  Slot& s = slots_[tag];
  if (s.busy && s.resp && s.pdus_unsent == 0 && !s.r2t_active) {
    s.result.reached_controller = true;
    complete(tag, s.result);
  }
}

void QueuePair::complete(std::uint16_t tag, const Completion& c) {
  Slot& s = slots_[tag];
  s.busy = false;
  s.gen = static_cast<std::uint8_t>((s.gen + 1) & 0xF);
  free_tags_.push_back(tag);
  --inflight_;
  const Completion copy = c;  // the callback may submit into this very slot
  on_complete_(ctx_, copy);
}

void QueuePair::protocol_error(std::string why) { fail(fmt::format("{}: {}", cfg_.name, why)); }

void QueuePair::fail(std::string reason) {
  if (state_ == QpState::Failed) return;
  state_ = QpState::Failed;
  failure_ = std::move(reason);
  framer_.drop_payload();  // the commands complete: no byte may land in their buffers after
  if (tx_in_flight_) {
    failed_unreported_ = true;  // complete when the send in flight has reported
    return;
  }
  complete_all_failed();
}

void QueuePair::complete_all_failed() {
  failed_unreported_ = false;
  tx_count_ = 0;
  tx_head_sent_ = 0;
  r2t_head_ = r2t_tail_ = 0;
  for (std::uint16_t tag = 0; tag < slots_.size(); ++tag) {
    Slot& s = slots_[tag];
    if (!s.busy) continue;
    Completion c = s.result;
    c.reached_controller = s.any_sent;
    c.status = s.any_sent ? Status::aborted_by_host() : Status::host_path_error();
    complete(tag, c);
  }
}

Result<void> QueuePair::abandon_read(std::uint16_t cid) {
  const std::uint16_t tag = cid_tag(cid);
  if (tag >= slots_.size() || !slots_[tag].busy || slots_[tag].gen != cid_gen(cid) || !slots_[tag].is_read) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: cannot abandon cid {:#x}: not a read in flight", cfg_.name, cid));
  }
  Slot& s = slots_[tag];
  s.abandoned = true;
  s.result.abandoned = true;
  if (rx_tag_ == tag) {
    framer_.drop_payload();  // its payload is being received: the rest goes nowhere
  }
  s.cmd.read_buf = {};
  return {};
}

bool QueuePair::check_timeouts() {
  if (state_ == QpState::Failed) return false;
  const TimePoint now = clock_.now();
  if (state_ == QpState::IcSent && now >= icresp_deadline_) {
    fail(fmt::format("{}: no ICResp within {} ms", cfg_.name,
                     std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.icresp_timeout).count()));
    return true;
  }
  for (std::uint16_t tag = 0; tag < slots_.size(); ++tag) {
    const Slot& s = slots_[tag];
    if (s.busy && now >= s.deadline) {
      fail(fmt::format("{}: command cid {:#x} (opcode {:#04x}) timed out after {} ms", cfg_.name, make_cid(tag, s.gen),
                       s.opcode, std::chrono::duration_cast<std::chrono::milliseconds>(s.timeout).count()));
      return true;
    }
  }
  return false;
}

}  // namespace nvmemp::transport
