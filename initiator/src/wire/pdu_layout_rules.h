// Layout rules shared by the PDU decoder (pdu_codec.cc) and encoders (pdu_encode.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "wire/pdu.h"

namespace nvmemp::wire {

// ICReq, ICResp and the TermReqs never carry digests (NVMe/TCP 1.0, 3.6.2).
inline bool may_carry_digests(PduType t) {
  return t != PduType::IcReq && t != PduType::IcResp && t != PduType::H2CTermReq &&
         t != PduType::C2HTermReq;
}

// HPDA/CPDA are 0's based dword counts.
inline std::size_t align_of(std::uint8_t pda) { return (static_cast<std::size_t>(pda) + 1) * 4; }

inline std::size_t round_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }

}  // namespace nvmemp::wire
