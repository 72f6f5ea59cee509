// CRC32C (Castagnoli), the NVMe/TCP header and data digest. Backed by ISA-L's crc32_iscsi,
// which picks the fastest kernel for the CPU (PCLMUL/SSE4.2, else a table) at load time; up
// to 256 bytes (PDU headers) the SSE4.2 crc32 instruction directly, where the CPU has it.
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace nvmemp::wire {

// Raw update: no pre- or post-inversion, so it can run over data in pieces.
std::uint32_t crc32c_update(std::uint32_t crc, Bytes data) noexcept;

// The CRC32C of data as RFC 3720 and NVMe/TCP define it: ~update(~0, data).
inline std::uint32_t crc32c(Bytes data) noexcept { return ~crc32c_update(~0u, data); }

// Incremental form of crc32c() for data that arrives in pieces (several iovecs, H2CData).
class Crc32c {
 public:
  void update(Bytes data) noexcept { state_ = crc32c_update(state_, data); }
  std::uint32_t value() const noexcept { return ~state_; }

 private:
  std::uint32_t state_ = ~0u;
};

}  // namespace nvmemp::wire
