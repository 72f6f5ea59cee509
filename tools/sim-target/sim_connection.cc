// NVMe/TCP connection of the simulated target: ICReq/ICResp, command capsules, R2T/H2CData
// for writes, C2HData and CapsuleResp, C2HTermReq on malformed input (NVMe/TCP 1.0, 3.3-3.6).
#include "sim_connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "wire/libnvme_types.h"

namespace nvmemp::sim {

using namespace wire;

namespace {

constexpr std::size_t kTxHigh = 8u << 20;        // stop executing commands above this
constexpr std::size_t kMaxPending = 4096;        // commands received, not yet executed
constexpr std::size_t kXferBudget = 32u << 20;   // write buffers of R2T transfers in progress
constexpr std::uint32_t kMaxR2tOutstanding = 16; // cap on the host's MAXR2T + 1
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerEvent = 16;               // fairness: other connections get their turn

}  // namespace

Connection::Connection(Core& core, int fd, std::size_t port)
    : core_(core), fd_(fd), port_(port), parser_(RxParams{Role::Controller}) {
  RxParams rx;
  rx.role = Role::Controller;
  rx.max_plen = kIcHlen;  // until ICReq: nothing bigger is legal
  parser_.set_params(rx);
  events_ = EPOLLIN;
}

void Connection::set_queue(std::uint16_t qid, std::uint16_t cntlid, std::uint16_t sqsize, bool sq_flow_disabled) {
  qid_ = qid;
  cntlid_ = cntlid;
  sqsize_ = sqsize;
  sq_flow_disabled_ = sq_flow_disabled;
  connected_ = true;
}

void Connection::on_events(std::uint32_t events) {
  if (draining_) {
    drain(events);
    return;
  }
  if ((events & EPOLLOUT) != 0) {
    on_writable();
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !closed_) {
    on_readable();
  }
}

void Connection::on_readable() {
  // One receive buffer for the loop thread: PDUs are copied out (or gathered by the parser)
  // before the next read, and on_readable never nests.
  static thread_local std::vector<std::uint8_t> buf(kReadChunk);
  in_readable_ = true;
  for (int i = 0; i < kReadsPerEvent && !closed_; ++i) {
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n == 0) {
      in_readable_ = false;
      close("closed by the host");
      return;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      in_readable_ = false;
      close(fmt::format("recv: {}", std::strerror(errno)));
      return;
    }
    Bytes chunk(buf.data(), static_cast<std::size_t>(n));
    static thread_local std::vector<std::uint8_t> plain;
    if (core_.config().tls_key.empty()) {
      tls_decided_ = true;
    } else if (!tls_receive(chunk, plain)) {
      if (closed_) {
        in_readable_ = false;
        return;
      }
      continue;
    } else if (tls_ != nullptr) {
      chunk = Bytes(plain);
    }
    const std::uint64_t chunk_pos = rx_pos_;
    rx_pos_ += chunk.size();
    auto fed = parser_.feed(chunk, [&](const Pdu& p) {
      next_pdu_pos_ += p.raw.size();
      if (!closed_) {
        handle_pdu(p);
      }
    });
    // Keep up to 128 bytes of the PDU that starts at next_pdu_pos_ (for a TermReq's copy).
    if (next_pdu_pos_ >= chunk_pos) {
      head_.clear();
    }
    const std::size_t from = next_pdu_pos_ >= chunk_pos ? static_cast<std::size_t>(next_pdu_pos_ - chunk_pos) : 0;
    if (from < chunk.size()) {
      const std::size_t take = std::min(chunk.size() - from, std::size_t{128} - std::min<std::size_t>(head_.size(), 128));
      head_.insert(head_.end(), chunk.begin() + static_cast<std::ptrdiff_t>(from),
                   chunk.begin() + static_cast<std::ptrdiff_t>(from + take));
    }
    if (!fed) {
      in_readable_ = false;
      if (!closed_) {
        fatal(fed.error(), head_);
      }
      return;
    }
    // A short read drained the socket: the epoll is level-triggered, so bytes that arrive
    // later are reported again, and a receive that would only say EAGAIN is saved.
    if (static_cast<std::size_t>(n) < buf.size()) {
      break;
    }
  }
  pump();
  in_readable_ = false;
  on_writable();
}

bool Connection::blackholed() const { return core_.faults(port_).blackhole; }

