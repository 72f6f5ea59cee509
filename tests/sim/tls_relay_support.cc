#include "tls_relay_support.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nvmemp::test {

namespace {

using EchoServerClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

nlohmann::json load_tls_psk_vectors() {
  std::ifstream in(std::string(NVMEMP_VECTORS_DIR) + "/tls_psk_vectors.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

}  // namespace

std::string relay_psk_file_text() {
  const auto v = load_tls_psk_vectors();
  std::string sha384_psk, discovery_line;
  for (const auto& e : v.at("relay")) {
    INFO(e.at("identity").get<std::string>());  // never the key
    CHECK(e.at("hostnqn") == kPskTestHostNqn);
    if (e.at("subnqn") != kPskTestSubNqn) {
      // The discovery subsystem's identity and TLS PSK for the same host and key: computed by
      // the script alone (nobody publishes them).
      CHECK(e.at("subnqn") == kRelayDiscoveryNqn);
      discovery_line = e.at("identity").get<std::string>() + " " + e.at("tls_psk").get<std::string>();
    } else if (e.at("hash") == "sha256") {
      // The script's own SHA-256 result must be the facts sheet's: then its SHA-384 path,
      // the same formulas with the other hash, is trusted for the key nobody published.
      CHECK(e.at("configured") == kFactsKeySha256);
      CHECK(e.at("identity") == kFactsIdentitySha256);
      CHECK(e.at("tls_psk") == kFactsTlsPskSha256);
    } else {
      CHECK(e.at("configured") == kLibnvmeKeySha384);
      CHECK(e.at("identity") == kLibnvmeIdentitySha384);
      sha384_psk = e.at("tls_psk").get<std::string>();
    }
  }
  REQUIRE(sha384_psk.size() == 96);
  REQUIRE_FALSE(discovery_line.empty());
  return fmt::format(
      "# The relay's keys: given, never derived by the code under test.\n"
      "# auth-tls-facts.md section 4 (SHA-256, TLS_AES_128_GCM_SHA256):\n{} {}\n"
      "# tests/vectors/tls_psk_vectors.py (SHA-384, TLS_AES_256_GCM_SHA384; identity as libnvme publishes it):\n"
      "{} {}\n"
      "# tests/vectors/tls_psk_vectors.py: the SHA-256 key's identity and TLS PSK for the discovery subsystem\n{}\n",
      kFactsIdentitySha256, kFactsTlsPskSha256, kLibnvmeIdentitySha384, sha384_psk, discovery_line);
}

RunningRelay start_relay(const std::vector<std::uint16_t>& backend_ports) {
  RunningRelay r;
  r.dir = std::make_unique<PrivateDir>("nvme-mpath-tls-relay");
  const std::string psk_file = r.dir->write_file("relay.psk", relay_psk_file_text());
  auto p = TlsRelayProcess::start(TLS_RELAY_BIN, backend_ports, psk_file, r.dir->path());
  INFO((p ? std::string() : p.error().message));
  REQUIRE(p.has_value());
  r.process = std::move(*p);
  return r;
}

void stop_relay_cleanly(RunningRelay& relay) {
  auto rc = relay.process->stop();
  INFO((rc ? std::string() : rc.error().message) << "\nrelay stderr: " << relay.process->errors());
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
}

void print_relay_lines(const std::string& log, std::size_t most) {
  const auto lines = lines_with(log, "conn ");
  for (std::size_t i = 0; i < lines.size() && i < most; ++i) std::printf("  relay: %s\n", lines[i].c_str());
  if (lines.size() > most) std::printf("  relay: ... %zu connection lines in all\n", lines.size());
}

EchoBackend::EchoBackend() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  const bool ok = listener_ >= 0 && ::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                  ::listen(listener_, 128) == 0 && ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
  REQUIRE(ok);
  port_ = ntohs(sa.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

EchoBackend::~EchoBackend() {
  stop_ = true;
  acceptor_.join();
  ::close(listener_);
  std::lock_guard lock(mu_);
  for (auto& t : conns_) t.join();
}

void EchoBackend::accept_loop() {
  while (!stop_.load()) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    const unsigned now_open = ++open_;
    for (unsigned most = most_open_.load(); now_open > most && !most_open_.compare_exchange_weak(most, now_open);) {
    }
    std::lock_guard lock(mu_);
    conns_.emplace_back([this, fd] { echo(fd); });
  }
}

void EchoBackend::echo(int fd) {
  std::array<std::uint8_t, 65536> buf{};
  for (const auto until = EchoServerClock::now() + 60s; !stop_.load() && EchoServerClock::now() < until;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;  // EOF (the relay passed on a close_notify) or an error
    std::size_t sent = 0;
    while (sent < static_cast<std::size_t>(n)) {
      pollfd w{fd, POLLOUT, 0};
      if (::poll(&w, 1, 5000) != 1) break;
      const ssize_t m = ::send(fd, buf.data() + sent, static_cast<std::size_t>(n) - sent, MSG_NOSIGNAL);
      if (m <= 0) break;
      sent += static_cast<std::size_t>(m);
    }
    if (sent < static_cast<std::size_t>(n)) break;
  }
  --open_;
  ::close(fd);
}

}  // namespace nvmemp::test
