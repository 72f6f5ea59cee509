// nvme-mpath-tls-relay itself, with our TLS client (tls/tls_session.h) in front and a plain echo
// server behind: many connections at once in both suites, close_notify carried both ways, the
// refusals (an identity it does not know, a wrong key under one it knows) and SIGTERM with a
// connection open. Its keys are the published ones (tls_relay_support.h); our client derives its
// own from the NVMeTLSkey-1 strings.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sim_support.h"
#include "support/byte_diff.h"
#include "support/shell.h"
#include "support/tls_echo.h"
#include "tls/tls_psk.h"
#include "tls/tls_session.h"
#include "tls_relay_support.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;
using RelayTestClock = std::chrono::steady_clock;

// What our initiator would offer: derived by our code from the configured key.
tls::TlsPsk our_psk(const char* configured_key, const char* hostnqn) {
  return derive_client_psk(configured_key, hostnqn, kPskTestSubNqn);
}

std::string relay_peer(std::uint16_t port) { return fmt::format("{} @ 127.0.0.1:{}", kPskTestSubNqn, port); }

}  // namespace

TEST_CASE("TLS relay: 24 TLS connections at once, both suites, each echoes 256 KB intact and closes with "
          "close_notify both ways",
          "[tls][relay]") {
  EchoBackend echo;
  RunningRelay relay = start_relay({echo.port()});
  const std::uint16_t port = relay.ports().at(0);
  constexpr int kClients = 24;
  constexpr std::size_t kBytes = 256 * 1024;
  std::mutex mu;
  std::vector<std::string> problems;
  std::latch all_echoed(kClients);  // every connection open at once before any closes
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const bool sha384 = i % 2 == 1;
      auto problem = [&](const std::string& what) {
        std::lock_guard lock(mu);
        problems.push_back(fmt::format("client {}: {}", i, what));
      };
      LoopbackSocket sock;
      std::string why = sock.connect(port);
      auto session = why.empty() ? tls::tls_client_handshake(
                                       sock.fd(), our_psk(sha384 ? kLibnvmeKeySha384 : kFactsKeySha256, kPskTestHostNqn),
                                       relay_peer(port), 10000ms)
                                 : Result<std::unique_ptr<tls::TlsSession>>(make_error(Errc::Io, why));
      if (!session) {
        problem(session.error().message);
        all_echoed.count_down();
        return;
      }
      const char* want = sha384 ? "TLS 1.3 TLS_AES_256_GCM_SHA384" : "TLS 1.3 TLS_AES_128_GCM_SHA256";
      if ((*session)->describe() != want) problem("suite " + (*session)->describe());
      const auto payload = pattern(kBytes, static_cast<std::uint32_t>(i + 1));
      auto back = echo_through(sock.fd(), **session, payload);
      if (!back) {
        problem(back.error().message);
      } else if (const std::string d = byte_diff(*back, payload); !d.empty()) {
        problem("echo differs: " + d);
      }
      all_echoed.count_down();
      all_echoed.wait();
      // Our close_notify -> the backend sees EOF and closes -> the relay's close_notify.
      const std::string closed = close_and_await_peer_close(sock.fd(), **session);
      if (closed.find("closed the TLS session (close_notify)") == std::string::npos) problem("close: " + closed);
    });
  }
  for (auto& t : clients) t.join();
  INFO(fmt::format("{}", fmt::join(problems, "\n")));
  CHECK(problems.empty());
  CHECK(echo.accepted() == kClients);
  CHECK(echo.most_open() == kClients);  // the relay served them all at once

  stop_relay_cleanly(relay);
  const std::string log = relay.process->output();
  print_relay_lines(log, 2);
  INFO(log);
  const std::string bytes = fmt::format("client->backend {} bytes, backend->client {} bytes", kBytes, kBytes);
  CHECK(lines_with(log, bytes).size() == kClients);
  CHECK(lines_with(log, "TLSv1.3 TLS_AES_128_GCM_SHA256, " + bytes).size() == kClients / 2);
  CHECK(lines_with(log, "TLSv1.3 TLS_AES_256_GCM_SHA384, " + bytes).size() == kClients / 2);
  CHECK(lines_with(log, "ended: client sent close_notify, backend closed").size() == kClients);
  CHECK(lines_with(log, fmt::format("identity \"{}\"", kFactsIdentitySha256)).size() == kClients / 2);
  CHECK(lines_with(log, fmt::format("identity \"{}\"", kLibnvmeIdentitySha384)).size() == kClients / 2);
  CHECK(lines_with(log, "stopped: ").size() == 1);
  CHECK(lines_with(log, "relay stopping").empty());  // every connection had ended on its own
}