void Connection::handle_pdu(const Pdu& pdu) {
  if (blackholed()) {
    // Lost in the network: nothing is answered. A write that carries its data is kept so a
    // test can apply it late (apply-held) and catch it overwriting newer data.
    if (const auto* cmd = std::get_if<CapsuleCmd>(&pdu.body); cmd != nullptr && connected_ && qid_ != 0) {
      auto sqe = Sqe::from_bytes(cmd->sqe);
      if (sqe && sqe->opcode() == nvme_cmd_write && !cmd->data.empty()) {
        core_.hold_write(port_, *sqe, cmd->data);
      }
    }
    return;
  }
  if (!ic_done_) {
    if (const auto* req = std::get_if<IcReq>(&pdu.body)) {
      handle_icreq(*req);
      return;
    }
    sequence_error(pdu, "the first PDU of a connection must be ICReq");
    return;
  }
  if (const auto* cmd = std::get_if<CapsuleCmd>(&pdu.body)) {
    if (pending_.size() + write_wait_.size() >= kMaxPending) {
      close(fmt::format("host has more than {} commands outstanding (queue size {})", kMaxPending, sqsize_ + 1u));
      return;
    }
    PendingCmd pc;
    std::copy_n(cmd->sqe.begin(), kSqeLen, pc.sqe.bytes.begin());
    pc.data.assign(cmd->data.begin(), cmd->data.end());
    pending_.push_back(std::move(pc));
    return;
  }
  if (const auto* h = std::get_if<H2CData>(&pdu.body)) {
    handle_h2c(*h, pdu.raw.first(std::min<std::size_t>(pdu.raw.size(), 128)));
    return;
  }
  if (const auto* t = std::get_if<H2CTermReq>(&pdu.body)) {
    close(fmt::format("host sent H2CTermReq fes {:#x} ({}) fei {:#x}", t->fes, fes_name(t->fes), t->fei));
    return;
  }
  sequence_error(pdu, "unexpected PDU after the connection was initialized");
}

// A PDU the sequence does not allow here: C2HTermReq with PDU Sequence Error, then close.
void Connection::sequence_error(const Pdu& pdu, const char* why) {
  WireError e;
  e.code = Errc::Protocol;
  e.pdu_type = pdu.ch.type;
  e.field = "pdu-type";
  e.value = pdu.ch.type;
  e.why = why;
  e.fes = Fes::PduSequenceError;
  fatal(e, pdu.raw.first(std::min<std::size_t>(pdu.raw.size(), 128)));
}

void Connection::handle_icreq(const IcReq& req) {
  if (core_.hangs(port_, HangStep::Icresp)) {
    core_.log(fmt::format("port {}: ICReq accepted, no ICResp (never-complete icresp)", port_ + 1));
    return;
  }
  ic_done_ = true;
  const SimConfig& cfg = core_.config();
  maxr2t_ = std::min(req.maxr2t, kMaxR2tOutstanding - 1);
  // Digests as requested (ICResp echoes them, like nvmet and SPDK); our data to the host is
  // aligned to its HPDA.
  tx_ = TxParams{req.hdgst, req.ddgst, req.hpda};
  IcResp resp;
  resp.cpda = cfg.cpda;
  resp.hdgst = req.hdgst;
  resp.ddgst = req.ddgst;
  resp.maxh2cdata = cfg.maxh2cdata;
  send(encode_pdu(resp));
  RxParams rx;
  rx.role = Role::Controller;
  rx.hdgst = req.hdgst;
  rx.ddgst = req.ddgst;
  rx.pda = cfg.cpda;
  const std::size_t icd = std::max<std::size_t>(kAdminMaxInCapsule, max_in_capsule_data(cfg.ioccsz));
  rx.max_plen = static_cast<std::uint32_t>(std::max<std::size_t>(icd, cfg.maxh2cdata) + kMaxHeaderSection + kDigestLen);
  parser_.set_params(rx);
}

void Connection::fatal(const WireError& err, Bytes header) {
  if (closed_) {
    return;
  }
  core_.log(fmt::format("port {} qid {}: {}; sending C2HTermReq and closing", port_ + 1, qid_, err.to_string()));
  send(encode_term_req_for(err, header, Role::Controller));
  begin_drain();
}

void Connection::begin_drain() {
  closed_ = true;
  draining_ = true;
  drain_deadline_ = SimClock::now() + std::chrono::seconds(1);
  pending_.clear();
  core_.connection_closed(*this);
  on_writable();
  if (tx_bytes_ == 0) {
    ::shutdown(fd_, SHUT_WR);  // FIN after the TermReq: the host reads it before EOF
  }
}

