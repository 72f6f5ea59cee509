// The relay's TLS 1.3 server, written on OpenSSL 3 directly (not on the initiator's TLS code:
// the point of the relay is a server implementation independent of ours).
//
// TLS 1.3 only, TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384, no certificate, no session
// tickets, no session cache. The external PSK comes from SSL_CTX_set_psk_find_session_callback:
// the identity the client offers is looked up in the PskTable and a session is built from its
// key (SSL_SESSION_set1_master_key), with the suite the key's length gives (32 bytes: SHA-256,
// 48: SHA-384) and TLS 1.3. An identity not in the table gets no session, so the handshake
// fails (no PSK and no certificate: handshake_failure). OpenSSL's default keeps psk_dhe_ke
// mandatory (no SSL_OP_ALLOW_NO_DHE_KEX), as Linux's tlshd has it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "psk_table.h"

namespace tls_relay {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// What one connection's handshake showed; filled by OpenSSL's callbacks on the connection's
// own thread (set on its SSL with attach_handshake_note).
struct HandshakeNote {
  bool offered = false;       // the client offered a PSK identity
  bool known = false;         // ... and it is in the table
  std::string identity;       // as offered (not secret); printable_identity() for logs
  std::string alert_sent;     // the last alert we sent ("handshake failure"), if any
  std::string alert_received; // the last alert the client sent ("close notify"), if any
};

// The server context; `table` must outlive it.
tl::expected<SslCtxPtr, std::string> make_server_ctx(const PskTable& table);

// A server SSL on `fd` that records into `note` (which must outlive it).
tl::expected<SslPtr, std::string> new_server_ssl(SSL_CTX* ctx, int fd, HandshakeNote& note);

// OpenSSL's error queue as one line (and emptied), "" when it is empty.
std::string drain_openssl_errors();

}  // namespace tls_relay
