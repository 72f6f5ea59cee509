// The TLS relay tests' fixtures: the keys the relay is given (published or computed by the
// independent script tests/vectors/tls_psk_vectors.py, never by our C++), the relay started in
// front of some ports, and a plain TCP echo server to stand behind it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/tls_relay_process.h"

namespace nvmemp::test {

// auth-tls-facts.md section 4 and libnvme's test/psk.c: the host and subsystem NQNs of the
// published vectors (the simulated target takes the subsystem NQN, the Fabric the host NQN).
inline constexpr const char* kPskTestHostNqn = "nqn.psk-test-host";
inline constexpr const char* kPskTestSubNqn = "nqn.psk-test-subsys";
inline constexpr const char* kRelayDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";
// The 32-byte configured key (HH 01), its v1 identity (libnvme) and v1 TLS PSK (facts sheet).
inline constexpr const char* kFactsKeySha256 = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
inline constexpr const char* kFactsIdentitySha256 =
    "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=";
inline constexpr const char* kFactsTlsPskSha256 = "8fc3c0badfd4c0c66fa3ca33aadd0314f85536cc9bc47338b60f3e6e563786ca";
// The 48-byte configured key (HH 02) and its v1 identity, both from libnvme's test/psk.c; its
// TLS PSK is published nowhere: tls_psk_vectors.json has it, computed by the Python script.
inline constexpr const char* kLibnvmeKeySha384 =
    "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:";
inline constexpr const char* kLibnvmeIdentitySha384 =
    "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
    "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a";

// The relay's PSK file: the SHA-256 line from the facts sheet, the SHA-384 line and the
// discovery subsystem's line from tests/vectors/tls_psk_vectors.json (CHECKs the script's
// SHA-256 entry to equal the facts sheet's and its identities libnvme's).
std::string relay_psk_file_text();

struct RunningRelay {
  std::unique_ptr<PrivateDir> dir;
  std::unique_ptr<TlsRelayProcess> process;
  const std::vector<std::uint16_t>& ports() const { return process->ports(); }
};
// nvme-mpath-tls-relay in front of 127.0.0.1:<each port> with relay_psk_file_text(); REQUIREs
// that it listens.
RunningRelay start_relay(const std::vector<std::uint16_t>& backend_ports);

// SIGTERM: REQUIREs that the relay exits, and CHECKs that it exits 0.
void stop_relay_cleanly(RunningRelay& relay);
// Prints the relay's first `most` connection lines (for the test's output).
void print_relay_lines(const std::string& log, std::size_t most);

// A plain TCP echo server on 127.0.0.1 (ephemeral port): every connection on a thread of its
// own, echoing until EOF (then it closes) or 60 s. Counts connections, and the most open at once.
class EchoBackend {
 public:
  EchoBackend();
  ~EchoBackend();
  EchoBackend(const EchoBackend&) = delete;
  EchoBackend& operator=(const EchoBackend&) = delete;
  std::uint16_t port() const { return port_; }
  unsigned accepted() const { return accepted_.load(); }
  unsigned most_open() const { return most_open_.load(); }

 private:
  void accept_loop();
  void echo(int fd);

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> accepted_{0}, open_{0}, most_open_{0};
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::thread acceptor_;
};

}  // namespace nvmemp::test
