// Comparing big buffers in tests: Catch would print both (a MiB each, slowly); this says
// where they differ instead. Use: CHECK(test::byte_diff(got, want) == "").
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace nvmemp::test {

// "" when equal; else the sizes or the first and last differing offsets, how many bytes
// differ and 16 bytes of each buffer from the first difference.
std::string byte_diff(std::span<const std::uint8_t> got, std::span<const std::uint8_t> want);

}  // namespace nvmemp::test
