// The host's receive framer: splits the controller's byte stream into PDUs and steers C2HData
// payload to where it belongs, so read data is written once, into the caller's buffer.
//
// Bytes land where rx_iov() says: normally a staging buffer owned here; inside a C2HData
// payload whose header has been validated and placed (place()), first the rest of that
// payload at its destination, then the staging buffer for the data digest and the PDUs that
// follow. landed(n) accounts the bytes; next() then hands out events in stream order:
//   Pdu         a whole PDU other than C2HData (ICResp, CapsuleResp, R2T, C2HTermReq),
//               decoded in place in the staging buffer (spans valid until the next call);
//   DataHeader  a C2HData header, every field checked but the data digest: the receiver
//               checks CCCID/DATAO/DATAL against its command and calls place() (or fails)
//               before any byte of the payload is written anywhere;
//   DataEnd     the payload is in and its data digest (CRC32C, run over the bytes just placed
//               after each receive, while they are in cache) compared.
// Payload that arrived in the staging buffer behind its header (one receive carrying many
// PDUs) is copied to its destination once. Non-data PDUs are at most 152 bytes and a data
// header at most 256, so what waits in the staging buffer between receives is small.
//
// Pure: no I/O, no allocation after construction. The first error is sticky.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <tl/expected.hpp>

#include "wire/crc32c.h"
#include "wire/pdu_codec.h"

namespace nvmemp::wire {

class RxFramer {
 public:
  // What one receive may carry when no payload is pending: many PDUs at high queue depth.
  static constexpr std::size_t kDefaultStaging = 256 * 1024;

  explicit RxFramer(const RxParams& params, std::size_t staging_bytes = kDefaultStaging);

  // Takes effect from the next PDU header parsed (the digests negotiated by ICResp).
  void set_params(const RxParams& params) { params_ = params; }
  const RxParams& params() const { return params_; }

  // Where the next received bytes should land, in order; returns how many iovecs (1 or 2).
  // The memory stays put until landed() (the staging buffer is owned here).
  std::size_t rx_iov(std::span<iovec> out);
  // True when rx_iov() starts with a destination given to place() (a caller's buffer).
  bool payload_pending() const noexcept { return phase_ == Phase::Payload && dst_ != nullptr && left_ > 0; }

  // How many more bytes in the staging buffer complete the next PDU's header (a C2HData's up to
  // its PDO, any other PDU whole); 0 when that is not known yet or already there. A source that
  // copies bytes in (a TLS record layer) takes no more than that into the staging buffer, so
  // that a payload goes straight to its destination once placed instead of through staging.
  std::size_t rx_want() const noexcept;

  // `n` bytes landed in what the last rx_iov() offered (the payload part first).
  void landed(std::size_t n);

  enum class Kind : std::uint8_t { None, Pdu, DataHeader, DataEnd };
  struct Event {
    Kind kind = Kind::None;  // None: every landed byte is used, receive more
    Pdu pdu;                 // Kind::Pdu
    C2HDataHeader data;      // Kind::DataHeader, Kind::DataEnd
    bool data_digest_ok = true;  // Kind::DataEnd
  };
  // The next event from the bytes landed so far. After a DataHeader, place() must be called
  // before next() is called again.
  tl::expected<Event, WireError> next();

  // Where the payload of the DataHeader just returned goes: DATAL bytes at `dst`, or nowhere
  // (nullptr: checked and dropped).
  void place(std::uint8_t* dst);
  // The destination of the payload being received is withdrawn (the read was abandoned): the
  // rest is dropped, never written there. Only between receives. Its data digest is then not
  // compared (the bytes already placed are the caller's again and are not read back).
  void drop_payload() {
    if (dst_ != nullptr && done_ > 0) check_crc_ = false;
    dst_ = nullptr;
  }

  bool failed() const noexcept { return error_.has_value(); }
  // Bytes in the staging buffer not yet turned into events.
  std::size_t staged() const noexcept { return wr_ - rd_; }

 private:
  enum class Phase : std::uint8_t { Header, Placing, Payload, DataDigest };
  tl::expected<Event, WireError> fail(WireError e);
  void take_payload(const std::uint8_t* src, std::size_t n);  // staged payload bytes
  void compact();

  RxParams params_;
  std::vector<std::uint8_t> stage_;
  std::size_t rd_ = 0;  // first staged byte not yet used
  std::size_t wr_ = 0;  // end of the staged bytes
  std::size_t offered_direct_ = 0;  // payload bytes the last rx_iov() offered at dst_

  Phase phase_ = Phase::Header;
  C2HDataHeader cur_;       // the C2HData being received
  std::uint8_t* dst_ = nullptr;
  std::uint32_t done_ = 0;  // payload bytes received
  std::uint32_t left_ = 0;  // payload bytes still to come
  Crc32c crc_;
  bool check_crc_ = false;
  std::optional<WireError> error_;
};

}  // namespace nvmemp::wire
