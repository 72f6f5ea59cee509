// Fuzz target: the REPORT TARGET PORT GROUPS parameter data decoder (scsi_compat/src/
// path_probe.*), which reads what a SCSI target returned. Every group it returns has a state
// name, and nothing reads out of bounds (ASan).
// Corpus: tests/fuzz/corpus/rtpg/ (two and three groups, the extended header, truncated data).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "path_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = nvmemp::scsi::parse_rtpg(std::span<const std::uint8_t>(data, size));
  if (!r) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto& g : r->groups) {
    if (nvmemp::scsi::alua_state_name(g.state) == nullptr) std::abort();
  }
  return 0;
}