TEST_CASE("TLS relay: an identity it does not know gets handshake_failure, a wrong key under one it knows "
          "fails the binder and neither reaches the backend",
          "[tls][relay]") {
  EchoBackend echo;
  RunningRelay relay = start_relay({echo.port()});
  const std::uint16_t port = relay.ports().at(0);

  // Another host NQN: the identity our code derives is in no line of the relay's file.
  {
    LoopbackSocket sock;
    REQUIRE(sock.connect(port) == "");
    auto session = tls::tls_client_handshake(sock.fd(), our_psk(kFactsKeySha256, "nqn.psk-test-other-host"),
                                             relay_peer(port), 5000ms);
    REQUIRE_FALSE(session);
    std::printf("relay, unknown identity: %s\n", session.error().message.c_str());
    CHECK_THAT(session.error().message, Catch::Contains("the controller sent TLS alert 40 (handshake failure)"));
  }
  // The identity the relay knows, with 32 random bytes as the key.
  {
    tls::TlsPsk wrong = random_key_psk(kFactsIdentitySha256);
    LoopbackSocket sock;
    REQUIRE(sock.connect(port) == "");
    auto session = tls::tls_client_handshake(sock.fd(), std::move(wrong), relay_peer(port), 5000ms);
    REQUIRE_FALSE(session);
    std::printf("relay, wrong key: %s\n", session.error().message.c_str());
    CHECK_THAT(session.error().message, Catch::Contains("does not accept our PSK for identity"));
  }
  stop_relay_cleanly(relay);
  CHECK(echo.accepted() == 0);
  const std::string log = relay.process->output();
  print_relay_lines(log, 2);
  INFO(log);
  CHECK(lines_with(log, "identity \"NVMe1R01 nqn.psk-test-other-host nqn.psk-test-subsys ").size() == 1);
  CHECK(lines_with(log, "(unknown), no TLS session").size() == 1);
  CHECK(lines_with(log, "unknown PSK identity").size() == 1);
  CHECK(lines_with(log, fmt::format("identity \"{}\", no TLS session", kFactsIdentitySha256)).size() == 1);
  CHECK(lines_with(log, "backend->client 0 bytes").size() == 2);
}

TEST_CASE("TLS relay: SIGTERM with a TLS connection open sends it close_notify and exits 0", "[tls][relay]") {
  EchoBackend echo;
  RunningRelay relay = start_relay({echo.port()});
  const std::uint16_t port = relay.ports().at(0);
  LoopbackSocket sock;
  REQUIRE(sock.connect(port) == "");
  auto session =
      tls::tls_client_handshake(sock.fd(), our_psk(kFactsKeySha256, kPskTestHostNqn), relay_peer(port), 5000ms);
  REQUIRE(session);
  const auto payload = pattern(1000, 3);
  auto back = echo_through(sock.fd(), **session, payload);
  REQUIRE(back);
  CHECK(byte_diff(*back, payload) == "");

  const auto t0 = RelayTestClock::now();
  stop_relay_cleanly(relay);
  CHECK(RelayTestClock::now() - t0 < 2s);
  // The relay's close_notify is what our side reads next.
  CHECK_THAT(close_and_await_peer_close(sock.fd(), **session), Catch::Contains("closed the TLS session (close_notify)"));
  const std::string log = relay.process->output();
  INFO(log);
  CHECK(lines_with(log, "ended: relay stopping").size() == 1);
  CHECK(lines_with(log, "stopped: 1 connection(s) were open").size() == 1);
}


TEST_CASE("TLS relay: a PSK file it cannot use is refused with exit 2, naming the line and the rule but never a key",
          "[tls][relay]") {
  PrivateDir dir("nvme-mpath-tls-relay-bad");
  const std::string key = kFactsTlsPskSha256;
  std::string not_hex = key;
  not_hex[10] = 'g';
  const std::pair<std::string, std::string> cases[] = {
      {"# only a comment\n\n", "no \"<identity> <hex TLS PSK>\" line"},
      {"justonefield\n", "line 1: expected \"<identity> <hex TLS PSK>\""},
      {"some identity " + key.substr(0, 40) + "\n", "line 1: the TLS PSK must be 64 or 96 hex digits"},
      {"# c\nsome identity " + not_hex + "\n", "line 2: the TLS PSK's character 11 is not a hex digit"},
      {"id " + key + "\nid " + key + "\n", "line 2: identity \"id\" is listed twice"},
  };
  for (const auto& [text, says] : cases) {
    const std::string file = dir.write_file("bad.psk", text);
    const auto r = shell(fmt::format("{} --psk-file {} --listen 127.0.0.1:0=127.0.0.1:9", TLS_RELAY_BIN, file), 10);
    INFO("expected: " << says << "\ngot: " << r.out);
    CHECK(r.status == 2);
    CHECK(r.out.find(says) != std::string::npos);
    CHECK(r.out.find(key.substr(0, 16)) == std::string::npos);
    CHECK(r.out.find(not_hex.substr(0, 16)) == std::string::npos);
  }
}

}  // namespace nvmemp::test
