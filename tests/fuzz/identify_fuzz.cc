// Fuzz target: Identify Controller and Identify Namespace parsers (wire/identify.h) on any bytes.
// Besides "no crash", checks the invariants callers rely on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/identify.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nvmemp::Bytes in(data, size);
  if (const auto c = nvmemp::wire::parse_identify_controller(in)) {
    if (c->sn.size() > 20 || c->mn.size() > 40 || c->fr.size() > 8 || c->subnqn.size() > 256 ||
        c->ieee > 0xFFFFFF) {
      std::abort();
    }
  }
  if (const auto ns = nvmemp::wire::parse_identify_namespace(in)) {
    if (ns->lbaf.size() != std::size_t{ns->nlbaf} + 1 || ns->lbaf.size() > 64) {
      std::abort();
    }
    if (ns->active() && (ns->lbads < 9 || ns->lbads > 31 || ns->lbaf_index > ns->nlbaf)) {
      std::abort();
    }
  }
  return 0;
}
