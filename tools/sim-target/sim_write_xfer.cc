// Writes whose data comes by R2T / H2CData (NVMe/TCP 1.0, 3.4.4): the R2Ts the target
// sends (at most the host's MAXR2T + 1 outstanding per command, each at most --r2t-chunk
// bytes) and the checks on every H2CData (TTAG, CCCID, DATAO, DATAL, LAST_PDU). A bad one is
// a fatal transport error: C2HTermReq and close.
#include <algorithm>

#include "sim_connection.h"

namespace nvmemp::sim {

using namespace wire;

namespace {

WireError h2c_error(const char* field, std::uint64_t value, const char* why, Fes fes, std::uint32_t fei) {
  WireError e;
  e.code = Errc::Protocol;
  e.pdu_type = static_cast<std::uint8_t>(PduType::H2CData);
  e.field = field;
  e.value = value;
  e.why = why;
  e.fes = fes;
  e.fei = fei;
  return e;
}

}  // namespace

void Connection::start_write(const Sqe& sqe) {
  WriteXfer x;
  x.sqe = sqe;
  x.buf.assign(sqe.sgl1().length, 0);
  xfer_bytes_ += x.buf.size();
  auto& ref = xfers_[sqe.cid()] = std::move(x);
  issue_r2ts(sqe.cid(), ref);
}

void Connection::issue_r2ts(std::uint16_t cid, WriteXfer& x) {
  const auto total = static_cast<std::uint32_t>(x.buf.size());
  const std::uint32_t chunk = core_.config().r2t_chunk != 0 ? core_.config().r2t_chunk : total;
  // At most MAXR2T + 1 R2Ts outstanding per command (NVMe/TCP 1.0, 3.4.4 and ICReq MAXR2T).
  for (int guard = 0; guard < 64 && x.r2ts_out < maxr2t_ + 1 && x.next_r2t < total; ++guard) {
    const std::uint32_t n = std::min(chunk, total - x.next_r2t);
    std::uint16_t ttag = next_ttag_;
    for (int i = 0; i < 65536 && (r2ts_.count(ttag) != 0 || ttag == 0xFFFF); ++i) {
      ttag = static_cast<std::uint16_t>(ttag + 1);
    }
    next_ttag_ = static_cast<std::uint16_t>(ttag + 1);
    r2ts_[ttag] = R2tSlot{cid, x.next_r2t, n, 0};
    R2T r;
    r.cccid = cid;
    r.ttag = ttag;
    r.r2to = x.next_r2t;
    r.r2tl = n;
    send(encode_pdu(r, tx_));
    x.next_r2t += n;
    ++x.r2ts_out;
  }
}

void Connection::handle_h2c(const H2CData& h, Bytes raw) {
  auto it = r2ts_.find(h.ttag);
  if (it == r2ts_.end() || it->second.cid != h.cccid) {
    fatal(h2c_error("ttag", h.ttag, "no R2T outstanding with this TTAG for this CCCID", Fes::InvalidHeaderField,
                    kOffTtag),
          raw);
    return;
  }
  R2tSlot& slot = it->second;
  const std::uint32_t n = static_cast<std::uint32_t>(h.data.size());
  if (h.datao != slot.off + slot.got) {
    fatal(h2c_error("datao", h.datao, "not the next offset of the R2T", Fes::DataOutOfRange, kOffDatao), raw);
    return;
  }
  if (n > core_.config().maxh2cdata) {
    fatal(h2c_error("datal", n, "exceeds MAXH2CDATA", Fes::DataTransferLimitExceeded, kOffDatal), raw);
    return;
  }
  if (slot.got + n > slot.len) {
    fatal(h2c_error("datal", n, "runs past the end of the R2T", Fes::DataOutOfRange, kOffDatal), raw);
    return;
  }
  const bool ends = slot.got + n == slot.len;
  if (h.last != ends) {
    fatal(h2c_error("flags", h.last ? 1 : 0, "LAST_PDU must be set on exactly the last H2CData of an R2T",
                    Fes::PduSequenceError, kOffFlags),
          raw);
    return;
  }
  WriteXfer& x = xfers_.at(slot.cid);
  std::copy(h.data.begin(), h.data.end(), x.buf.begin() + h.datao);
  slot.got += n;
  if (!ends) {
    return;
  }
  const std::uint16_t cid = slot.cid;
  x.received += slot.len;
  --x.r2ts_out;
  r2ts_.erase(it);
  issue_r2ts(cid, x);
  if (x.received < x.buf.size()) {
    return;
  }
  const Sqe sqe = x.sqe;
  std::vector<std::uint8_t> data = std::move(x.buf);
  xfer_bytes_ -= data.size();
  xfers_.erase(cid);
  run_command(sqe, data);
}

}  // namespace nvmemp::sim
