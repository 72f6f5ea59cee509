// The daemon's NBD export: listens on the configured Unix sockets (and 127.0.0.1 ports),
// accepts clients on an acceptor thread, and serves each client on one of `io_threads` I/O
// threads, whose IoContext ring carries both the client's socket and the NVMe queues
// (nbd_connection.h). Connections are spread round-robin over the threads.
//
// An export is resolved to its namespace head when a client connects (the head may appear
// after the daemon started, once a path is up); a client asking for an export whose head does
// not exist yet gets NBD_REP_ERR_UNKNOWN for it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "nbd_connection.h"
#include "nvmemp/mpath.h"

namespace nvmemp::mpathd {

// "nbd+unix:///NAME?socket=PATH" and, with a TCP port, "nbd://127.0.0.1:PORT/NAME".
std::vector<std::string> export_uris(const ExportConfig& e);

// What one export announces for the head behind it (size, block sizes, TRIM/WRITE_ZEROES as
// every path supports them), or why it cannot be served.
Result<ExportTarget> export_target(const ExportConfig& e, const HeadInfo& head);

class NbdServer {
 public:
  // Binds every listener (a stale socket file of an earlier run is replaced; a path held by
  // something else that is not a socket is an error) and starts the threads.
  static Result<std::unique_ptr<NbdServer>> start(Fabric& fabric, std::vector<ExportConfig> exports,
                                                  unsigned io_threads);
  // Stops accepting, lets every client's requests in flight finish (bounded by
  // `drain_timeout`), closes the connections and joins the threads; removes the socket files.
  ~NbdServer();
  void stop(std::chrono::milliseconds drain_timeout = std::chrono::milliseconds(10000));

  std::size_t connections() const noexcept { return connections_.load(); }
  // Head id -> URIs of the exports that resolve to it now (for `list`). Calls the fabric.
  std::map<std::uint32_t, std::vector<std::string>> exports_by_head() const;

 private:
  struct Listener {
    int fd = -1;
    std::string unix_path;  // empty for TCP
    std::string where;      // for logs
    std::vector<std::size_t> exports;  // indexes into exports_
  };
  struct Worker;

  NbdServer(Fabric& fabric, std::vector<ExportConfig> exports);
  Result<void> listen_all();
  void accept_loop();
  void accepted(int fd, const Listener& l, std::string peer);
  Result<HeadInfo> resolve(const ExportConfig& e) const;

  Fabric& fabric_;
  std::vector<ExportConfig> exports_;
  std::vector<Listener> listeners_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread acceptor_;
  int wake_fd_ = -1;  // eventfd: stop() wakes the acceptor
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  std::size_t next_worker_ = 0;
  bool stopped_ = false;
};

}  // namespace nvmemp::mpathd
