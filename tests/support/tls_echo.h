// Driving our TLS client (tls/tls_session.h) against a TLS server in tests: a non-blocking
// loopback socket, an echo round trip through a TlsSession (both directions at once, bounded)
// and an orderly close that waits for the peer's close_notify. Used with gnutls-serv --echo and
// with the TLS relay (tools/tls-relay) in front of an echo backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "nvmemp/result.h"
#include "tls/tls_psk.h"
#include "tls/tls_session.h"

namespace nvmemp::test {

// What our initiator offers a subsystem: the v1 identity and TLS PSK our code derives (RFC 8446
// HKDF) from the configured key "NVMeTLSkey-1:..." for `hostnqn` and `subnqn`. REQUIREs success.
tls::TlsPsk derive_client_psk(const std::string& configured_key, const std::string& hostnqn,
                              const std::string& subnqn);

// `identity` with 32 random bytes as its SHA-256 TLS PSK: a key no server has (the binder fails).
tls::TlsPsk random_key_psk(const std::string& identity);

// A non-blocking socket to 127.0.0.1, closed when it goes.
class LoopbackSocket {
 public:
  LoopbackSocket();
  ~LoopbackSocket();
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  int fd() const { return fd_; }
  // Connects to `port` within 2 s: "" or why not.
  std::string connect(std::uint16_t port);

 private:
  int fd_;
};

// Writes `data` through `tls` and collects what comes back until `data.size()` bytes have come
// (or 10 s have passed): both directions at once, so neither side's socket buffer fills up.
// Returns the first error, else what came back.
Result<std::vector<std::uint8_t>> echo_through(int fd, tls::TlsSession& tls, Bytes data);

// Sends our close_notify and waits (2 s at most) for the peer's: the error drain_into() then
// gives, or why none came.
std::string close_and_await_peer_close(int fd, tls::TlsSession& tls);

}  // namespace nvmemp::test
