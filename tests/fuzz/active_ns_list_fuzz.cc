// Fuzz target: Identify active namespace list parser (CNS 02h, wire/identify.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/identify.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto list = nvmemp::wire::parse_active_ns_list(nvmemp::Bytes(data, size));
  if (list) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      if ((*list)[i] == 0 || (i > 0 && (*list)[i] <= (*list)[i - 1])) {
        std::abort();  // the parser promises non-zero, strictly increasing NSIDs
      }
    }
  }
  return 0;
}
