#include "tls/tls_session.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/clock.h"

namespace nvmemp::tls {

struct TlsSession::Ossl {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;  // owns the two BIOs
  BIO* rbio = nullptr;
  BIO* wbio = nullptr;
  ~Ossl() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
};

namespace {

// TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384 (RFC 8446 B.4).
const unsigned char kAes128Sha256[2] = {0x13, 0x01};
const unsigned char kAes256Sha384[2] = {0x13, 0x02};

// The read BIO: OpenSSL takes ciphertext straight from where the reactor received it.
int bio_read_cb(BIO* b, char* out, int len);
long bio_ctrl_cb(BIO* b, int cmd, long num, void* ptr);

const BIO_METHOD* read_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nvme-mpath ciphertext in");
    BIO_meth_set_read(bm, &bio_read_cb);
    BIO_meth_set_ctrl(bm, &bio_ctrl_cb);
    BIO_meth_set_create(bm, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return bm;
  }();
  return m;
}

int session_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// The first reason on this thread's OpenSSL error queue, which is then cleared.
std::string take_openssl_reason() {
  std::string reason;
  while (const unsigned long e = ERR_get_error()) {
    if (reason.empty()) {
      const char* r = ERR_reason_error_string(e);
      reason = r != nullptr ? r : fmt::format("error {:#x}", e);
    }
  }
  return reason;
}

SSL_SESSION* psk_session(SSL* ssl, std::span<const std::uint8_t> key, PskHash h) {
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, h == PskHash::Sha384 ? kAes256Sha384 : kAes128Sha256);
  if (cipher == nullptr) return nullptr;
  SSL_SESSION* s = SSL_SESSION_new();
  if (s == nullptr) return nullptr;
  if (SSL_SESSION_set1_master_key(s, key.data(), key.size()) != 1 || SSL_SESSION_set_cipher(s, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

}  // namespace

// OpenSSL's callbacks, with access to the session they belong to.
struct TlsCallbacks {
  static int bio_read(BIO* b, char* out, int len) { return static_cast<TlsSession*>(BIO_get_data(b))->bio_read(out, len); }

  static TlsSession* of(const SSL* ssl) { return static_cast<TlsSession*>(SSL_get_ex_data(ssl, session_index())); }

  static int use_session(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* idlen, SSL_SESSION** sess) {
    TlsSession* t = of(ssl);
    *sess = nullptr;
    if (t == nullptr || t->psk_.key.empty()) return 1;  // no PSK: the handshake fails
    SSL_SESSION* s = psk_session(ssl, t->psk_.key.bytes(), t->psk_.hash);
    if (s == nullptr) return 0;
    // After a HelloRetryRequest OpenSSL asks again with the chosen suite's hash: a PSK of the
    // other hash must not be offered.
    if (md != nullptr && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
      SSL_SESSION_free(s);
      return 1;
    }
    *id = reinterpret_cast<const unsigned char*>(t->psk_.identity.data());
    *idlen = t->psk_.identity.size();
    *sess = s;
    return 1;
  }

  static int find_session(SSL* ssl, const unsigned char* identity, std::size_t len, SSL_SESSION** sess) {
    TlsSession* t = of(ssl);
    *sess = nullptr;
    if (t == nullptr || !t->find_key_) return 1;
    t->peer_identity_.assign(reinterpret_cast<const char*>(identity), len);
    std::optional<ServerKey> k = t->find_key_(t->peer_identity_);
    if (!k) return 1;  // unknown identity: no PSK, and without a certificate the handshake fails
    *sess = psk_session(ssl, k->key.bytes(), k->hash);
    return *sess != nullptr ? 1 : 0;
  }

  static void info(const SSL* ssl, int where, int ret) {
    if ((where & SSL_CB_ALERT) == 0) return;
    TlsSession* t = of(ssl);
    if (t == nullptr) return;
    const int desc = ret & 0xff;
    if (desc == SSL_AD_CLOSE_NOTIFY) return;
    ((where & SSL_CB_READ) != 0 ? t->alert_received_ : t->alert_sent_) = desc;
  }
};

namespace {

int bio_read_cb(BIO* b, char* out, int len) { return TlsCallbacks::bio_read(b, out, len); }

long bio_ctrl_cb(BIO*, int cmd, long, void*) {
  // OpenSSL asks to flush (nothing to flush) and whether data is pending (it reads to know).
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

}  // namespace

Result<std::unique_ptr<TlsSession>> TlsSession::client(TlsPsk psk, std::string who) {
  std::unique_ptr<TlsSession> t(new TlsSession());
  t->who_ = std::move(who);
  t->psk_ = std::move(psk);
  if (auto r = t->init(false); !r) return tl::unexpected(r.error());
  return t;
}

Result<std::unique_ptr<TlsSession>> TlsSession::server(ServerKeyFn find_key, std::string who) {
  std::unique_ptr<TlsSession> t(new TlsSession());
  t->who_ = std::move(who);
  t->find_key_ = std::move(find_key);
  if (auto r = t->init(true); !r) return tl::unexpected(r.error());
  return t;
}

TlsSession::~TlsSession() = default;

Result<void> TlsSession::init(bool is_server) {
  is_server_ = is_server;
  o_ = std::make_unique<Ossl>();
  auto fail = [&](std::string_view what) {
    return make_error(Errc::Io, fmt::format("{}: TLS set-up: {}: {}", who_, what, take_openssl_reason()));
  };
  o_->ctx = SSL_CTX_new(is_server ? TLS_server_method() : TLS_client_method());
  if (o_->ctx == nullptr) return fail("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(o_->ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(o_->ctx, TLS1_3_VERSION);
  const char* suites = is_server ? "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
                                 : (psk_.hash == PskHash::Sha384 ? "TLS_AES_256_GCM_SHA384" : "TLS_AES_128_GCM_SHA256");
  if (SSL_CTX_set_ciphersuites(o_->ctx, suites) != 1) return fail("the cipher suites");
  SSL_CTX_set_options(o_->ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(o_->ctx, 0);
  SSL_CTX_set_session_cache_mode(o_->ctx, SSL_SESS_CACHE_OFF);
  if (is_server) {
    SSL_CTX_set_psk_find_session_callback(o_->ctx, &TlsCallbacks::find_session);
  } else {
    SSL_CTX_set_psk_use_session_callback(o_->ctx, &TlsCallbacks::use_session);
  }
  o_->ssl = SSL_new(o_->ctx);
  if (o_->ssl == nullptr) return fail("SSL_new");
  o_->rbio = BIO_new(read_method());
  o_->wbio = BIO_new(BIO_s_mem());
  if (o_->rbio == nullptr || o_->wbio == nullptr) {
    BIO_free(o_->rbio);
    BIO_free(o_->wbio);
    return fail("BIO_new");
  }
  if (o_->rbio != nullptr) BIO_set_data(o_->rbio, this);
  SSL_set_bio(o_->ssl, o_->rbio, o_->wbio);
  SSL_set_ex_data(o_->ssl, session_index(), this);
  SSL_set_info_callback(o_->ssl, &TlsCallbacks::info);
  if (is_server) {
    SSL_set_accept_state(o_->ssl);
  } else {
    SSL_set_connect_state(o_->ssl);
  }
  return {};
}

Error TlsSession::failure(std::string_view during, int ssl_error) {
  const std::string reason = take_openssl_reason();
  const char* peer = is_server_ ? "the host" : "the controller";
  std::string what;
  if (alert_received_ >= 0) {
    what = fmt::format("{} sent TLS alert {} ({})", peer, alert_received_, SSL_alert_desc_string_long(alert_received_));
    if (!is_server_ && (alert_received_ == SSL_AD_DECRYPT_ERROR || alert_received_ == SSL_AD_ILLEGAL_PARAMETER)) {
      what += fmt::format(": it does not accept our PSK for identity \"{}\" (the PSK binder did not verify): the "
                          "TLS key differs from the target's, or the target derives it another way (tls_identity, "
                          "tls_compat)", psk_.identity);
    } else if (!is_server_ && alert_received_ == SSL_AD_HANDSHAKE_FAILURE) {
      what += fmt::format(": it knows no key for identity \"{}\", or shares no cipher suite with us", psk_.identity);
    }
  } else if (alert_sent_ >= 0) {
    what = fmt::format("we sent TLS alert {} ({})", alert_sent_, SSL_alert_desc_string_long(alert_sent_));
    if (!reason.empty()) what += ": " + reason;
  } else if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    what = fmt::format("{} closed the TLS session (close_notify)", peer);
  } else if (!done_ && !is_server_ && (reason == "wrong version number" || reason == "packet length too long")) {
    // Bytes that are no TLS record: a port without TLS, which took our ClientHello for a PDU.
    what = fmt::format("{} (the controller answered in plaintext: this port does not speak TLS; connect without "
                       "tls, or enable TLS on the target's port)", reason);
  } else {
    what = reason.empty() ? fmt::format("OpenSSL error {}", ssl_error) : reason;
  }
  return Error{Errc::Io, fmt::format("{}: TLS {}: {}", who_, during, what)};
}

int TlsSession::bio_read(char* out, int len) {
  std::size_t want = len > 0 ? static_cast<std::size_t>(len) : 0;
  std::size_t got = 0;
  if (carry_off_ < carry_.size()) {
    const std::size_t k = std::min(want, carry_.size() - carry_off_);
    std::memcpy(out, carry_.data() + carry_off_, k);
    carry_off_ += k;
    got += k;
    if (carry_off_ == carry_.size()) {
      carry_.clear();
      carry_off_ = 0;
    }
  }
  if (got < want && !view_.empty()) {
    const std::size_t k = std::min(want - got, view_.size());
    std::memcpy(out + got, view_.data(), k);
    view_ = view_.subspan(k);
    got += k;
  }
  BIO_clear_retry_flags(o_->rbio);
  if (got == 0) {
    BIO_set_retry_read(o_->rbio);
    return -1;
  }
  return static_cast<int>(got);
}

void TlsSession::stash() {
  if (view_.empty()) return;
  if (carry_off_ > 0) {
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(carry_off_));
    carry_off_ = 0;
  }
  carry_.insert(carry_.end(), view_.begin(), view_.end());
  view_ = {};
}

Result<bool> TlsSession::handshake() {
  if (done_) return true;
  struct Stash {
    TlsSession& t;
    ~Stash() { t.stash(); }
  } stash_at_end{*this};
  const int rc = SSL_do_handshake(o_->ssl);
  if (rc == 1) {
    done_ = true;
    psk_ = TlsPsk{};  // our copy of the key goes (SecretBuf wipes it); OpenSSL's session has its own
    return true;
  }
  const int err = SSL_get_error(o_->ssl, rc);
  if (err == SSL_ERROR_WANT_READ) return false;
  return tl::unexpected(failure("handshake", err));
}

void TlsSession::feed(Bytes ciphertext) {
  stash();
  view_ = ciphertext;
}

Result<void> TlsSession::drain_into(transport::RxSink& sink) {
  struct Stash {
    TlsSession& t;
    ~Stash() { t.stash(); }
  } stash_at_end{*this};
  iovec iov[4];
  for (;;) {
    if (sink.rx_iov(iov) == 0) return {};  // the receiver has failed; its owner closes
    std::size_t got = 0;
    std::size_t len = iov[0].iov_len;
    if (const std::size_t want = sink.rx_want(); want != 0 && !sink.rx_iov_borrowed()) len = std::min(len, want);
    if (SSL_read_ex(o_->ssl, iov[0].iov_base, len, &got) == 1) {
      if (auto r = sink.received_into(got); !r) return r;
      continue;
    }
    const int err = SSL_get_error(o_->ssl, 0);
    if (err == SSL_ERROR_WANT_READ) {
      ERR_clear_error();
      return {};
    }
    return tl::unexpected(failure("receive", err));
  }
}

Result<void> TlsSession::write(Bytes plaintext) {
  if (plaintext.empty()) return {};
  std::size_t written = 0;
  if (SSL_write_ex(o_->ssl, plaintext.data(), plaintext.size(), &written) != 1 || written != plaintext.size()) {
    return tl::unexpected(failure("send", SSL_get_error(o_->ssl, 0)));
  }
  return {};
}

void TlsSession::take_output(std::vector<std::uint8_t>& out) {
  for (;;) {
    const int pending = BIO_pending(o_->wbio);
    if (pending <= 0) return;
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(pending));
    const int n = BIO_read(o_->wbio, out.data() + at, pending);
    out.resize(at + static_cast<std::size_t>(n > 0 ? n : 0));
    if (n <= 0) return;
  }
}

Result<void> TlsSession::key_update() {
  if (!done_ || SSL_key_update(o_->ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
    return tl::unexpected(failure("KeyUpdate", SSL_ERROR_SSL));
  }
  return {};
}

void TlsSession::close_notify() {
  if (done_) {
    SSL_shutdown(o_->ssl);
    ERR_clear_error();
  }
}

std::string TlsSession::describe() const {
  const char* suite = done_ ? SSL_get_cipher_name(o_->ssl) : nullptr;
  return fmt::format("TLS 1.3 {}", suite != nullptr ? suite : "(handshake not done)");
}

Result<std::unique_ptr<TlsSession>> tls_client_handshake(int fd, TlsPsk psk, std::string who,
                                                         std::chrono::milliseconds timeout) {
  auto t = TlsSession::client(std::move(psk), who);
  if (!t) return tl::unexpected(t.error());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining_ms = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(0, left.count()));
  };
  auto timed_out = [&] {
    return make_error(Errc::Timeout, fmt::format("{}: no TLS handshake within {} ms (does the port speak NVMe/TCP "
                                                 "over TLS? a plaintext port waits for an ICReq and never answers)",
                                                 who, timeout.count()));
  };
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> in(16384);
  for (;;) {
    auto step = (*t)->handshake();
    out.clear();
    (*t)->take_output(out);
    // Our output first, also after a failure: it may be the alert that tells the peer why.
    std::size_t sent = 0;
    while (sent < out.size()) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms()) <= 0) return timed_out();
        continue;
      }
      if (!step) break;
      return make_error(Errc::Io, fmt::format("{}: TLS handshake: send: {}", who, std::strerror(errno)));
    }
    if (!step) return tl::unexpected(step.error());
    if (*step) return std::move(*t);
    pollfd p{fd, POLLIN, 0};
    const int pr = ::poll(&p, 1, remaining_ms());
    if (pr == 0) return timed_out();
    if (pr < 0 && errno != EINTR) {
      return make_error(Errc::Io, fmt::format("{}: TLS handshake: poll: {}", who, std::strerror(errno)));
    }
    const ssize_t n = ::recv(fd, in.data(), in.size(), MSG_DONTWAIT);
    if (n == 0) {
      return make_error(Errc::Io, fmt::format("{}: the controller closed the connection during the TLS handshake "
                                              "(a port without TLS, or one that refused our ClientHello)", who));
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return make_error(Errc::Io, fmt::format("{}: TLS handshake: recv: {}", who, std::strerror(errno)));
    }
    (*t)->feed(Bytes(in.data(), static_cast<std::size_t>(n)));
  }
}

}  // namespace nvmemp::tls
