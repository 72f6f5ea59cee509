#include "wire/crc32c.h"

#include <climits>

#include <isa-l/crc.h>

namespace nvmemp::wire {

std::uint32_t crc32c_update(std::uint32_t crc, Bytes data) noexcept {
  // crc32_iscsi takes an int length and a non-const pointer (it does not write): feed it in
  // pieces that fit an int.
  auto* p = const_cast<std::uint8_t*>(data.data());
  std::size_t left = data.size();
  while (left > 0) {
    const std::size_t n = left > static_cast<std::size_t>(INT_MAX / 2) ? INT_MAX / 2 : left;
    crc = crc32_iscsi(p, static_cast<int>(n), crc);
    p += n;
    left -= n;
  }
  return crc;
}

}  // namespace nvmemp::wire
