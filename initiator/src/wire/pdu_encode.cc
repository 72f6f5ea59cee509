// PDU encoders (pdu_codec.h): the header section (header, header digest, padding to PDO) into a
// caller's buffer so data can go out from where it lies, and whole PDUs for the rest.
#include "wire/pdu_codec.h"

#include <algorithm>
#include <cstring>

#include "wire/crc32c.h"
#include "wire/pdu_layout_rules.h"

namespace nvmemp::wire {

namespace {

struct HeaderPlan {
  std::size_t section;  // bytes before the data (= PDO when data follows)
  std::uint32_t plen;
  std::uint8_t flags;
};

HeaderPlan plan(PduType type, std::uint8_t hlen, std::uint8_t type_flags, std::uint32_t data_len,
                const TxParams& t) {
  const bool digests = may_carry_digests(type);
  const bool hd = digests && t.hdgst;
  const bool dd = digests && t.ddgst && data_len > 0;
  std::size_t section = hlen + (hd ? kDigestLen : 0);
  if (data_len > 0 && digests) {
    section = round_up(section, align_of(t.pda));
  }
  HeaderPlan hp;
  hp.section = section;
  hp.plen = static_cast<std::uint32_t>(section + data_len + (dd ? kDigestLen : 0));
  hp.flags = static_cast<std::uint8_t>(type_flags | (hd ? kFlagHdgst : 0) | (dd ? kFlagDdgst : 0));
  return hp;
}

// Writes the common header and zeroes the rest of the header section; the caller fills the
// PDU-specific fields and then calls finish_header().
HeaderPlan start_header(MutBytes out, PduType type, std::uint8_t hlen, std::uint8_t type_flags,
                        std::uint32_t data_len, const TxParams& t) {
  const HeaderPlan hp = plan(type, hlen, type_flags, data_len, t);
  std::memset(out.data(), 0, hp.section);
  out[kOffType] = static_cast<std::uint8_t>(type);
  out[kOffFlags] = hp.flags;
  out[kOffHlen] = hlen;
  // PDO is reserved (0) without data; TermReqs put their data right after the header.
  out[kOffPdo] = (data_len > 0 && may_carry_digests(type)) ? static_cast<std::uint8_t>(hp.section) : 0;
  store_le32(out, kOffPlen, hp.plen);
  return hp;
}

std::size_t finish_header(MutBytes out, std::uint8_t hlen, const HeaderPlan& hp) {
  if ((hp.flags & kFlagHdgst) != 0) {
    store_le32(out, hlen, crc32c(Bytes(out.data(), hlen)));
  }
  return hp.section;
}

std::vector<std::uint8_t> whole(PduType type, std::uint8_t hlen, std::uint8_t type_flags,
                                Bytes data, const TxParams& t,
                                void (*fill)(MutBytes, const void*), const void* ctx) {
  std::vector<std::uint8_t> out(kMaxHeaderSection);
  const HeaderPlan hp =
      start_header(out, type, hlen, type_flags, static_cast<std::uint32_t>(data.size()), t);
  fill(out, ctx);
  finish_header(out, hlen, hp);
  out.resize(hp.section);
  out.insert(out.end(), data.begin(), data.end());
  if ((hp.flags & kFlagDdgst) != 0) {
    const auto dg = digest_bytes(data);
    out.insert(out.end(), dg.begin(), dg.end());
  }
  return out;
}

}  // namespace

std::size_t header_section_len(std::uint8_t hlen, bool has_data, const TxParams& t) {
  std::size_t section = hlen + (t.hdgst ? kDigestLen : 0);
  return has_data ? round_up(section, align_of(t.pda)) : section;
}

std::array<std::uint8_t, kDigestLen> digest_bytes(Bytes covered) {
  std::array<std::uint8_t, kDigestLen> d{};
  store_le32(d, 0, crc32c(covered));
  return d;
}

std::size_t encode_capsule_cmd_header(MutBytes out, Bytes sqe, std::uint32_t data_len,
                                      const TxParams& t) {
  const auto hp = start_header(out, PduType::CapsuleCmd, kCapsuleCmdHlen, 0, data_len, t);
  std::memcpy(out.data() + kChLen, sqe.data(), std::min(sqe.size(), kSqeLen));
  return finish_header(out, kCapsuleCmdHlen, hp);
}

std::size_t encode_capsule_resp_header(MutBytes out, Bytes cqe, const TxParams& t) {
  const auto hp = start_header(out, PduType::CapsuleResp, kCapsuleRespHlen, 0, 0, t);
  std::memcpy(out.data() + kChLen, cqe.data(), std::min(cqe.size(), kCqeLen));
  return finish_header(out, kCapsuleRespHlen, hp);
}

std::size_t encode_h2c_data_header(MutBytes out, std::uint16_t cccid, std::uint16_t ttag,
                                   std::uint32_t datao, std::uint32_t datal, bool last,
                                   const TxParams& t) {
  const auto hp =
      start_header(out, PduType::H2CData, kDataHlen, last ? kFlagLastPdu : 0, datal, t);
  store_le16(out, kOffCccid, cccid);
  store_le16(out, kOffTtag, ttag);
  store_le32(out, kOffDatao, datao);
  store_le32(out, kOffDatal, datal);
  return finish_header(out, kDataHlen, hp);
}

std::size_t encode_c2h_data_header(MutBytes out, std::uint16_t cccid, std::uint32_t datao,
                                   std::uint32_t datal, bool last, bool success,
                                   const TxParams& t) {
  const std::uint8_t f =
      static_cast<std::uint8_t>((last ? kFlagLastPdu : 0) | (success ? kFlagSuccess : 0));
  const auto hp = start_header(out, PduType::C2HData, kDataHlen, f, datal, t);
  store_le16(out, kOffCccid, cccid);
  store_le32(out, kOffDatao, datao);
  store_le32(out, kOffDatal, datal);
  return finish_header(out, kDataHlen, hp);
}

std::size_t encode_r2t(MutBytes out, const R2T& r2t, const TxParams& t) {
  const auto hp = start_header(out, PduType::R2T, kR2THlen, 0, 0, t);
  store_le16(out, kOffCccid, r2t.cccid);
  store_le16(out, kOffTtag, r2t.ttag);
  store_le32(out, kOffR2to, r2t.r2to);
  store_le32(out, kOffR2tl, r2t.r2tl);
  return finish_header(out, kR2THlen, hp);
}

std::vector<std::uint8_t> encode_pdu(const IcReq& pdu) {
  return whole(PduType::IcReq, kIcHlen, 0, {}, TxParams{}, [](MutBytes o, const void* c) {
    const auto& r = *static_cast<const IcReq*>(c);
    store_le16(o, kOffPfv, r.pfv);
    o[kOffPda] = r.hpda;
    o[kOffDgst] = static_cast<std::uint8_t>((r.hdgst ? kDgstHdr : 0) | (r.ddgst ? kDgstData : 0));
    store_le32(o, kOffMaxr2t, r.maxr2t);
  }, &pdu);
}

std::vector<std::uint8_t> encode_pdu(const IcResp& pdu) {
  return whole(PduType::IcResp, kIcHlen, 0, {}, TxParams{}, [](MutBytes o, const void* c) {
    const auto& r = *static_cast<const IcResp*>(c);
    store_le16(o, kOffPfv, r.pfv);
    o[kOffPda] = r.cpda;
    o[kOffDgst] = static_cast<std::uint8_t>((r.hdgst ? kDgstHdr : 0) | (r.ddgst ? kDgstData : 0));
    store_le32(o, kOffMaxh2cdata, r.maxh2cdata);
  }, &pdu);
}

namespace {
void fill_term(MutBytes o, const void* c) {
  const auto& r = *static_cast<const TermReq*>(c);
  store_le16(o, kOffFes, r.fes);
  store_le32(o, kOffFei, r.fei);
}
}  // namespace

std::vector<std::uint8_t> encode_pdu(const H2CTermReq& pdu) {
  const Bytes data = pdu.data.first(std::min<std::size_t>(pdu.data.size(), kTermReqMaxPlen - kTermReqHlen));
  return whole(PduType::H2CTermReq, kTermReqHlen, 0, data, TxParams{}, fill_term,
               static_cast<const TermReq*>(&pdu));
}

std::vector<std::uint8_t> encode_pdu(const C2HTermReq& pdu) {
  const Bytes data = pdu.data.first(std::min<std::size_t>(pdu.data.size(), kTermReqMaxPlen - kTermReqHlen));
  return whole(PduType::C2HTermReq, kTermReqHlen, 0, data, TxParams{}, fill_term,
               static_cast<const TermReq*>(&pdu));
}

std::vector<std::uint8_t> encode_pdu(const CapsuleCmd& pdu, const TxParams& t) {
  return whole(PduType::CapsuleCmd, kCapsuleCmdHlen, 0, pdu.data, t, [](MutBytes o, const void* c) {
    const auto& r = *static_cast<const CapsuleCmd*>(c);
    std::memcpy(o.data() + kChLen, r.sqe.data(), std::min(r.sqe.size(), kSqeLen));
  }, &pdu);
}

std::vector<std::uint8_t> encode_pdu(const CapsuleResp& pdu, const TxParams& t) {
  return whole(PduType::CapsuleResp, kCapsuleRespHlen, 0, {}, t, [](MutBytes o, const void* c) {
    const auto& r = *static_cast<const CapsuleResp*>(c);
    std::memcpy(o.data() + kChLen, r.cqe.data(), std::min(r.cqe.size(), kCqeLen));
  }, &pdu);
}

std::vector<std::uint8_t> encode_pdu(const H2CData& pdu, const TxParams& t) {
  return whole(PduType::H2CData, kDataHlen, pdu.last ? kFlagLastPdu : 0, pdu.data, t,
               [](MutBytes o, const void* c) {
                 const auto& r = *static_cast<const H2CData*>(c);
                 store_le16(o, kOffCccid, r.cccid);
                 store_le16(o, kOffTtag, r.ttag);
                 store_le32(o, kOffDatao, r.datao);
                 store_le32(o, kOffDatal, static_cast<std::uint32_t>(r.data.size()));
               }, &pdu);
}

std::vector<std::uint8_t> encode_pdu(const C2HData& pdu, const TxParams& t) {
  const std::uint8_t f = static_cast<std::uint8_t>((pdu.last ? kFlagLastPdu : 0) |
                                                   (pdu.success ? kFlagSuccess : 0));
  return whole(PduType::C2HData, kDataHlen, f, pdu.data, t, [](MutBytes o, const void* c) {
    const auto& r = *static_cast<const C2HData*>(c);
    store_le16(o, kOffCccid, r.cccid);
    store_le32(o, kOffDatao, r.datao);
    store_le32(o, kOffDatal, static_cast<std::uint32_t>(r.data.size()));
  }, &pdu);
}

std::vector<std::uint8_t> encode_pdu(const R2T& pdu, const TxParams& t) {
  std::vector<std::uint8_t> out(kMaxHeaderSection);
  out.resize(encode_r2t(out, pdu, t));
  return out;
}

std::vector<std::uint8_t> encode_term_req_for(const WireError& err, Bytes bad_header, Role sender) {
  TermReq r;
  r.fes = static_cast<std::uint16_t>(err.fes == Fes::None ? Fes::InvalidHeaderField : err.fes);
  r.fei = err.fei;
  r.data = bad_header.first(std::min<std::size_t>(bad_header.size(), kTermReqMaxPlen - kTermReqHlen));
  if (sender == Role::Host) {
    return encode_pdu(H2CTermReq{r});
  }
  return encode_pdu(C2HTermReq{r});
}

}  // namespace nvmemp::wire
