// Encoding and decoding of NVMe/TCP PDUs: pure functions over byte spans, no I/O, no throw.
//
// Decoding validates every length, offset and flag against the PDU type's rules and the
// connection's negotiated digests and alignment, verifies digests, and returns a WireError
// that names the field (and what a TermReq about it should carry) on any violation.
//
// Encoding writes the header section (common header, PDU-specific header, header digest,
// padding up to PDO) into a caller buffer so that data can be sent from where it lies
// (iovecs); encode_pdu() builds a whole PDU for tests, TermReqs and the simulated target.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <tl/expected.hpp>

#include "wire/pdu.h"
#include "wire/wire_error.h"

namespace nvmemp::wire {

// Which side decodes: a host accepts only controller-to-host PDUs and the reverse.
enum class Role : std::uint8_t { Host, Controller };

// What the receiving side negotiated. Before ICResp both digests are off.
struct RxParams {
  Role role = Role::Host;
  bool hdgst = false;      // header digests negotiated
  bool ddgst = false;      // data digests negotiated
  std::uint8_t pda = 0;    // our data alignment requirement, 0's based dwords (host: HPDA)
  bool verify_digests = true;
  std::uint32_t max_plen = 16u << 20;  // largest PDU accepted (bounds the receive buffer)
};

// What the sending side must honour: the peer's alignment (host: CPDA) and the digests.
struct TxParams {
  bool hdgst = false;
  bool ddgst = false;
  std::uint8_t pda = 0;  // peer's data alignment requirement, 0's based dwords
};

using DecodeResult = tl::expected<Pdu, WireError>;

// Checks the 8-byte common header alone (type allowed for the role, HLEN of the type, PLEN
// bounds): lets a receiver reject garbage before it waits for PLEN bytes.
tl::expected<CommonHeader, WireError> check_common_header(Bytes first8, const RxParams& p);

// Decodes one whole PDU; `pdu` must be exactly PLEN bytes long.
DecodeResult decode_pdu(Bytes pdu, const RxParams& p);

// ---- receiving data in place (the host's C2HData, rx_framer.h) ----

// Where a PDU that may carry digests keeps its data: every check of decode_pdu() on the
// header section (header digest verified, HDGSTF/DDGSTF as negotiated, PDO inside the PDU and
// aligned), none on the data.
struct PduLayout {
  bool has_data = false;
  bool dd = false;             // a data digest follows the data
  std::size_t data_off = 0;    // PDO
  std::size_t data_len = 0;    // PLEN - PDO - data digest
};
// `head` holds at least the header and its digest; `ch` passed check_common_header().
tl::expected<PduLayout, WireError> check_layout(Bytes head, const CommonHeader& ch, const RxParams& p);

// Bytes of a data PDU to have in before its header can be decoded alone: up to PDO (the
// padding after the header digest included), never more than PLEN.
std::size_t data_header_need(const CommonHeader& ch);

// A C2HData whose header section is in and valid, its data not yet received.
struct C2HDataHeader {
  CommonHeader ch;
  std::uint16_t cccid = 0;
  std::uint32_t datao = 0;
  std::uint32_t datal = 0;  // equals PLEN - PDO - data digest
  bool last = false;
  bool success = false;     // only with last
  bool ddgst = false;       // a data digest follows the data
};
// Decodes a C2HData from its first data_header_need() bytes with every check decode_pdu()
// makes but the data digest's, which the receiver runs as the data arrives.
tl::expected<C2HDataHeader, WireError> decode_c2h_data_header(Bytes head, const RxParams& p);

// ---- encoding ----

// Size of the header section (everything before the data) for a PDU of this HLEN.
// With data, that is PDO: HLEN + header digest rounded up to the peer's alignment.
std::size_t header_section_len(std::uint8_t hlen, bool has_data, const TxParams& t);

// Header sections. `out` must hold kMaxHeaderSection bytes; returns the bytes written (= PDO
// when data follows). The caller sends the data after it and then, when t.ddgst and data is
// not empty, the data digest (ddgst_bytes()).
std::size_t encode_capsule_cmd_header(MutBytes out, Bytes sqe, std::uint32_t data_len,
                                      const TxParams& t);
std::size_t encode_capsule_resp_header(MutBytes out, Bytes cqe, const TxParams& t);
std::size_t encode_h2c_data_header(MutBytes out, std::uint16_t cccid, std::uint16_t ttag,
                                   std::uint32_t datao, std::uint32_t datal, bool last,
                                   const TxParams& t);
std::size_t encode_c2h_data_header(MutBytes out, std::uint16_t cccid, std::uint32_t datao,
                                   std::uint32_t datal, bool last, bool success,
                                   const TxParams& t);
std::size_t encode_r2t(MutBytes out, const R2T& r2t, const TxParams& t);

// The 4 digest bytes (CRC32C, little-endian) of a header or data section.
std::array<std::uint8_t, kDigestLen> digest_bytes(Bytes covered);

// Whole PDUs. ICReq/ICResp/TermReqs never carry digests (NVMe/TCP 1.0, 3.6.2).
std::vector<std::uint8_t> encode_pdu(const IcReq& pdu);
std::vector<std::uint8_t> encode_pdu(const IcResp& pdu);
std::vector<std::uint8_t> encode_pdu(const H2CTermReq& pdu);
std::vector<std::uint8_t> encode_pdu(const C2HTermReq& pdu);
std::vector<std::uint8_t> encode_pdu(const CapsuleCmd& pdu, const TxParams& t);
std::vector<std::uint8_t> encode_pdu(const CapsuleResp& pdu, const TxParams& t);
std::vector<std::uint8_t> encode_pdu(const H2CData& pdu, const TxParams& t);
std::vector<std::uint8_t> encode_pdu(const C2HData& pdu, const TxParams& t);
std::vector<std::uint8_t> encode_pdu(const R2T& pdu, const TxParams& t);

// A TermReq reporting `err` to the peer: FES, FEI and up to 128 bytes of the bad header.
std::vector<std::uint8_t> encode_term_req_for(const WireError& err, Bytes bad_header, Role sender);

}  // namespace nvmemp::wire
