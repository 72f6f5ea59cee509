// A record layer between a queue pair's socket and the queue pair (TLS, tls/tls_session.h):
// the reactor moves ciphertext between the socket and the layer; the layer turns it into the
// plaintext the queue pair reads (through rx_sink.h, so a read's payload is written once, into
// the caller's buffer) and encrypts what the queue pair sends. Sans-I/O: it never touches the
// socket. Owned with its socket by a Connection until the reactor takes both.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "nvmemp/result.h"
#include "transport/rx_sink.h"

namespace nvmemp::transport {

class RecordLayer {
 public:
  virtual ~RecordLayer() = default;
  // Ciphertext as it came from the socket, in any chunking. The bytes are read where they lie:
  // they must stay put until the next drain_into() (or another feed()), which keeps a copy of
  // what it did not consume (a record's start).
  virtual void feed(Bytes ciphertext) = 0;
  // Decrypts every complete record fed so far into `sink`. An error (a bad record, an alert,
  // the peer's close_notify) ends the connection; its message says which and names `who`.
  virtual Result<void> drain_into(RxSink& sink) = 0;
  // Encrypts `plaintext` whole; its ciphertext joins the pending output.
  virtual Result<void> write(Bytes plaintext) = 0;
  // Appends the pending ciphertext (records, alerts, post-handshake replies) to `out`.
  virtual void take_output(std::vector<std::uint8_t>& out) = 0;
  // Queues a close_notify alert (an orderly close); take_output() then has it.
  virtual void close_notify() = 0;
  // "TLS 1.3 TLS_AES_128_GCM_SHA256": what the handshake agreed, for logs and `list`.
  virtual std::string describe() const = 0;
};

// A connected socket and, over TLS, its record layer: what a queue's connect hands to the
// thread that will drive it. Closes the socket unless released.
class Connection {
 public:
  Connection() = default;
  explicit Connection(int fd, std::unique_ptr<RecordLayer> tls = nullptr) noexcept : fd_(fd), tls_(std::move(tls)) {}
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(Connection&& o) noexcept : fd_(std::exchange(o.fd_, -1)), tls_(std::move(o.tls_)) {}
  Connection& operator=(Connection&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(o.fd_, -1);
      tls_ = std::move(o.tls_);
    }
    return *this;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const noexcept { return fd_; }
  RecordLayer* tls() const noexcept { return tls_.get(); }
  int release_fd() noexcept { return std::exchange(fd_, -1); }
  std::unique_ptr<RecordLayer> release_tls() noexcept { return std::move(tls_); }

 private:
  int fd_ = -1;
  std::unique_ptr<RecordLayer> tls_;
};

}  // namespace nvmemp::transport
