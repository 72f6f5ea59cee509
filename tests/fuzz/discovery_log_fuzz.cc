// Fuzz target: discovery log page parsers (LID 70h, wire/log_pages.h): header and whole log.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/log_pages.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nvmemp::Bytes in(data, size);
  if (const auto h = nvmemp::wire::parse_discovery_log_header(in)) {
    (void)nvmemp::wire::discovery_log_size(h->numrec);
  }
  if (const auto log = nvmemp::wire::parse_discovery_log(in)) {
    if (log->entries.size() != log->header.numrec) {
      std::abort();
    }
    for (const auto& e : log->entries) {
      if (e.trsvcid.size() > 32 || e.subnqn.size() > 256 || e.traddr.size() > 256) {
        std::abort();
      }
      (void)nvmemp::wire::discovery_subtype_name(e.subtype);
    }
  }
  return 0;
}
