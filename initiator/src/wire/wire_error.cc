#include "wire/wire_error.h"

#include <string_view>

#include <fmt/format.h>

namespace nvmemp::wire {

std::string WireError::to_string() const {
  // Bit fields and digests read best in hex, lengths and offsets in decimal.
  const std::string_view f(field);
  const bool hex = f == "flags" || f == "pdu-type" || f == "dgst" || f == "hdgst" || f == "ddgst";
  std::string s = hex ? fmt::format("{} {}={:#x}: {}", pdu_type_name(pdu_type), field, value, why)
                      : fmt::format("{} {}={}: {}", pdu_type_name(pdu_type), field, value, why);
  if (has_limit) {
    s += fmt::format(" {}", limit);
  }
  if (fes != Fes::None) {
    s += fmt::format(" (TermReq FES {:#x} {}, FEI {})", static_cast<unsigned>(fes),
                     fes_name(static_cast<std::uint16_t>(fes)), fei);
  }
  return s;
}

}  // namespace nvmemp::wire