// After a TermReq: send what is queued, then discard input until the host closes (so the
// kernel does not answer unread input with a RST that could overtake the TermReq).
void Connection::drain(std::uint32_t events) {
  if ((events & EPOLLOUT) != 0 && tx_bytes_ > 0) {
    on_writable();
    if (tx_bytes_ == 0) {
      ::shutdown(fd_, SHUT_WR);
    }
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    std::uint8_t sink[4096];
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = ::recv(fd_, sink, sizeof sink, 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
        finish_drain();
        return;
      }
      if (n < 0 && errno != EINTR) {
        break;
      }
    }
  }
}

void Connection::finish_drain() {
  if (draining_) {
    draining_ = false;
    core_.retire(this, fd_);
  }
}

void Connection::tick(SimClock::time_point now) {
  if (draining_ && now >= drain_deadline_) {
    finish_drain();
    return;
  }
  bool moved = false;
  while (!delayed_.empty() && delayed_.front().due <= now) {
    delayed_bytes_ -= delayed_.front().bytes.size();
    enqueue(std::move(delayed_.front().bytes));
    delayed_.pop_front();
    moved = true;
  }
  if (moved && !closed_) {
    on_writable();
  }
}

void Connection::close(std::string_view why) {
  if (closed_) {
    if (draining_) {
      finish_drain();
    }
    return;
  }
  core_.log(fmt::format("port {} qid {} cntlid {}: closing: {}", port_ + 1, qid_, cntlid_, why));
  closed_ = true;
  pending_.clear();
  core_.connection_closed(*this);
  core_.retire(this, fd_);
}

void Connection::pump() {
  if (blackholed()) {
    return;
  }
  while (!closed_ && !write_wait_.empty()) {
    const std::size_t len = write_wait_.front().sgl1().length;
    if (!xfers_.empty() && xfer_bytes_ + len > kXferBudget) {
      break;
    }
    const Sqe sqe = write_wait_.front();
    write_wait_.pop_front();
    start_write(sqe);
  }
  while (!closed_ && !pending_.empty() && tx_bytes_ + delayed_bytes_ < kTxHigh) {
    PendingCmd cmd = std::move(pending_.front());
    pending_.pop_front();
    dispatch(std::move(cmd));
  }
}

void Connection::dispatch(PendingCmd cmd) {
  const Sqe& sqe = cmd.sqe;
  const std::uint16_t cid = sqe.cid();
  const SglDescriptor sgl = sqe.sgl1();
  if (connected_) {
    sqhd_ = static_cast<std::uint16_t>((sqhd_ + 1u) % (sqsize_ + 1u));
  }
  // Opcode bits 1:0 = 01b: data moves host to controller (NVMe Base 2.0, "Opcodes").
  // Fabrics commands: FCTYPE bit 0; of those only Authentication Send (0x05) may take its data by
  // R2T (a Connect's data is always in the capsule).
  const bool host_to_ctrl = sqe.opcode() == kOpcodeFabrics ? sqe.fctype() == 0x05 : (sqe.opcode() & 0x3) == 0x1;
  if (sgl.length == 0 && cmd.data.empty()) {
    // No data: the SGL is not looked at (hosts send 0x5A/0 like the kernel, or all zeros).
  } else if (sgl.id == SglDescriptor::kIdTransportDataBlock) {
    if (!cmd.data.empty()) {
      complete(cid, status_result(Status::kSctGeneric, kScSglLengthInvalid));
      return;
    }
    if (host_to_ctrl && sgl.length > 0) {
      if (!connected_) {
        complete(cid, status_result(Status::kSctGeneric, kScCmdSeqError));
      } else if (sgl.length > kMaxTransferBytes) {
        complete(cid, status_result(Status::kSctGeneric, kScInvalidField));
      } else if (xfers_.count(cid) != 0) {
        complete(cid, status_result(Status::kSctGeneric, kScCidConflict));
      } else if (!xfers_.empty() && xfer_bytes_ + sgl.length > kXferBudget) {
        write_wait_.push_back(sqe);
      } else {
        start_write(sqe);
      }
      return;
    }
  } else if (sgl.id == SglDescriptor::kIdDataBlockOffset) {
    const std::size_t max_icd = qid_ == 0 || !connected_ ? kAdminMaxInCapsule
                                                         : max_in_capsule_data(core_.config().ioccsz);
    if (sgl.addr != 0) {  // ICDOFF is 0 (Identify Controller), so the offset must be 0
      complete(cid, status_result(Status::kSctGeneric, kScSglOffsetInvalid));
      return;
    }
    if (sgl.length != cmd.data.size() || cmd.data.size() > max_icd) {
      complete(cid, status_result(Status::kSctGeneric, kScSglLengthInvalid));
      return;
    }
  } else {
    complete(cid, status_result(Status::kSctGeneric, kScSglTypeInvalid));
    return;
  }
  run_command(sqe, cmd.data);
}

