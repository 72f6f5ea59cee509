// The per-thread event loop: one io_uring ring drives the sockets of this thread's queue
// pairs. Per connection one receive and one sendmsg are in flight at most; all SQEs of a loop
// turn go in with one io_uring_enter (batched submission), and the CQEs are reaped in a batch.
// Queue-pair completions therefore run on this thread, inside poll(). Front ends' client
// sockets (nvmemp::Stream, e.g. the NBD export's) are served the same way on the same ring.
//
// A queue pair's receive (rx_sink.h): a recvmsg into the iovecs it offers (its staging
// buffer) in flight on the ring; inside a read's C2HData payload, non-blocking recvmsgs
// straight into the read's buffer right after the receive that brought its header (and after
// a readiness poll when the socket was drained), so payload that was not yet in the socket
// when its header came is written once, where it belongs.
//
// Owner: the thread that created it (SINGLE_ISSUER). Only post() may be called from others.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "common/clock.h"
#include "nvmemp/result.h"
#include "nvmemp/stream.h"
#include "transport/queue_pair.h"
#include "transport/record_layer.h"
#include "transport/tls_pump.h"
#include "transport/ring.h"

namespace nvmemp::transport {

// Called (on the loop thread) once the connection of a queue pair is closed: the queue pair
// has failed with `reason` and its socket is closed.
using CloseFn = void (*)(void* ctx, QueuePair& qp, const std::string& reason);

// A raw operation on the ring, for block-device I/O (multipath/block_path.h): its owner preps
// the SQE that raw_sqe() hands out and learns the CQE's result from done(), inside poll().
// The object must stay put until then (its address tags the SQE; alignas(8): low bits are
// the reactor's).
struct alignas(8) RawOp {
  void (*done)(RawOp* op, int res) = nullptr;
};

class Reactor {
 public:
  static Result<std::unique_ptr<Reactor>> create(const Clock& clock, unsigned ring_entries = 256);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Takes over a connected stream socket (non-blocking) for `qp`, which must outlive it.
  Result<void> attach(int fd, QueuePair& qp, CloseFn on_close, void* ctx);
  // The same for a connection that may carry a record layer (TLS): the reactor then receives
  // ciphertext into its own buffer and the record layer decrypts it into the queue pair.
  Result<void> attach(Connection conn, QueuePair& qp, CloseFn on_close, void* ctx);
  // The same for a front end's byte stream (nvmemp/stream.h): a client connection served on
  // this ring beside the queue pairs. `s` learns of the close through Stream::on_closed().
  Result<void> attach_stream(int fd, Stream& s);
  void close_stream(Stream& s, const std::string& reason);
  // Fails the queue pair with `reason` and closes its socket; on_close follows from poll().
  void close(QueuePair& qp, const std::string& reason);
  // close(), then turns the loop until the socket of `qp` is closed (its recv/send have
  // reported), so `qp` may be destroyed. on_close is not called. Bounded by `timeout`.
  void close_and_drain(QueuePair& qp, const std::string& reason, Nanos timeout);

  // An SQE whose completion goes to `op.done`: prep it (io_uring_prep_*) before the next
  // poll(), which submits it with the rest of the turn. Never null (a full SQ is flushed).
  io_uring_sqe* raw_sqe(RawOp& op);

  // One turn: submit sends/recvs, wait up to `timeout` for a completion, handle every ready
  // one, check command timeouts, finish closing connections. Returns the CQEs handled.
  Result<unsigned> poll(Nanos timeout);

  // Thread-safe: runs `fn` on the loop thread in a later poll(). Off the I/O path (a mutex).
  void post(std::function<void()> fn);

  std::size_t connections() const noexcept { return conns_.size(); }
  const std::string& ring_flags() const noexcept { return ring_->description(); }

 private:
  struct Conn;
  Reactor(const Clock& clock, std::unique_ptr<Ring> ring, int event_fd);
  void arm(Conn& c);
  void arm_tls(Conn& c);
  void on_tls_received(Conn& c, int res);
  void receive_direct(Conn& c);
  void on_qp_received(Conn& c, int res);
  void arm_event();
  void begin_close(Conn& c, const std::string& reason, bool orderly = false);
  void handle(std::uint64_t user_data, int res);
  void run_posted();
  io_uring_sqe* sqe();

  const Clock& clock_;
  std::unique_ptr<Ring> ring_;
  std::vector<std::unique_ptr<Conn>> conns_;
  TimePoint next_timeout_scan_{};
  int event_fd_ = -1;
  std::uint64_t event_buf_ = 0;
  bool event_armed_ = false;
  std::mutex mailbox_mu_;
  std::vector<std::function<void()>> mailbox_;
};

}  // namespace nvmemp::transport
