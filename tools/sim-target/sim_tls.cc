// TLS on the simulated target's connections (SimConfig::tls_key): as nvmet does, the first
// byte decides; a plaintext ICReq (PDU type 0) is served without TLS unless tls_required, a
// TLS handshake record (content type 22) starts the server handshake. The server finds the
// TLS PSK for the identity the host offers (v0 or v1, any host NQN) by deriving it from the
// configured PSK with the same code the host uses, and compares the whole identity.
#include <sstream>

#include <fmt/format.h>

#include "sim_connection.h"

namespace nvmemp::sim {

namespace {

constexpr std::uint8_t kTlsHandshakeRecord = 22;

// "NVMe0Rhh <host> <sub>" or "NVMe1Rhh <host> <sub> <digest>": the key for it, or nullopt.
std::optional<tls::ServerKey> find_key(const SimConfig& cfg, std::string_view identity) {
  auto psk = tls::parse_tls_key(cfg.tls_key, "--tls-key");
  if (!psk) return std::nullopt;
  std::istringstream in{std::string(identity)};
  std::string prefix, host, sub;
  in >> prefix >> host >> sub;
  if (prefix.size() != 8 || prefix.compare(0, 4, "NVMe") != 0 || host.empty() || sub.empty()) return std::nullopt;
  const auto version = prefix[4] == '0' ? tls::IdentityVersion::V0 : tls::IdentityVersion::V1;
  auto t = tls::make_tls_psk(*psk, host, sub, version,
                             cfg.tls_compat ? tls::HkdfEncoding::LibnvmeCompat : tls::HkdfEncoding::Rfc8446);
  if (!t || t->identity != identity) return std::nullopt;
  return tls::ServerKey{std::move(t->key), t->hash};
}

// Collects decrypted bytes for the PDU parser.
struct PlainSink final : transport::RxSink {
  std::vector<std::uint8_t>& out;
  std::uint8_t buf[16384];
  explicit PlainSink(std::vector<std::uint8_t>& o) : out(o) {}
  std::size_t rx_iov(std::span<iovec> iov) override {
    iov[0] = iovec{buf, sizeof buf};
    return 1;
  }
  bool rx_iov_borrowed() const noexcept override { return false; }
  Result<void> received_into(std::size_t n) override {
    out.insert(out.end(), buf, buf + n);
    return {};
  }
};

}  // namespace

bool Connection::tls_receive(Bytes chunk, std::vector<std::uint8_t>& plain) {
  if (!tls_decided_) {
    tls_decided_ = true;
    if (!chunk.empty() && chunk[0] == kTlsHandshakeRecord) {
      const SimConfig& cfg = core_.config();
      auto s = tls::TlsSession::server([&cfg](std::string_view id) { return find_key(cfg, id); },
                                       fmt::format("port {}", port_ + 1));
      if (!s) {
        close(s.error().message);
        return false;
      }
      tls_ = std::move(*s);
    } else if (core_.config().tls_required) {
      close("a plaintext connection on a port that requires TLS");
      return false;
    }
  }
  if (tls_ == nullptr) return true;
  tls_->feed(chunk);
  if (!tls_->handshake_done()) {
    auto r = tls_->handshake();
    std::vector<std::uint8_t> out;
    tls_->take_output(out);
    enqueue_raw(std::move(out));
    if (!r) {
      core_.log(fmt::format("port {}: {}", port_ + 1, r.error().message));
      close_when_flushed(r.error().message);
      return false;
    }
    if (!*r) return false;
    core_.log(fmt::format("port {}: {} with \"{}\"", port_ + 1, tls_->describe(), tls_->peer_identity()));
  }
  plain.clear();
  PlainSink sink(plain);
  if (auto r = tls_->drain_into(sink); !r) {
    close(r.error().message);
    return false;
  }
  return true;
}

void Connection::flush_tls() {
  if (tls_plain_.empty()) return;
  tx_bytes_ -= tls_plain_.size();
  std::vector<std::uint8_t> records;
  if (PortFaults& f = core_.faults(port_); f.tls_keyupdate) {
    f.tls_keyupdate = false;
    if (auto r = tls_->key_update(); !r) {
      close(r.error().message);
      return;
    }
    core_.log(fmt::format("port {}: KeyUpdate (update_requested) sent", port_ + 1));
  }
  constexpr std::size_t kRecord = 16384;
  for (std::size_t off = 0; off < tls_plain_.size(); off += kRecord) {
    const std::size_t n = std::min(kRecord, tls_plain_.size() - off);
    if (auto r = tls_->write(Bytes(tls_plain_.data() + off, n)); !r) {
      tls_plain_.clear();
      close(r.error().message);
      return;
    }
  }
  tls_plain_.clear();
  tls_->take_output(records);
  if (PortFaults& f = core_.faults(port_); f.corrupt_next_tls && !records.empty()) {
    records.back() ^= 0x01;  // the last byte of the last record's AEAD tag
    f.corrupt_next_tls = false;
  }
  enqueue_raw(std::move(records));
}

}  // namespace nvmemp::sim
