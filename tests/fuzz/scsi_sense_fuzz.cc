// Fuzz target: SCSI sense data and the TEST UNIT READY decoder (scsi_compat/src/path_probe.*),
// which read what a target (or the HBA driver) returned through SG_IO. The first five bytes
// are the SCSI status, host_status and driver_status; the rest is the sense buffer. The
// decoder must always give a state with a detail text, and nothing reads out of bounds (ASan).
// Corpus: tests/fuzz/corpus/scsi_sense/ (good, unit attention, ALUA standby/transitioning in
// fixed and descriptor format, transport errors, truncated sense).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "path_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  const std::uint8_t status = data[0];
  const auto host = static_cast<std::uint16_t>(data[1] | (data[2] << 8));
  const auto driver = static_cast<std::uint16_t>(data[3] | (data[4] << 8));
  const std::span<const std::uint8_t> sense(data + 5, size - 5);
  auto s = nvmemp::scsi::parse_sense(sense);
  const auto r = nvmemp::scsi::decode_tur(status, host, driver, sense);
  if (r.detail.empty()) std::abort();
  if (r.sense && !s) std::abort();  // sense reported only when it parses
  (void)nvmemp::scsi::probe_state_name(r.state);
  return 0;
}
