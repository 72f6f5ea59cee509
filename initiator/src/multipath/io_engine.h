// The data plane of one I/O thread (the IoContext of nvmemp/mpath.h): routing, requeue,
// failover, stall (blackhole) detection and no-path holding, on this thread's reactor only.
//
// Flow: read()/write()/flush() take a Request from a preallocated pool and dispatch() it: the
// head's per-thread PathSelector picks a path from the current topology snapshot and the
// path's PathQueue sends it. The completion comes back here on the same thread; a failed one
// goes through decide_disposition(): complete, retry on the same path after the CRD delay,
// fail over (at once, or for a write lost with its connection after the old controller can no
// longer execute it), or fail. A request with no usable path waits in `waiting_` under the
// no_path_retry rule.
//
// Stall detection: a queue with commands outstanding that has received nothing for
// max(stall_timeout, 8 x its average latency) is suspected: new I/O avoids it, its reads are
// abandoned there (their late data is dropped, see PathQueue::abandon_read) and re-issued on
// another path, and the control thread is told, which probes the controller with a Keep Alive
// and resets it when the probe is not answered. Writes stay until the connection is torn down.
// The first byte that arrives on the queue clears the suspicion.
//
// The only contact with other threads: the snapshot mailbox (picked up in poll()) and the
// ControlLink calls, all rare events (queue set-up, stall, ANA error).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/host_identity.h"
#include "topology/counters.h"
#include "multipath/disposition.h"
#include "multipath/path_queue.h"
#include "multipath/path_selector.h"
#include "nvmemp/mpath.h"
#include "topology/snapshot.h"
#include "topology/snapshot_mailbox.h"
#include "transport/reactor.h"

namespace nvmemp::multipath {

using topology::HeadId;
using topology::bump;
using topology::bump_all;
using topology::count_done;
using topology::HeadPathSlot;
using topology::HeadSlot;
using topology::IoTally;
using topology::PathCounterSet;
using topology::PathSlot;
using topology::PathId;
using topology::TopologySnapshot;

// What an I/O thread asks of the control thread. Called on the I/O thread; implementations
// hand the work over (Reactor::post) and answer through IoEngine::deliver_fd().
class ControlLink {
 public:
  virtual ~ControlLink() = default;
  // Connect a TCP socket for this context's I/O queue to `path` (association `generation`).
  virtual void request_queue(unsigned context, PathId path, std::uint64_t generation) = 0;
  // A queue of `path` stalled: probe the controller, reset it when it does not answer.
  virtual void report_stall(PathId path, std::uint64_t generation, const std::string& why) = 0;
  // An I/O on `path` returned an ANA status: re-read the ANA log.
  virtual void report_ana_error(PathId path) = 0;
  // An I/O on block-device path `path` failed with a path errno: probe the path, take it out
  // of service when the probe fails (multipath/block_path.h).
  virtual void report_path_error(PathId path, std::uint64_t generation, const std::string& why) = 0;
  // The controller of `path` refused this context's I/O queue Connect with DNR (e.g. Connect
  // Invalid Parameters): the context does not ask again in this association; the control
  // thread reports it and resets the controller after reconnect_delay.
  virtual void report_queue_refused(unsigned context, PathId path, std::uint64_t generation,
                                    const std::string& why) = 0;
};

struct EngineOptions {
  controller::HostIdentity host;
  std::chrono::milliseconds connect_timeout{10000};
  Nanos io_timeout = std::chrono::seconds(30);
  Nanos stall_timeout = std::chrono::milliseconds(300);
  Nanos queue_retry = std::chrono::seconds(1);  // after an I/O queue failed to connect
  Nanos path_error_holdoff = std::chrono::seconds(1);  // after a path status from a live path
  FailoverPolicy failover;
  NoPathRetry no_path_retry;
  std::size_t max_requests = 4096;
  PollMode poll_mode = PollMode::Interrupt;
};

// Makes the PathQueue of one path on this thread from a connected socket (nvme_tcp_path.h).
struct QueueSetup {
  const topology::PathView* path;
  std::uint16_t qid;
  int fd;
};

class IoEngine final : public IoContext {
 public:
  IoEngine(unsigned index, std::unique_ptr<transport::Reactor> reactor, const Clock& clock,
           EngineOptions opts, ControlLink& link);
  ~IoEngine() override;

  // For the control thread: where snapshots are posted (thread-safe) and where the answer to
  // request_queue() goes (post it with reactor().post()).
  topology::SnapshotMailbox<TopologySnapshot>& mailbox() noexcept { return mailbox_; }
  transport::Reactor& reactor() noexcept { return *reactor_; }
  unsigned index() const noexcept { return index_; }
  // On this thread: the socket asked for with request_queue(), or why there is none.
  void deliver_fd(PathId path, std::uint64_t generation, Result<transport::Connection> fd);
  // On this thread: renews the authentication of this context's live queue to `path`
  // (PathQueue::reauthenticate). `done` once, from this thread: the negotiated pair, "" when this
  // context has no live queue there (nothing to renew), or the queue's error.
  void reauthenticate(PathId path, PathQueue::ReauthFn done);

