#include "wire/pdu_codec.h"

#include <algorithm>
#include <cstring>

#include "wire/crc32c.h"
#include "wire/pdu_layout_rules.h"

namespace nvmemp::wire {

namespace {

using Unexpected = tl::unexpected<WireError>;

Unexpected fail(std::uint8_t type, const char* field, std::uint64_t value, const char* why,
                std::uint32_t fei, Errc code = Errc::Malformed,
                Fes fes = Fes::InvalidHeaderField) {
  WireError e;
  e.code = code;
  e.pdu_type = type;
  e.field = field;
  e.value = value;
  e.why = why;
  e.fes = fes;
  e.fei = fei;
  return Unexpected(e);
}

Unexpected fail_limit(std::uint8_t type, const char* field, std::uint64_t value, const char* why,
                      std::uint64_t limit, std::uint32_t fei, Errc code = Errc::Malformed,
                      Fes fes = Fes::InvalidHeaderField) {
  auto u = fail(type, field, value, why, fei, code, fes);
  u.value().limit = limit;
  u.value().has_limit = true;
  return u;
}

std::uint8_t expected_hlen(PduType t) {
  switch (t) {
    case PduType::IcReq:
    case PduType::IcResp: return kIcHlen;
    case PduType::H2CTermReq:
    case PduType::C2HTermReq: return kTermReqHlen;
    case PduType::CapsuleCmd: return kCapsuleCmdHlen;
    case PduType::CapsuleResp: return kCapsuleRespHlen;
    case PduType::H2CData:
    case PduType::C2HData: return kDataHlen;
    case PduType::R2T: return kR2THlen;
  }
  return 0;
}

bool known_type(std::uint8_t t) {
  return t <= 0x07 || t == 0x09;
}

bool host_receives(PduType t) {
  return t == PduType::IcResp || t == PduType::C2HTermReq || t == PduType::CapsuleResp ||
         t == PduType::C2HData || t == PduType::R2T;
}

bool digest_matches(Bytes covered, Bytes stored) {
  return load_le32(stored, 0) == crc32c(covered);
}

DecodeResult decode_ic(Bytes b, const CommonHeader& ch, const RxParams& p) {
  const auto t = static_cast<PduType>(ch.type);
  const std::uint16_t pfv = load_le16(b, kOffPfv);
  const std::uint8_t pda = b[kOffPda];
  const std::uint8_t dgst = b[kOffDgst];
  const std::uint32_t dw = load_le32(b, kOffMaxr2t);
  if (pfv != 0) {
    return fail(ch.type, "pfv", pfv, "unsupported PDU format version (only 0 exists)", kOffPfv,
                Errc::Unsupported, Fes::UnsupportedParameter);
  }
  if (pda > 31) {
    return fail_limit(ch.type, t == PduType::IcReq ? "hpda" : "cpda", pda, "must be at most", 31,
                      kOffPda);
  }
  if ((dgst & ~(kDgstHdr | kDgstData)) != 0) {
    return fail(ch.type, "dgst", dgst, "reserved bits set (only bit 0 hdgst, bit 1 ddgst)",
                kOffDgst);
  }
  (void)p;
  if (t == PduType::IcReq) {
    IcReq r;
    r.pfv = pfv;
    r.hpda = pda;
    r.hdgst = (dgst & kDgstHdr) != 0;
    r.ddgst = (dgst & kDgstData) != 0;
    r.maxr2t = dw;
    return Pdu{ch, r, b};
  }
  if (dw < 4096 || dw % 4 != 0) {
    return fail(ch.type, "maxh2cdata", dw, "must be a multiple of 4 and at least 4096",
                kOffMaxh2cdata, Errc::Malformed, Fes::UnsupportedParameter);
  }
  IcResp r;
  r.pfv = pfv;
  r.cpda = pda;
  r.hdgst = (dgst & kDgstHdr) != 0;
  r.ddgst = (dgst & kDgstData) != 0;
  r.maxh2cdata = dw;
  return Pdu{ch, r, b};
}

DecodeResult decode_body(Bytes b, const CommonHeader& ch, Bytes data, bool has_data, bool data_ok);

DecodeResult decode_term_req(Bytes b, const CommonHeader& ch) {
  TermReq r;
  r.fes = load_le16(b, kOffFes);
  r.fei = load_le32(b, kOffFei);
  r.data = b.subspan(kTermReqHlen);  // TermReqs put the error data right after the header
  if (static_cast<PduType>(ch.type) == PduType::H2CTermReq) {
    return Pdu{ch, H2CTermReq{r}, b};
  }
  return Pdu{ch, C2HTermReq{r}, b};
}

}  // namespace

const char* pdu_type_name(std::uint8_t type) noexcept {
  switch (type) {
    case 0x00: return "ICReq";
    case 0x01: return "ICResp";
    case 0x02: return "H2CTermReq";
    case 0x03: return "C2HTermReq";
    case 0x04: return "CapsuleCmd";
    case 0x05: return "CapsuleResp";
    case 0x06: return "H2CData";
    case 0x07: return "C2HData";
    case 0x09: return "R2T";
    default: return "PDU";
  }
}

const char* fes_name(std::uint16_t fes) noexcept {
  switch (fes) {
    case 0x01: return "Invalid PDU Header Field";
    case 0x02: return "PDU Sequence Error";
    case 0x03: return "Header Digest Error";
    case 0x04: return "Data Transfer Out of Range";
    case 0x05: return "R2T Limit Exceeded";
    case 0x06: return "Unsupported Parameter";
    default: return "reserved FES";
  }
}

CommonHeader load_common_header(Bytes b) {
  CommonHeader ch;
  ch.type = b[kOffType];
  ch.flags = b[kOffFlags];
  ch.hlen = b[kOffHlen];
  ch.pdo = b[kOffPdo];
  ch.plen = load_le32(b, kOffPlen);
  return ch;
}

tl::expected<CommonHeader, WireError> check_common_header(Bytes first8, const RxParams& p) {
  if (first8.size() < kChLen) {
    return fail_limit(0xFF, "plen", first8.size(), "PDU shorter than its common header of", kChLen,
                      kOffPlen, Errc::Truncated);
  }
  const CommonHeader ch = load_common_header(first8);
  if (!known_type(ch.type)) {
    return fail(ch.type, "pdu-type", ch.type, "unknown PDU type", kOffType);
  }
  const auto t = static_cast<PduType>(ch.type);
  if (host_receives(t) != (p.role == Role::Host)) {
    return fail(ch.type, "pdu-type", ch.type,
                p.role == Role::Host ? "a host never receives this PDU type"
                                     : "a controller never receives this PDU type",
                kOffType);
  }
  const std::uint8_t want_hlen = expected_hlen(t);
  if (ch.hlen != want_hlen) {
    return fail_limit(ch.type, "hlen", ch.hlen, "must be", want_hlen, kOffHlen);
  }
  if (ch.plen < ch.hlen) {
    return fail_limit(ch.type, "plen", ch.plen, "shorter than hlen", ch.hlen, kOffPlen);
  }
  std::uint64_t max = p.max_plen;
  switch (t) {
    case PduType::IcReq:
    case PduType::IcResp:
      if (ch.plen != kIcHlen) {
        return fail_limit(ch.type, "plen", ch.plen, "must be", kIcHlen, kOffPlen);
      }
      break;
    case PduType::H2CTermReq:
    case PduType::C2HTermReq: max = kTermReqMaxPlen; break;
    case PduType::CapsuleResp:
    case PduType::R2T: max = ch.hlen + kDigestLen; break;
    default: break;
  }
  if (ch.plen > max) {
    return fail_limit(ch.type, "plen", ch.plen, "exceeds the limit of", max, kOffPlen);
  }
  return ch;
}

std::size_t data_header_need(const CommonHeader& ch) {
  const std::size_t header_end = ch.hlen + ((ch.flags & kFlagHdgst) != 0 ? kDigestLen : 0);
  return std::min<std::size_t>(std::max<std::size_t>(header_end, ch.pdo), ch.plen);
}

tl::expected<PduLayout, WireError> check_layout(Bytes head, const CommonHeader& ch, const RxParams& p) {
  // Header digest: present exactly when negotiated.
  const bool hd = (ch.flags & kFlagHdgst) != 0;
  if (hd != p.hdgst) {
    return fail(ch.type, "flags", ch.flags,
                p.hdgst ? "HDGSTF clear but header digests were negotiated"
                        : "HDGSTF set but header digests were not negotiated",
                kOffFlags);
  }
  const std::size_t header_end = ch.hlen + (hd ? kDigestLen : 0);
  if (ch.plen < header_end) {
    return fail_limit(ch.type, "plen", ch.plen, "shorter than the header and its digest:",
                      header_end, kOffPlen);
  }
  if (head.size() < header_end) {
    return fail_limit(ch.type, "plen", head.size(), "header section cut short; needs", header_end,
                      kOffPlen, Errc::Truncated);
  }
  if (hd && p.verify_digests && !digest_matches(head.first(ch.hlen), head.subspan(ch.hlen, kDigestLen))) {
    return fail(ch.type, "hdgst", load_le32(head, ch.hlen), "header digest does not match the header",
                ch.hlen, Errc::DigestMismatch, Fes::HeaderDigestError);
  }

  // Data section: [pdo, plen - ddgst).
  PduLayout lay;
  lay.has_data = ch.plen > header_end;
  const bool dd = (ch.flags & kFlagDdgst) != 0;
  if (lay.has_data) {
    if (dd != p.ddgst) {
      return fail(ch.type, "flags", ch.flags,
                  p.ddgst ? "DDGSTF clear on a PDU with data but data digests were negotiated"
                          : "DDGSTF set but data digests were not negotiated",
                  kOffFlags);
    }
    if (ch.pdo < header_end) {
      return fail_limit(ch.type, "pdo", ch.pdo, "data offset inside the header; must be at least",
                        header_end, kOffPdo);
    }
    if (ch.pdo % align_of(p.pda) != 0) {
      return fail_limit(ch.type, "pdo", ch.pdo, "not a multiple of the data alignment",
                        align_of(p.pda), kOffPdo);
    }
    const std::size_t dd_len = dd ? kDigestLen : 0;
    if (static_cast<std::size_t>(ch.pdo) + dd_len >= ch.plen) {
      return fail_limit(ch.type, "pdo", ch.pdo, "leaves no data before the end of the PDU at",
                        ch.plen, kOffPdo);
    }
    lay.dd = dd;
    lay.data_off = ch.pdo;
    lay.data_len = ch.plen - ch.pdo - dd_len;
  } else if (dd) {
    return fail(ch.type, "flags", ch.flags, "DDGSTF set on a PDU without data", kOffFlags);
  }
  return lay;
}

tl::expected<C2HDataHeader, WireError> decode_c2h_data_header(Bytes head, const RxParams& p) {
  auto chk = check_common_header(head, p);
  if (!chk) {
    return Unexpected(chk.error());
  }
  const CommonHeader ch = *chk;
  if (static_cast<PduType>(ch.type) != PduType::C2HData) {
    return fail(ch.type, "pdu-type", ch.type, "not a C2HData PDU", kOffType);
  }
  if (head.size() < data_header_need(ch)) {
    return fail_limit(ch.type, "pdo", head.size(), "header section cut short; needs",
                      data_header_need(ch), kOffPdo, Errc::Truncated);
  }
  auto lay = check_layout(head, ch, p);
  if (!lay) {
    return Unexpected(lay.error());
  }
  if (!lay->has_data) {
    return fail(ch.type, "plen", ch.plen, "data PDU without data", kOffPlen);
  }
  const std::uint32_t datal = load_le32(head, kOffDatal);
  if (datal != lay->data_len) {
    return fail_limit(ch.type, "datal", datal, "differs from the data in the PDU:", lay->data_len,
                      kOffDatal);
  }
  const bool last = (ch.flags & kFlagLastPdu) != 0;
  const bool success = (ch.flags & kFlagSuccess) != 0;
  if (success && !last) {
    return fail(ch.type, "flags", ch.flags, "SUCCESS set without LAST_PDU", kOffFlags);
  }
  C2HDataHeader h;
  h.ch = ch;
  h.cccid = load_le16(head, kOffCccid);
  h.datao = load_le32(head, kOffDatao);
  h.datal = datal;
  h.last = last;
  h.success = success;
  h.ddgst = lay->dd;
  return h;
}

DecodeResult decode_pdu(Bytes b, const RxParams& p) {
  auto chk = check_common_header(b, p);
  if (!chk) {
    return Unexpected(chk.error());
  }
  const CommonHeader ch = *chk;
  if (b.size() != ch.plen) {
    return fail_limit(ch.type, "plen", ch.plen, "differs from the bytes given:", b.size(),
                      kOffPlen, b.size() < ch.plen ? Errc::Truncated : Errc::Malformed);
  }
  const auto t = static_cast<PduType>(ch.type);
  if (t == PduType::IcReq || t == PduType::IcResp) {
    return decode_ic(b, ch, p);
  }
  if (t == PduType::H2CTermReq || t == PduType::C2HTermReq) {
    return decode_term_req(b, ch);
  }

  auto lay = check_layout(b, ch, p);
  if (!lay) {
    return Unexpected(lay.error());
  }
  Bytes data;
  bool data_ok = true;
  if (lay->has_data) {
    data = b.subspan(lay->data_off, lay->data_len);
    // A data digest error is not a fatal transport error: the PDU is whole and its header
    // sound, so the receiver fails that one command (NVMe/TCP 1.0, 3.6.2.13) and the
    // connection lives on. The PDU is returned with data_digest_ok = false.
    data_ok = !(lay->dd && p.verify_digests &&
                !digest_matches(data, b.subspan(ch.plen - kDigestLen, kDigestLen)));
  }
  return decode_body(b, ch, data, lay->has_data, data_ok);
}

namespace {

// The PDU-specific fields of the PDUs that may carry digests (header already validated).
DecodeResult decode_body(Bytes b, const CommonHeader& ch, Bytes data, bool has_data, bool data_ok) {
  const auto t = static_cast<PduType>(ch.type);
  switch (t) {
    case PduType::CapsuleCmd:
      return Pdu{ch, CapsuleCmd{b.subspan(kChLen, kSqeLen), data}, b, data_ok};
    case PduType::CapsuleResp:
      if (has_data) {  // unreachable: check_common_header bounds plen; kept for clarity
        return fail(ch.type, "plen", ch.plen, "CapsuleResp carries no data", kOffPlen);
      }
      return Pdu{ch, CapsuleResp{b.subspan(kChLen, kCqeLen)}, b, data_ok};
    case PduType::R2T: {
      R2T r;
      r.cccid = load_le16(b, kOffCccid);
      r.ttag = load_le16(b, kOffTtag);
      r.r2to = load_le32(b, kOffR2to);
      r.r2tl = load_le32(b, kOffR2tl);
      if (r.r2tl == 0) {
        return fail(ch.type, "r2tl", 0, "an R2T must request at least one byte", kOffR2tl);
      }
      return Pdu{ch, r, b, data_ok};
    }
    case PduType::H2CData:
    case PduType::C2HData: {
      const std::uint32_t datal = load_le32(b, kOffDatal);
      if (!has_data) {
        return fail(ch.type, "plen", ch.plen, "data PDU without data", kOffPlen);
      }
      if (datal != data.size()) {
        return fail_limit(ch.type, "datal", datal, "differs from the data in the PDU:",
                          data.size(), kOffDatal);
      }
      const bool last = (ch.flags & kFlagLastPdu) != 0;
      const bool success = (ch.flags & kFlagSuccess) != 0;
      if (t == PduType::H2CData) {
        if (success) {
          return fail(ch.type, "flags", ch.flags, "SUCCESS is not defined for H2CData",
                      kOffFlags);
        }
        H2CData d;
        d.cccid = load_le16(b, kOffCccid);
        d.ttag = load_le16(b, kOffTtag);
        d.datao = load_le32(b, kOffDatao);
        d.last = last;
        d.data = data;
        return Pdu{ch, d, b, data_ok};
      }
      if (success && !last) {
        return fail(ch.type, "flags", ch.flags, "SUCCESS set without LAST_PDU", kOffFlags);
      }
      C2HData d;
      d.cccid = load_le16(b, kOffCccid);
      d.datao = load_le32(b, kOffDatao);
      d.last = last;
      d.success = success;
      d.data = data;
      return Pdu{ch, d, b, data_ok};
    }
    default: break;
  }
  return fail(ch.type, "pdu-type", ch.type, "unknown PDU type", kOffType);
}

}  // namespace

}  // namespace nvmemp::wire
