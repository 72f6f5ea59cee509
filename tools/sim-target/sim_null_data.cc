// Read data of a null namespace (SimConfig::null_namespaces): C2HData PDUs whose data section
// is queued as a span of one static zero buffer, so a read costs the target a header, never a
// copy. The buffer lives in .bss and is never written: its pages are the kernel's shared zero
// page, so sending 1 MiB of it touches one 4 KiB page of cache.
#include <algorithm>
#include <array>
#include <unordered_map>

#include "sim_connection.h"

namespace nvmemp::sim {

using namespace wire;

namespace {

std::uint8_t g_zeros[kMaxTransferBytes];  // never written (null namespace reads are <= MDTS)

// The data digest of `len` zero bytes, computed once per length (loop thread only).
std::array<std::uint8_t, kDigestLen> zero_digest(std::uint32_t len) {
  static thread_local std::unordered_map<std::uint32_t, std::array<std::uint8_t, kDigestLen>> cache;
  auto it = cache.find(len);
  if (it == cache.end()) {
    it = cache.emplace(len, digest_bytes(Bytes(g_zeros, len))).first;
  }
  return it->second;
}

}  // namespace

bool Connection::zero_data_plain() const {
  const PortFaults& f = core_.faults(port_);
  return f.hostile == HostileMode::Off && !f.corrupt_next_digest && f.drop_after == 0 && f.latency_ms == 0 &&
         delayed_.empty() && !muted_ && tls_ == nullptr;
}

void Connection::send_zero_data(std::uint16_t cid, std::uint32_t len) {
  const std::uint32_t chunk = core_.config().c2h_chunk != 0 ? core_.config().c2h_chunk : len;
  for (std::uint32_t off = 0; off < len;) {
    const std::uint32_t n = std::min(chunk, len - off);
    const bool last = off + n == len;
    std::array<std::uint8_t, kMaxHeaderSection> hdr{};
    // SUCCESS only when the host disabled SQ flow control, as in complete().
    const std::size_t hlen = encode_c2h_data_header(hdr, cid, off, n, last, last && sq_flow_disabled_, tx_);
    enqueue(std::vector<std::uint8_t>(hdr.begin(), hdr.begin() + static_cast<std::ptrdiff_t>(hlen)));
    tx_bytes_ += n;
    txq_.push_back(TxPiece{{}, Bytes(g_zeros, n)});
    if (tx_.ddgst) {
      const auto d = zero_digest(n);
      enqueue(std::vector<std::uint8_t>(d.begin(), d.end()));
    }
    off += n;
  }
}

}  // namespace nvmemp::sim
