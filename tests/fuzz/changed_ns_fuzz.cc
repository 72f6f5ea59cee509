// Fuzz target: Changed Namespace List parser (LID 04h, wire/log_pages.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/log_pages.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto list = nvmemp::wire::parse_changed_ns_list(nvmemp::Bytes(data, size));
  if (list && (list->nsids.size() > 1024 || (list->overflow && !list->nsids.empty()))) {
    std::abort();
  }
  return 0;
}
