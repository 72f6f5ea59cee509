// What the wire parser tests (identify_test.cc, log_pages_test.cc) build structures in and read
// captures through: a byte buffer, its views, and the C2H payloads of ../shared captures.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "support/capture.h"

namespace nvmemp::test {

using Buf = std::vector<std::uint8_t>;

inline Bytes bytes(const Buf& b) { return Bytes(b.data(), b.size()); }
inline MutBytes mut(Buf& b) { return MutBytes(b.data(), b.size()); }

using Payload = CapturedData;

inline std::vector<Payload> payloads(const std::string& file, const std::string& what) {
  return c2h_payloads(file, what);
}

// A capture taken against the Linux kernel target (nvmet), not SPDK.
inline bool is_nvmet(const std::string& file) { return file.rfind("nvmet", 0) == 0; }

}  // namespace nvmemp::test
