#include "support/tls_echo.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "transport/rx_sink.h"

namespace nvmemp::test {

namespace {

using EchoClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Takes decrypted plaintext straight into a growing buffer, as much as each record gives.
struct EchoedBytes final : transport::RxSink {
  std::vector<std::uint8_t> bytes;
  std::size_t filled = 0;
  std::size_t rx_iov(std::span<iovec> out) override {
    if (bytes.size() < filled + 16384) bytes.resize(filled + 16384);
    out[0] = iovec{bytes.data() + filled, bytes.size() - filled};
    return 1;
  }
  bool rx_iov_borrowed() const noexcept override { return false; }
  Result<void> received_into(std::size_t n) override {
    filled += n;
    return {};
  }
};

}  // namespace

tls::TlsPsk derive_client_psk(const std::string& configured_key, const std::string& hostnqn,
                              const std::string& subnqn) {
  auto configured = tls::parse_tls_key(configured_key, "the test's configured PSK");
  REQUIRE(configured);
  auto psk = tls::make_tls_psk(*configured, hostnqn, subnqn, tls::IdentityVersion::V1, tls::HkdfEncoding::Rfc8446);
  REQUIRE(psk);
  return std::move(*psk);
}

tls::TlsPsk random_key_psk(const std::string& identity) {
  tls::TlsPsk wrong;
  wrong.identity = identity;
  wrong.hash = tls::PskHash::Sha256;
  wrong.key = auth::SecretBuf(32);
  REQUIRE(RAND_bytes(wrong.key.data(), 32) == 1);
  return wrong;
}

LoopbackSocket::LoopbackSocket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}

LoopbackSocket::~LoopbackSocket() {
  if (fd_ >= 0) ::close(fd_);
}

std::string LoopbackSocket::connect(std::uint16_t port) {
  if (fd_ < 0) return fmt::format("socket: {}", std::strerror(errno));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return {};
  if (errno != EINPROGRESS) return fmt::format("connect: {}", std::strerror(errno));
  pollfd p{fd_, POLLOUT, 0};
  if (::poll(&p, 1, 2000) != 1) return "connect: no answer within 2 s";
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0 ? std::string() : fmt::format("connect: {}", std::strerror(err));
}

Result<std::vector<std::uint8_t>> echo_through(int fd, tls::TlsSession& tls, Bytes data) {
  if (auto w = tls.write(data); !w) return tl::unexpected(w.error());
  std::vector<std::uint8_t> out;
  tls.take_output(out);
  std::size_t sent = 0;
  EchoedBytes back;
  std::array<std::uint8_t, 16384> in{};
  for (const auto until = EchoClock::now() + 10s; back.filled < data.size();) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - EchoClock::now()).count();
    if (left <= 0) return make_error(Errc::Timeout, fmt::format("echo: {} of {} bytes back", back.filled, data.size()));
    pollfd p{fd, static_cast<short>(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) return make_error(Errc::Io, "poll failed");
    if (sent < out.size() && (p.revents & POLLOUT) != 0) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return make_error(Errc::Io, std::strerror(errno));
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(fd, in.data(), in.size(), MSG_DONTWAIT);
      if (n == 0) return make_error(Errc::Io, fmt::format("echo: EOF after {} bytes back", back.filled));
      if (n < 0 && errno != EAGAIN && errno != EINTR) return make_error(Errc::Io, std::strerror(errno));
      if (n > 0) {
        tls.feed(Bytes(in.data(), static_cast<std::size_t>(n)));
        if (auto d = tls.drain_into(back); !d) return tl::unexpected(d.error());
        tls.take_output(out);  // post-handshake replies (a KeyUpdate's), if any
      }
    }
  }
  back.bytes.resize(back.filled);
  return std::move(back.bytes);
}


std::string close_and_await_peer_close(int fd, tls::TlsSession& tls) {
  tls.close_notify();
  std::vector<std::uint8_t> out;
  tls.take_output(out);
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return "send failed";
  EchoedBytes rest;
  std::array<std::uint8_t, 4096> in{};
  for (const auto until = EchoClock::now() + 2s; EchoClock::now() < until;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, in.data(), in.size(), MSG_DONTWAIT);
    if (n == 0) return "EOF without close_notify";
    if (n < 0) continue;
    tls.feed(Bytes(in.data(), static_cast<std::size_t>(n)));
    if (auto d = tls.drain_into(rest); !d) return d.error().message;
  }
  return "no close_notify within 2 s";
}

}  // namespace nvmemp::test
