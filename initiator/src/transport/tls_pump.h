// The glue between a queue pair and its record layer (TLS), sans-I/O: what the reactor does with
// a TLS connection, in a form a test or a fuzzer can drive without a socket. Ciphertext that
// arrived goes in with received(); fill() encrypts what the queue pair has to send, a record at
// a time (the queue pair's buffers are free as soon as their bytes are encrypted), and
// pending()/sent() hand the ciphertext to the socket.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "transport/queue_pair.h"
#include "transport/record_layer.h"

namespace nvmemp::transport {

class TlsPump {
 public:
  static constexpr std::size_t kRecvBuf = 64 * 1024;   // ciphertext per receive
  static constexpr std::size_t kRecord = 16 * 1024;    // plaintext per record (TLS's maximum)
  static constexpr std::size_t kOutMax = 256 * 1024;   // ciphertext waiting before the queue pair waits

  TlsPump(std::unique_ptr<RecordLayer> layer, QueuePair& qp);

  RecordLayer& layer() noexcept { return *layer_; }
  // Where the next receive lands, and the ciphertext that landed there.
  MutBytes recv_buffer() noexcept { return MutBytes(in_.data(), in_.size()); }
  Result<void> received(std::size_t n);
  // The same for ciphertext already in memory (a test, the fuzzer).
  Result<void> received(Bytes ciphertext);

  // Encrypts what the queue pair has to send, until kOutMax ciphertext waits. An error ends the
  // connection (its message says why).
  Result<void> fill();
  // Ciphertext for the socket, and how much of it the socket took.
  Bytes pending() const noexcept { return Bytes(out_.data() + out_off_, out_.size() - out_off_); }
  void sent(std::size_t n) noexcept;

  // Queues a close_notify alert (an orderly close) and returns the ciphertext to send now.
  Bytes close_notify();

 private:
  std::unique_ptr<RecordLayer> layer_;
  QueuePair& qp_;
  std::vector<std::uint8_t> in_;
  std::vector<std::uint8_t> out_;
  std::size_t out_off_ = 0;
  std::vector<std::uint8_t> plain_;
  std::array<iovec, 64> iov_{};
};

}  // namespace nvmemp::transport