void Connection::run_command(const Sqe& sqe, Bytes data) {
  const std::uint16_t cid = sqe.cid();
  if (core_.hangs(port_, sqe)) {
    core_.log(fmt::format("port {} qid {}: opcode {:#x} cid {} accepted, never completed (never-complete step)",
                          port_ + 1, qid_, sqe.opcode(), cid));
    return;
  }
  if (!connected_) {
    if (sqe.opcode() == kOpcodeFabrics && sqe.fctype() == 0x01) {
      CmdResult r = core_.connect(*this, sqe, data);
      if (connected_) {
        sqhd_ = 1;  // the Connect itself was entry 0
      }
      // With SQ flow control disabled SQHD is reserved: nvmet and SPDK put 0xFFFF in the
      // Connect response and 0 afterwards (captures/README.md).
      complete(cid, std::move(r), sq_flow_disabled_ ? 0xFFFF : sqhd_);
    } else {
      complete(cid, status_result(Status::kSctGeneric, kScCmdSeqError));
    }
    return;
  }
  Controller* ctrl = core_.controller(cntlid_);
  if (ctrl == nullptr) {
    close("its controller is gone");
    return;
  }
  core_.touch(*ctrl);  // CTRATT TBKAS: any command counts as keep-alive traffic
  if (qid_ == 0 && core_.swallows(port_, sqe.opcode())) {
    core_.log(fmt::format("port {} cntlid {}: admin opcode {:#x} cid {} accepted, never completed (fault)", port_ + 1,
                          cntlid_, sqe.opcode(), cid));
    return;
  }
  CmdResult r = qid_ == 0 ? core_.execute_admin(*this, *ctrl, sqe, data) : core_.execute_io(*this, *ctrl, sqe, data);
  const bool fatal = r.fatal_after;
  complete(cid, std::move(r));
  if (fatal) {
    core_.controller_fatal(cntlid_, *this, "authentication failed");
  }
}

void Connection::complete(std::uint16_t cid, CmdResult r, std::optional<std::uint16_t> sqhd) {
  if (r.deferred || closed_) {
    return;
  }
  if (r.status.ok() && r.zero_len > 0 && zero_data_plain()) {
    send_zero_data(cid, r.zero_len);
    if (sq_flow_disabled_) {
      return;
    }
  } else if (r.status.ok() && r.zero_len > 0) {
    r.data.assign(r.zero_len, 0);  // a fault inspects or delays PDUs: send them the usual way
  }
  if (r.status.ok() && !r.data.empty()) {
    const auto total = static_cast<std::uint32_t>(r.data.size());
    const std::uint32_t chunk = core_.config().c2h_chunk != 0 ? core_.config().c2h_chunk : total;
    for (std::uint32_t off = 0; off < total;) {
      const std::uint32_t n = std::min(chunk, total - off);
      C2HData d;
      d.cccid = cid;
      d.datao = off;
      d.last = off + n == total;
      // SUCCESS only when the host disabled SQ flow control (Connect CATTR bit 2), as nvmet.
      d.success = d.last && sq_flow_disabled_;
      d.data = Bytes(r.data).subspan(off, n);
      send(encode_pdu(d, tx_));
      off += n;
    }
    if (sq_flow_disabled_) {
      return;
    }
  }
  Cqe q;
  q.dw0 = r.dw0;
  q.dw1 = r.dw1;
  q.sqhd = sqhd.value_or(sq_flow_disabled_ ? 0 : sqhd_);
  q.sqid = qid_;
  q.cid = cid;
  q.status = r.status;
  const auto cqe = encode_cqe(q);
  send(encode_pdu(CapsuleResp{Bytes(cqe)}, tx_));
}

