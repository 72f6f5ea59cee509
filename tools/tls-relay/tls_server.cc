#include "tls_server.h"

#include <openssl/err.h>

#include <string_view>

#include <fmt/format.h>

namespace tls_relay {

namespace {

constexpr const char* kSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
// TLS 1.3 cipher suite code points (RFC 8446 B.4).
constexpr unsigned char kAes128GcmSha256[2] = {0x13, 0x01};
constexpr unsigned char kAes256GcmSha384[2] = {0x13, 0x02};

int g_note_index = -1;  // SSL ex_data slot of the HandshakeNote; set once in make_server_ctx

HandshakeNote* note_of(SSL* ssl) {
  return g_note_index < 0 ? nullptr : static_cast<HandshakeNote*>(SSL_get_ex_data(ssl, g_note_index));
}

// SSL_CTX_set_psk_find_session_callback: the session for the offered identity, or none.
int find_psk_session(SSL* ssl, const unsigned char* identity, std::size_t identity_len, SSL_SESSION** sess) {
  *sess = nullptr;
  const auto* table = static_cast<const PskTable*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const std::string_view id(reinterpret_cast<const char*>(identity), identity_len);
  const PskEntry* entry = table != nullptr ? table->find(id) : nullptr;
  if (HandshakeNote* n = note_of(ssl)) {
    n->offered = true;
    n->known = entry != nullptr;
    n->identity.assign(id);
  }
  if (entry == nullptr) return 1;  // no session: this identity is not ours
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, entry->key.size() == 48 ? kAes256GcmSha384 : kAes128GcmSha256);
  SSL_SESSION* s = SSL_SESSION_new();
  if (cipher == nullptr || s == nullptr || SSL_SESSION_set1_master_key(s, entry->key.data(), entry->key.size()) != 1 ||
      SSL_SESSION_set_cipher(s, cipher) != 1 || SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(s);
    return 0;  // a failure of ours: OpenSSL ends the handshake with internal_error
  }
  *sess = s;
  return 1;
}

// Records the alerts each way (SSL_CB_WRITE_ALERT / SSL_CB_READ_ALERT; `ret` is level << 8 | desc).
void on_ssl_info(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  HandshakeNote* n = note_of(const_cast<SSL*>(ssl));
  if (n == nullptr) return;
  const std::string what = fmt::format("{} ({})", SSL_alert_desc_string_long(ret), ret & 0xff);
  if ((where & SSL_CB_WRITE) != 0) {
    n->alert_sent = what;
  } else {
    n->alert_received = what;
  }
}

}  // namespace

std::string drain_openssl_errors() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

tl::expected<SslCtxPtr, std::string> make_server_ctx(const PskTable& table) {
  if (g_note_index < 0) g_note_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  if (g_note_index < 0) return tl::unexpected("SSL_get_ex_new_index failed: " + drain_openssl_errors());
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return tl::unexpected("SSL_CTX_new failed: " + drain_openssl_errors());
  SSL_CTX* c = ctx.get();
  const bool ok = SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) == 1 && SSL_CTX_set_ciphersuites(c, kSuites) == 1 &&
                  SSL_CTX_set_num_tickets(c, 0) == 1;
  if (!ok) return tl::unexpected("setting TLS 1.3 and its suites failed: " + drain_openssl_errors());
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  // Non-blocking sockets: a write may go out a record at a time and be retried from a buffer
  // that moved (the pump compacts its buffers).
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_clear_mode(c, SSL_MODE_AUTO_RETRY);
  SSL_CTX_set_app_data(c, const_cast<PskTable*>(&table));
  SSL_CTX_set_psk_find_session_callback(c, find_psk_session);
  SSL_CTX_set_info_callback(c, on_ssl_info);
  return ctx;
}

tl::expected<SslPtr, std::string> new_server_ssl(SSL_CTX* ctx, int fd, HandshakeNote& note) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || SSL_set_ex_data(ssl.get(), g_note_index, &note) != 1) {
    return tl::unexpected("SSL_new failed: " + drain_openssl_errors());
  }
  SSL_set_accept_state(ssl.get());
  return ssl;
}

}  // namespace tls_relay
