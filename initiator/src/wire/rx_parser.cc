#include "wire/rx_parser.h"

#include <algorithm>

namespace nvmemp::wire {

tl::expected<std::optional<Pdu>, WireError> RxParser::next(Bytes& bytes) {
  // Fast path: nothing buffered and the whole PDU is in the chunk: decode in place.
  if (buf_.empty() && bytes.size() >= kChLen) {
    auto ch = check_common_header(bytes.first(kChLen), params_);
    if (!ch) {
      return tl::unexpected(ch.error());
    }
    if (bytes.size() >= ch->plen) {
      const Bytes whole = bytes.first(ch->plen);
      bytes = bytes.subspan(ch->plen);
      auto pdu = decode_pdu(whole, params_);
      if (!pdu) {
        return tl::unexpected(pdu.error());
      }
      delivered_from_buf_ = false;
      return std::optional<Pdu>(std::move(*pdu));
    }
  }

  // Slow path: gather the common header, then the rest of PLEN.
  if (need_ == 0) {
    const std::size_t take = std::min(kChLen - buf_.size(), bytes.size());
    buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    if (buf_.size() < kChLen) {
      return std::optional<Pdu>();
    }
    auto ch = check_common_header(buf_, params_);
    if (!ch) {
      return tl::unexpected(ch.error());
    }
    need_ = ch->plen;
    buf_.reserve(need_);
  }
  const std::size_t take = std::min<std::size_t>(need_ - buf_.size(), bytes.size());
  buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
  bytes = bytes.subspan(take);
  if (buf_.size() < need_) {
    return std::optional<Pdu>();
  }
  auto pdu = decode_pdu(buf_, params_);
  if (!pdu) {
    return tl::unexpected(pdu.error());
  }
  delivered_from_buf_ = true;
  return std::optional<Pdu>(std::move(*pdu));
}

void RxParser::release() {
  if (delivered_from_buf_) {
    buf_.clear();  // keeps its capacity for the next PDU that straddles chunks
    need_ = 0;
    delivered_from_buf_ = false;
  }
}

}  // namespace nvmemp::wire