  // IoContext
  Result<void> read(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, std::span<std::uint8_t> buf,
                    IoCallback cb, void* arg) override;
  Result<void> write(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb,
                     std::span<const std::uint8_t> buf, IoCallback cb, void* arg) override;
  Result<void> write_fua(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb,
                         std::span<const std::uint8_t> buf, IoCallback cb, void* arg) override;
  Result<void> flush(std::uint32_t head, IoCallback cb, void* arg) override;
  Result<void> write_zeroes(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, bool fua, IoCallback cb,
                            void* arg) override;
  Result<void> deallocate(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, IoCallback cb,
                          void* arg) override;
  Result<unsigned> poll(std::chrono::nanoseconds timeout) override;
  std::size_t outstanding() const noexcept override { return outstanding_; }
  void set_poll_mode(PollMode mode) noexcept override { mode_ = mode; }
  PollMode poll_mode() const noexcept override { return mode_; }
  bool ready(std::uint32_t head) const noexcept override;
  Result<void> attach_stream(int fd, Stream& stream) override;
  void close_stream(Stream& stream, const std::string& why) override { reactor_->close_stream(stream, why); }
  void post(std::function<void()> fn) override { reactor_->post(std::move(fn)); }

 private:
  struct TPath;
  struct HeadState;
  struct Request;
  struct QueueCtx;

  Result<void> submit(IoOp op, std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, MutBytes rbuf,
                      Bytes wbuf, IoCallback cb, void* arg, bool fua = false);
  void refresh_topology();
  void dispatch(Request* r);
  void hold(Request* r, HeadState& hs);
  void finish(Request* r, Status st, const char* error);
  void fail_later(Request* r, Status st, std::string error);
  void run_deferred();
  void release(Request* r);
  void on_complete(QueueCtx& q, const transport::Completion& c);
  static void completion_trampoline(void* ctx, const transport::Completion& c);
  void run_waiting();
  // The wait of one poll() (io_engine_poll.cc): asleep in the ring, or polling it (busy, hybrid).
  Result<unsigned> wait_ring(Nanos wait);
  Result<unsigned> spin_ring(TimePoint deadline);
  bool commands_in_flight() const noexcept;
  TimePoint hybrid_poll_from();
  void scan_paths();
  void suspect(TPath& tp, Nanos quiet);
  void close_queue(TPath& tp, const std::string& why);
  void request_queue(TPath& tp, const topology::PathView& pv);
  TPath* tpath(PathId id);
  HeadState* head_state(HeadId id);
  // Reads the clock only while the path is held off after a path error (an expired hold-off is
  // cleared), not once per path per I/O.
  bool usable_here(TPath* tp, const topology::PathView& pv) const;
  // This context's counter slot of a head, and of a head's namespace on one of its paths (null
  // when the head or the path is not in the snapshot).
  HeadSlot* head_slot(HeadState* hs) noexcept;
  HeadPathSlot* head_path_slot(HeadState* hs, const TPath& tp) noexcept;

  unsigned index_;
  std::unique_ptr<transport::Reactor> reactor_;
  const Clock& clock_;
  EngineOptions opts_;
  ControlLink& link_;
  topology::SnapshotMailbox<TopologySnapshot> mailbox_;
  const TopologySnapshot* snap_ = nullptr;

  std::vector<std::unique_ptr<TPath>> paths_;
  std::vector<std::unique_ptr<QueueCtx>> graveyard_;  // closing queues, freed once closed()
  std::vector<HeadState> heads_;
  std::unordered_map<HeadId, std::size_t> head_index_;

  std::vector<Request> pool_;
  std::vector<Request*> free_;
  std::vector<Request*> waiting_;    // delayed retries/failovers and held requests
  std::vector<Request*> deferred_;   // failed without a completion: finished in poll()
  std::vector<Request*> scratch_;    // the batch being worked through (waiting_ or deferred_)
  bool waiting_dirty_ = false;       // something changed that may let waiting requests go
  std::size_t outstanding_ = 0;      // submitted by the application, not yet completed
  unsigned callbacks_ = 0;           // run in the current poll()
  PollMode mode_ = PollMode::Interrupt;
  TimePoint last_yield_{};           // busy/hybrid: when this thread last gave up the CPU
  Nanos oversleep_{0};               // hybrid: how late a timed sleep in the ring ends (EWMA)
  std::uint64_t turn_ = 0;           // poll() turns: round-robin moves on once per turn
  TimePoint next_scan_{};
  std::string msg_;                  // error text handed to a callback
};

}  // namespace nvmemp::multipath
