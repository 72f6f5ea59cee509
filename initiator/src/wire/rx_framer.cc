#include "wire/rx_framer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace nvmemp::wire {

RxFramer::RxFramer(const RxParams& params, std::size_t staging_bytes)
    : params_(params), stage_(std::max<std::size_t>(staging_bytes, 2 * kMaxHeaderSection)) {}

void RxFramer::compact() {
  if (rd_ == wr_) {
    rd_ = wr_ = 0;
  } else if (rd_ > 0) {
    // What waits is part of one header or small PDU (<= 256 bytes): cheap to move.
    std::memmove(stage_.data(), stage_.data() + rd_, wr_ - rd_);
    wr_ -= rd_;
    rd_ = 0;
  }
}

std::size_t RxFramer::rx_iov(std::span<iovec> out) {
  compact();
  std::size_t i = 0;
  offered_direct_ = 0;
  if (out.empty()) return 0;
  if (payload_pending()) {
    out[i].iov_base = dst_ + done_;
    out[i].iov_len = left_;
    offered_direct_ = left_;
    ++i;
  }
  if (i < out.size() && wr_ < stage_.size()) {
    out[i].iov_base = stage_.data() + wr_;
    out[i].iov_len = stage_.size() - wr_;
    ++i;
  }
  return i;
}

std::size_t RxFramer::rx_want() const noexcept {
  if (payload_pending() || failed() || phase_ != Phase::Header) return 0;
  const std::size_t have = wr_ - rd_;
  if (have < kChLen) return kChLen - have;
  const std::uint8_t* h = stage_.data() + rd_;
  const std::size_t plen = static_cast<std::size_t>(h[kOffPlen]) | (static_cast<std::size_t>(h[kOffPlen + 1]) << 8) |
                           (static_cast<std::size_t>(h[kOffPlen + 2]) << 16) |
                           (static_cast<std::size_t>(h[kOffPlen + 3]) << 24);
  const std::size_t need = h[kOffType] == static_cast<std::uint8_t>(PduType::C2HData)
                               ? std::max<std::size_t>(h[kOffPdo], h[kOffHlen] + (params_.hdgst ? kDigestLen : 0))
                               : plen;
  return need > have ? need - have : 0;
}

void RxFramer::landed(std::size_t n) {
  if (offered_direct_ > 0) {
    const std::size_t d = std::min(n, offered_direct_);
    if (dst_ != nullptr && check_crc_) {
      crc_.update(Bytes(dst_ + done_, d));  // just written by the receive: still in cache
    }
    done_ += static_cast<std::uint32_t>(d);
    left_ -= static_cast<std::uint32_t>(d);
    n -= d;
    offered_direct_ = 0;
  }
  assert(wr_ + n <= stage_.size());
  wr_ += n;
}

void RxFramer::take_payload(const std::uint8_t* src, std::size_t n) {
  if (dst_ != nullptr) {
    std::uint8_t* to = dst_ + done_;
    std::memcpy(to, src, n);
    if (check_crc_) crc_.update(Bytes(to, n));
  } else if (check_crc_) {
    crc_.update(Bytes(src, n));
  }
  done_ += static_cast<std::uint32_t>(n);
  left_ -= static_cast<std::uint32_t>(n);
}

void RxFramer::place(std::uint8_t* dst) {
  assert(phase_ == Phase::Placing);
  dst_ = dst;
  phase_ = Phase::Payload;
}

tl::expected<RxFramer::Event, WireError> RxFramer::fail(WireError e) {
  error_ = e;
  dst_ = nullptr;  // nothing is written anywhere once the stream is broken
  left_ = 0;
  phase_ = Phase::Header;
  return tl::unexpected(e);
}

tl::expected<RxFramer::Event, WireError> RxFramer::next() {
  if (error_) {
    return tl::unexpected(*error_);
  }
  Event ev;
  const std::size_t avail = wr_ - rd_;
  const Bytes staged(stage_.data() + rd_, avail);
  switch (phase_) {
    case Phase::Header: {
      if (avail < kChLen) break;
      auto ch = check_common_header(staged.first(kChLen), params_);
      if (!ch) return fail(ch.error());
      if (ch->type == static_cast<std::uint8_t>(PduType::C2HData)) {
        const std::size_t need = data_header_need(*ch);
        if (avail < need) break;
        auto h = decode_c2h_data_header(staged.first(need), params_);
        if (!h) return fail(h.error());
        rd_ += need;
        cur_ = *h;
        dst_ = nullptr;
        done_ = 0;
        left_ = h->datal;
        crc_ = Crc32c{};
        check_crc_ = h->ddgst && params_.verify_digests;
        phase_ = Phase::Placing;
        ev.kind = Kind::DataHeader;
        ev.data = cur_;
        return ev;
      }
      // Every other PDU a host receives is small (check_common_header bounds its PLEN).
      if (ch->plen > stage_.size()) {
        WireError e;
        e.code = Errc::Malformed;
        e.pdu_type = ch->type;
        e.field = "plen";
        e.value = ch->plen;
        e.why = "exceeds the receive buffer of";
        e.limit = stage_.size();
        e.has_limit = true;
        e.fes = Fes::InvalidHeaderField;
        e.fei = kOffPlen;
        return fail(e);
      }
      if (avail < ch->plen) break;
      auto pdu = decode_pdu(staged.first(ch->plen), params_);
      if (!pdu) return fail(pdu.error());
      rd_ += ch->plen;
      ev.kind = Kind::Pdu;
      ev.pdu = std::move(*pdu);
      return ev;
    }
    case Phase::Placing:
      assert(false && "RxFramer::next() before place()");
      break;
    case Phase::Payload: {
      const std::size_t take = std::min<std::size_t>(left_, avail);
      if (take > 0) {
        take_payload(staged.data(), take);
        rd_ += take;
      }
      if (left_ > 0) break;
      if (cur_.ddgst) {
        phase_ = Phase::DataDigest;
        return next();
      }
      phase_ = Phase::Header;
      dst_ = nullptr;
      ev.kind = Kind::DataEnd;
      ev.data = cur_;
      return ev;
    }
    case Phase::DataDigest: {
      if (avail < kDigestLen) break;
      const std::uint32_t stored = load_le32(staged, 0);
      rd_ += kDigestLen;
      phase_ = Phase::Header;
      dst_ = nullptr;
      ev.kind = Kind::DataEnd;
      ev.data = cur_;
      ev.data_digest_ok = !check_crc_ || stored == crc_.value();
      return ev;
    }
  }
  compact();
  return ev;  // Kind::None
}

}  // namespace nvmemp::wire
