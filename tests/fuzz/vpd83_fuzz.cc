// Fuzz target: the VPD page 0x83 parser (scsi_compat/src/vpd83.*), which reads what a SCSI
// target returned (through sysfs). Every designator it returns lies inside the page and the
// descriptors tile the page exactly; the wwid, when there is one, comes from a logical-unit
// designator and is never empty; nothing reads out of bounds (ASan).
// Corpus: tests/fuzz/corpus/vpd83/ (the pages scsi_debug returned on a real kernel, and
// hand-made ones: every designator type, truncated descriptors, wrong page code).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "vpd83.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> page(data, size);
  auto ds = nvmemp::scsi::parse_vpd83(page);
  if (ds) {
    std::size_t off = 4;
    for (const auto& d : *ds) {
      if (d.offset != off || d.offset + 4 + d.value.size() > size) std::abort();
      off += 4 + d.value.size();
    }
  }
  auto w = nvmemp::scsi::vpd83_lun_wwid(page);
  if (w && (!ds || w->empty())) std::abort();
  auto ids = nvmemp::scsi::vpd83_port_ids(page);
  if (ids.has_value() != ds.has_value()) std::abort();
  return 0;
}
