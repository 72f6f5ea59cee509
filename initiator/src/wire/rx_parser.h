// Incremental receive parser: takes the byte stream of one NVMe/TCP connection in chunks of
// any size (one byte at a time works) and hands out whole, validated PDUs.
//
// A PDU that lies whole inside the chunk given is decoded in place (no copy); otherwise its
// bytes are gathered in an internal buffer bounded by RxParams::max_plen. The common header
// is checked as soon as its 8 bytes are in, so a bad PLEN fails before any data is awaited.
// The first error is sticky: the connection is broken and must be torn down.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <tl/expected.hpp>

#include "wire/pdu_codec.h"

namespace nvmemp::wire {

class RxParser {
 public:
  explicit RxParser(const RxParams& params) : params_(params) {}

  // Takes effect from the next PDU: e.g. the digests negotiated by ICResp. A callback may
  // call it for the PDUs that follow in the same feed().
  void set_params(const RxParams& params) { params_ = params; }
  const RxParams& params() const { return params_; }

  // Calls on_pdu(const Pdu&) for every whole PDU in order. The Pdu's spans are valid only
  // during the call. Returns the first error (and every later call returns it again).
  template <class OnPdu>
  tl::expected<void, WireError> feed(Bytes bytes, OnPdu&& on_pdu) {
    if (error_) {
      return tl::unexpected(*error_);
    }
    while (!bytes.empty()) {
      auto step = next(bytes);
      if (!step) {
        error_ = step.error();
        return tl::unexpected(*error_);
      }
      if (!step->has_value()) {
        break;  // everything consumed, PDU incomplete
      }
      on_pdu(**step);
      release();
    }
    return {};
  }

  bool failed() const { return error_.has_value(); }
  // Bytes of an incomplete PDU held back (0 between PDUs).
  std::size_t buffered() const { return buf_.size(); }

 private:
  // Consumes from `bytes` (advancing it) and returns a whole PDU, nothing yet, or an error.
  tl::expected<std::optional<Pdu>, WireError> next(Bytes& bytes);
  void release();  // drops the PDU just delivered from the buffer

  RxParams params_;
  std::vector<std::uint8_t> buf_;  // bytes of the PDU being gathered
  std::uint32_t need_ = 0;         // its PLEN, once the common header is in (0: unknown)
  bool delivered_from_buf_ = false;
  std::optional<WireError> error_;
};

}  // namespace nvmemp::wire
