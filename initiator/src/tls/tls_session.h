// One TLS 1.3 connection with an external pre-shared key, on OpenSSL 3 (ciphertext in through a BIO of ours, out to a memory BIO): the
// handshake and, once it is done, the record layer (transport/record_layer.h) a queue pair's
// reactor drives. Sans-I/O: ciphertext goes in with feed() and comes out of take_output().
//
// What the NVMe/TCP transport asks (auth-tls-facts.md section 4): TLS 1.3 only; the cipher
// suite by the PSK's hash (SHA-256: TLS_AES_128_GCM_SHA256, SHA-384: TLS_AES_256_GCM_SHA384);
// psk_dhe_ke, so the client offers an (EC)DHE key share (Linux's tlshd refuses psk_ke); no
// session tickets. The client builds its PSK session as SPDK does
// (SSL_CTX_set_psk_use_session_callback); the server (the simulated target) finds its key by
// the identity the client sent. We never start a KeyUpdate; OpenSSL answers one as RFC 8446 asks.
//
// The key is copied into OpenSSL's session (which cleanses it when freed) and our copy is wiped
// once the handshake is over. Errors name the peer and the TLS alert, never the key.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tls/tls_psk.h"
#include "transport/record_layer.h"

namespace nvmemp::tls {

// A server's key for an identity: the TLS PSK and its hash (the cipher suite).
struct ServerKey {
  auth::SecretBuf key;
  PskHash hash = PskHash::Sha256;
};
// Finds the key for the identity a client sent; nullopt: unknown identity (the handshake then
// fails with handshake_failure).
using ServerKeyFn = std::function<std::optional<ServerKey>(std::string_view identity)>;

class TlsSession final : public transport::RecordLayer {
 public:
  // `who` names the peer in errors ("nqn.x @ 127.0.0.1:4420").
  static Result<std::unique_ptr<TlsSession>> client(TlsPsk psk, std::string who);
  static Result<std::unique_ptr<TlsSession>> server(ServerKeyFn find_key, std::string who);
  ~TlsSession() override;

  // Runs the handshake as far as the ciphertext fed so far allows: true once it is complete,
  // false while it needs more input (send take_output() first). An error ends the connection:
  // it names the alert sent or received and what it usually means.
  // The ciphertext fed must stay put until then (see RecordLayer::feed).
  Result<bool> handshake();
  bool handshake_done() const noexcept { return done_; }
  // The identity the client offered (server side, after the handshake).
  const std::string& peer_identity() const noexcept { return peer_identity_; }

  void feed(Bytes ciphertext) override;
  Result<void> drain_into(transport::RxSink& sink) override;
  Result<void> write(Bytes plaintext) override;
  void take_output(std::vector<std::uint8_t>& out) override;
  void close_notify() override;
  // Sends a KeyUpdate before the next record, asking the peer to update its keys too (the
  // simulated target's `tls-keyupdate` fault; our host never starts one).
  Result<void> key_update();
  std::string describe() const override;

 private:
  TlsSession() = default;
  Result<void> init(bool is_server);
  Error failure(std::string_view during, int ssl_error);

  // Ciphertext OpenSSL reads through our BIO (no copy into a memory BIO): first what an earlier
  // call left (carry_ from carry_off_), then the bytes fed last (view_).
  int bio_read(char* out, int len);
  void stash();  // keeps what is left of view_ in carry_: the caller's buffer may change now
  std::vector<std::uint8_t> carry_;
  std::size_t carry_off_ = 0;
  Bytes view_;

  struct Ossl;
  std::unique_ptr<Ossl> o_;
  std::string who_;
  TlsPsk psk_;             // client: until the handshake is over
  ServerKeyFn find_key_;   // server
  std::string peer_identity_;
  int alert_sent_ = -1;      // last alert description sent / received (-1: none)
  int alert_received_ = -1;
  bool done_ = false;
  bool is_server_ = false;

  friend struct TlsCallbacks;
};

// The client handshake on a connected, non-blocking socket, bounded by `timeout`: what a
// queue's connect runs before ICReq. The socket stays open on error (the caller closes it).
Result<std::unique_ptr<TlsSession>> tls_client_handshake(int fd, TlsPsk psk, std::string who,
                                                         std::chrono::milliseconds timeout);

}  // namespace nvmemp::tls
