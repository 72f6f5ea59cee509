// Fuzz target: Namespace Identification Descriptor list parser (CNS 03h, wire/identify.h).
#include <cstddef>
#include <cstdint>

#include "wire/identify.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto d = nvmemp::wire::parse_ns_id_descriptors(nvmemp::Bytes(data, size));
  if (d && d->uuid) {
    (void)nvmemp::wire::format_uuid(*d->uuid);
  }
  return 0;
}
