// The error value of the PDU codec: which PDU, which field, which value, why, and what a
// TermReq about it should carry. No allocation: it is made on the I/O path.
#pragma once

#include <cstdint>
#include <string>

#include "nvmemp/result.h"
#include "wire/pdu.h"

namespace nvmemp::wire {

struct WireError {
  Errc code = Errc::Malformed;
  std::uint8_t pdu_type = 0xFF;  // type byte of the PDU in error (0xFF: not yet known)
  const char* field = "";        // spec name of the field ("plen", "hlen", "pdo", "hdgst", ...)
  std::uint64_t value = 0;       // the value found in that field
  const char* why = "";          // the rule it broke, e.g. "must be at least"
  std::uint64_t limit = 0;       // the bound in that rule, printed after `why` when has_limit
  bool has_limit = false;
  Fes fes = Fes::InvalidHeaderField;  // for the TermReq that reports it to the peer
  std::uint32_t fei = 0;              // byte offset of the field, for InvalidHeaderField

  // "C2HData pdo=20: must be at least hlen + header digest (24)" style message.
  std::string to_string() const;
  Error to_error() const { return Error{code, to_string()}; }
};

}  // namespace nvmemp::wire
