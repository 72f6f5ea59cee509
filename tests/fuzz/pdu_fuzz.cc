// Fuzz target for the NVMe/TCP receive path: the incremental parser and the PDU decoder.
// Input: byte 0 = receiver settings (bit 0 controller role, bit 1 header digests, bit 2 data
// digests, bits 3-4 data alignment, bit 5 skip digest verification), byte 1 = chunk size
// seed, then the byte stream as received from the peer.
#include <cstdint>
#include <cstdlib>

#include "wire/pdu_codec.h"
#include "wire/rx_parser.h"

using namespace nvmemp;
using namespace nvmemp::wire;

namespace {

void check_inside(const Pdu& pdu, Bytes span) {
  if (span.empty()) return;
  if (span.data() < pdu.raw.data() || span.data() + span.size() > pdu.raw.data() + pdu.raw.size()) {
    std::abort();  // a decoded span points outside the PDU
  }
}

void check_pdu(const Pdu& pdu) {
  if (pdu.raw.size() != pdu.ch.plen) std::abort();
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, CapsuleCmd>) {
          check_inside(pdu, b.sqe);
          check_inside(pdu, b.data);
        } else if constexpr (std::is_same_v<T, CapsuleResp>) {
          check_inside(pdu, b.cqe);
        } else if constexpr (std::is_same_v<T, H2CData> || std::is_same_v<T, C2HData> ||
                             std::is_base_of_v<TermReq, T>) {
          check_inside(pdu, b.data);
        }
      },
      pdu.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  RxParams p;
  p.role = (data[0] & 1) ? Role::Controller : Role::Host;
  p.hdgst = (data[0] & 2) != 0;
  p.ddgst = (data[0] & 4) != 0;
  p.pda = static_cast<std::uint8_t>((data[0] >> 3) & 3);
  p.verify_digests = (data[0] & 0x20) == 0;
  p.max_plen = 1 << 20;
  const std::size_t chunk = 1 + data[1] % 64;
  const Bytes stream(data + 2, size - 2);

  // Whole stream as one PDU.
  if (auto d = decode_pdu(stream, p)) {
    check_pdu(*d);
  } else {
    (void)d.error().to_string();
  }

  // Incrementally, in chunks; once failed, it must stay failed.
  RxParser parser(p);
  for (std::size_t off = 0; off < stream.size(); off += chunk) {
    const auto piece = stream.subspan(off, std::min(chunk, stream.size() - off));
    auto r = parser.feed(piece, [](const Pdu& pdu) { check_pdu(pdu); });
    if (!r) {
      (void)r.error().to_string();
      if (parser.feed(piece, [](const Pdu&) { std::abort(); })) std::abort();
      break;
    }
  }
  return 0;
}
