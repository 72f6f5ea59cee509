#include "support/byte_diff.h"

#include <algorithm>

#include <fmt/format.h>

namespace nvmemp::test {

namespace {
std::string hex_window(std::span<const std::uint8_t> b, std::size_t at) {
  std::string s;
  for (std::size_t i = at; i < std::min(b.size(), at + 16); ++i) s += fmt::format("{:02x}", b[i]);
  return s;
}
}  // namespace

std::string byte_diff(std::span<const std::uint8_t> got, std::span<const std::uint8_t> want) {
  if (got.size() != want.size()) {
    return fmt::format("sizes differ: got {} bytes, want {}", got.size(), want.size());
  }
  std::size_t first = got.size();
  std::size_t last = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      first = std::min(first, i);
      last = i;
      ++count;
    }
  }
  if (count == 0) return {};
  return fmt::format("{} of {} bytes differ, offsets {}..{}; at {}: got {} want {}", count, got.size(), first, last,
                     first, hex_window(got, first), hex_window(want, first));
}

}  // namespace nvmemp::test