void Connection::send(std::vector<std::uint8_t> bytes) {
  if (bytes.empty() || hostile_pdu(bytes)) {
    return;
  }
  PortFaults& f = core_.faults(port_);
  if (f.corrupt_next_digest && bytes.size() > kChLen) {
    // Flip a bit of the header digest, else of the data digest (NVMe/TCP 1.0, 3.6.2.2).
    const std::uint8_t flags = bytes[kOffFlags];
    const std::size_t hlen = bytes[kOffHlen];
    if ((flags & kFlagHdgst) != 0 && bytes.size() >= hlen + kDigestLen) {
      bytes[hlen] ^= 0x01;
      f.corrupt_next_digest = false;
    } else if ((flags & kFlagDdgst) != 0) {
      bytes.back() ^= 0x01;
      f.corrupt_next_digest = false;
    }
  }
  if (f.drop_after > 0 && --f.drop_after == 0) {
    close_after_flush_ = true;
  }
  if (f.latency_ms > 0 || !delayed_.empty()) {
    delayed_bytes_ += bytes.size();
    delayed_.push_back(Delayed{SimClock::now() + std::chrono::milliseconds(f.latency_ms), std::move(bytes)});
    return;
  }
  enqueue(std::move(bytes));
}

void Connection::enqueue(std::vector<std::uint8_t> bytes) {
  if (tls_ != nullptr) {
    // Encrypted when the socket can take it, the PDUs queued till then in records of up to
    // 16 KiB (flush_tls()): a record per PDU would cost a record's overhead each.
    tls_plain_.insert(tls_plain_.end(), bytes.begin(), bytes.end());
    tx_bytes_ += bytes.size();
    if (!in_readable_) update_events();
    return;
  }
  enqueue_raw(std::move(bytes));
}

void Connection::enqueue_raw(std::vector<std::uint8_t> bytes) {
  if (bytes.empty()) return;
  tx_bytes_ += bytes.size();
  txq_.push_back(TxPiece{std::move(bytes), {}});
  if (!in_readable_) {
    update_events();
  }
}

void Connection::resume() {
  if (closed_) {
    return;
  }
  update_events();
  on_writable();
  pump();
  on_writable();
}

void Connection::on_writable() {
  if (closed_ && !draining_) {
    return;  // the socket is closed already
  }
  if (blackholed() && !draining_) {
    update_events();
    return;
  }
  if (tls_ != nullptr) flush_tls();
  for (int round = 0; round < 64 && tx_bytes_ > 0; ++round) {
    iovec iov[32];
    int cnt = 0;
    std::size_t skip = tx_off_;
    for (auto it = txq_.begin(); it != txq_.end() && cnt < 32; ++it, ++cnt) {
      const Bytes b = it->bytes();
      iov[cnt].iov_base = const_cast<std::uint8_t*>(b.data()) + skip;  // sendmsg only reads it
      iov[cnt].iov_len = b.size() - skip;
      skip = 0;
    }
    if (core_.faults(port_).trickle) {
      cnt = 1;  // a byte-at-a-time sender (TCP_NODELAY: one segment each)
      iov[0].iov_len = 1;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(cnt);
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && !closed_) {
        close(fmt::format("send: {}", std::strerror(errno)));
      }
      break;
    }
    auto left = static_cast<std::size_t>(n);
    tx_bytes_ -= left;
    while (left > 0) {
      const std::size_t in_front = txq_.front().bytes().size() - tx_off_;
      if (left >= in_front) {
        left -= in_front;
        txq_.pop_front();
        tx_off_ = 0;
      } else {
        tx_off_ += left;
        left = 0;
      }
    }
  }
  update_events();
  if (close_after_flush_ && tx_bytes_ == 0 && !closed_ && term_after_flush_) {
    begin_drain();
    return;
  }
  if (close_after_flush_ && tx_bytes_ == 0 && !closed_ && (close_why_.empty() || delayed_.empty())) {
    close(muted_ ? "cut-pdu: closed in the middle of a PDU"
          : close_why_.empty() ? "drop-after: the counted PDUs were sent" : std::string_view(close_why_));
    return;
  }
  if (!closed_ && tx_bytes_ + delayed_bytes_ < kTxHigh && !pending_.empty()) {
    pump();
    if (tx_bytes_ > 0) {
      update_events();
    }
  }
}

void Connection::update_events() {
  if (core_.retired(this)) {
    return;
  }
  const bool may_send = tx_bytes_ > 0 && (!blackholed() || draining_);
  const std::uint32_t want = EPOLLIN | (may_send ? EPOLLOUT : 0u);
  if (want != events_) {
    events_ = want;
    core_.set_events(this, fd_, want);
  }
}

}  // namespace nvmemp::sim
