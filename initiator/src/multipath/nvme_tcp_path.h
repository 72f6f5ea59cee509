// The NVMe/TCP implementation of PathQueue: one I/O queue (controller/io_queue.h) of one
// controller on this thread's reactor, set up without blocking on a socket the control thread
// connected.
#pragma once

#include <functional>
#include <memory>

#include "auth/dhchap_keys.h"
#include "controller/host_identity.h"
#include "multipath/path_queue.h"
#include "transport/reactor.h"
#include "transport/tcp_connect.h"

namespace nvmemp::multipath {

struct NvmeTcpPathConfig {
  std::string subnqn;
  transport::TcpEndpoint endpoint;
  controller::HostIdentity host;
  std::uint16_t cntlid = 0;
  std::uint16_t qid = 1;
  std::uint16_t queue_size = 128;
  bool hdgst = false, ddgst = false;
  std::shared_ptr<const auth::DhchapKeys> dhchap;  // authenticate when the controller asks
  std::uint32_t max_icd = 0;
  std::uint32_t max_data_len = 0;
  Nanos io_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds connect_timeout{10000};
};

// Takes `fd` (also on failure). `on_ready` runs once from a later poll: Live, or why not.
std::unique_ptr<PathQueue> open_nvme_tcp_path(transport::Reactor& reactor, const Clock& clock,
                                              const NvmeTcpPathConfig& cfg, transport::Connection fd,
                                              transport::CompletionFn on_complete, void* ctx,
                                              std::function<void(const Result<void>&)> on_ready);

}  // namespace nvmemp::multipath
