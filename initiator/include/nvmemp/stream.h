// A byte stream served on an IoContext's io_uring ring beside the paths' queues. This is how a
// front end (the daemon's NBD export) puts its client sockets on the I/O threads' rings: a
// client's request, the NVMe commands it becomes and the reply are all handled on one thread,
// inside IoContext::poll(), without a lock or a hand-off.
//
// Every method is called on the context's thread, from poll().
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "nvmemp/result.h"

namespace nvmemp {

class Stream {
 public:
  virtual ~Stream() = default;
  // Bytes from the peer, in any chunking. An error closes the connection, its message the reason.
  virtual Result<void> on_receive(std::span<const std::uint8_t> bytes) = 0;
  // Up to out.size() iovecs of what to send next (0: nothing now). The memory stays valid and
  // unchanged until on_sent() has reported it.
  virtual std::size_t gather(std::span<iovec> out) = 0;
  // `n` bytes of what gather() offered were sent (possibly fewer than offered).
  virtual void on_sent(std::size_t n) = 0;
  // False while the stream takes no more bytes (backpressure: its queue is full); the ring
  // stops receiving for it until this is true again.
  virtual bool receiving() const noexcept { return true; }
  // True when the stream wants its connection closed once gather() has nothing left to send.
  virtual bool finished() const noexcept = 0;
  // The connection is closed and its socket gone (the peer hung up, an error, finished(), or
  // IoContext::close_stream()). Called once; the stream may be destroyed from here on.
  virtual void on_closed(const std::string& reason) = 0;
};

}  // namespace nvmemp
