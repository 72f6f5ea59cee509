// The seam between a connection's byte source and its receiver: the receiver says where the
// next plaintext bytes should land, the source puts them there and says how many landed.
//
//   socket ──(source: Reactor, recvmsg)──▶ RxSink (QueuePair)
//   socket ──▶ TLS record layer (an RxSink to the socket, a source to the queue pair) ──▶ QueuePair
//
// A source reads into rx_iov() and then calls received_into(n); nothing else. Today the
// Reactor is the only source (plain TCP). A TLS record layer (planned) sits between: it is an
// RxSink towards the socket (its iovecs are its record buffer) and a source towards the queue
// pair, decrypting each record into the queue pair's rx_iov() (deliver() below does that for
// bytes already in memory) and calling its received_into().
//
// Borrowed memory: inside a C2HData payload the first iovec is the caller's read buffer, and
// a read may be abandoned (QueuePair::abandon_read) at any point between two calls, after
// which its buffer must never be written again. So a source fills borrowed iovecs only
// synchronously, on the owner thread, between rx_iov() and received_into() (the Reactor:
// poll for readiness, then a non-blocking recvmsg), and hands memory to an asynchronous
// receive only while rx_iov_borrowed() is false (the receiver's own staging buffer).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstring>
#include <span>

#include "common/bytes.h"
#include "nvmemp/result.h"

namespace nvmemp::transport {

class RxSink {
 public:
  // Fills `out` with where the next bytes go, in order; returns how many iovecs. The memory
  // stays put until received_into(). 0 when nothing may be received (failed).
  virtual std::size_t rx_iov(std::span<iovec> out) = 0;
  // True when rx_iov() offers a caller's buffer (see above).
  virtual bool rx_iov_borrowed() const noexcept = 0;
  // `n` > 0 bytes landed, in order, in what the last rx_iov() offered. An error means the
  // receiver has failed (reason in the error); no more bytes are wanted.
  virtual Result<void> received_into(std::size_t n) = 0;
  // A hint for sources that copy (a record layer): take at most this many bytes into a
  // non-borrowed offer now, because the receiver will then know where the following bytes
  // belong (a read's buffer). 0: no hint. A socket source ignores it (one recv of many PDUs).
  virtual std::size_t rx_want() const noexcept { return 0; }

 protected:
  ~RxSink() = default;
};

// Hands bytes already in memory (a decrypted record, a test vector) to `sink`, copying each
// byte once to where the sink wants it.
inline Result<void> deliver(RxSink& sink, Bytes bytes) {
  iovec iov[4];
  while (!bytes.empty()) {
    const std::size_t cnt = sink.rx_iov(iov);
    std::size_t used = 0;
    for (std::size_t i = 0; i < cnt && used < bytes.size(); ++i) {
      const std::size_t k = std::min(iov[i].iov_len, bytes.size() - used);
      std::memcpy(iov[i].iov_base, bytes.data() + used, k);
      used += k;
    }
    if (used == 0) {
      return make_error(Errc::Protocol, "receiver takes no more bytes");
    }
    if (auto r = sink.received_into(used); !r) {
      return r;
    }
    bytes = bytes.subspan(used);
  }
  return {};
}

}  // namespace nvmemp::transport
