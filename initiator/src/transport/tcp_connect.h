// TCP connection set-up for a queue pair, on the control thread (never on an I/O thread:
// a connect to a dead address must not stall I/O). The socket comes back non-blocking with
// TCP_NODELAY, ready to hand to a Reactor.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "nvmemp/result.h"

namespace nvmemp::transport {

struct TcpEndpoint {
  std::string traddr;       // IPv4 or IPv6 literal
  std::uint16_t trsvcid = 0;
  std::string host_traddr;  // local address to bind (nvme-cli host_traddr), empty: any
  std::string host_iface;   // local interface (SO_BINDTODEVICE, nvme-cli host_iface), empty: any
};

// Connects within `timeout`. Errors name the address and what failed ("connection refused").
Result<int> tcp_connect(const TcpEndpoint& ep, std::chrono::milliseconds timeout);

std::string endpoint_name(const TcpEndpoint& ep);  // "127.0.0.1:4420" / "[::1]:4420"

}  // namespace nvmemp::transport
