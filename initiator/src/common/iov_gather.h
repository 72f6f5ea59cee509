// Building the iovec array of one sendmsg from a queue of pieces, of which the first `skip`
// bytes went out already (a short send): the transmit paths of the queue pair and of the
// NBD export's connections.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace nvmemp {

class IovGather {
 public:
  IovGather(std::span<iovec> out, std::size_t skip) : out_(out), skip_(skip) {}
  // Adds [p, p + len) minus what is still to skip. False once `out` is full: stop there.
  bool add(const std::uint8_t* p, std::size_t len) {
    if (len == 0) return true;
    if (skip_ >= len) {
      skip_ -= len;
      return true;
    }
    if (n_ == out_.size()) return false;
    out_[n_].iov_base = const_cast<std::uint8_t*>(p + skip_);
    out_[n_].iov_len = len - skip_;
    skip_ = 0;
    ++n_;
    return true;
  }
  std::size_t count() const noexcept { return n_; }

 private:
  std::span<iovec> out_;
  std::size_t skip_;
  std::size_t n_ = 0;
};

}  // namespace nvmemp
