// The Fabric's implementation, shared by its source files: fabric.cc (the control thread,
// paths, topology, I/O contexts) and fabric_discovery.cc (connect-all and persistent
// discovery controllers). Internal: applications use nvmemp/mpath.h.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "controller/controller.h"
#include "discovery/discovery.h"
#include "multipath/io_engine.h"
#include "nvmemp/mpath.h"
#include "topology/topology.h"

namespace nvmemp::detail {

using namespace std::chrono_literals;
using controller::Controller;
using controller::CtrlState;
using multipath::IoEngine;
using topology::HeadId;
using topology::PathId;
using topology::TopologySnapshot;


// Bring-up can take connect_timeout plus a few admin commands; a public call never waits
// longer than this for the control thread.
constexpr auto kCallBound = 180s;

// contexts_[i] while create_io_context() makes its engine: the slot is taken, no engine yet.
inline IoEngine* reserved_context() noexcept { return reinterpret_cast<IoEngine*>(1); }
// A slot holding a working engine (not free, not reserved).
inline bool engine_ready(IoEngine* e) noexcept { return e != nullptr && e != reserved_context(); }

class FabricImpl;

// A subsystem's I/O rules from its knobs (no_path_retry, max_retries, write_failover_delay).
topology::HeadRules rules_of(const FabricOptions& o);

// An I/O context as handed to the application: unregisters from the fabric before the engine
// (and its reactor) go away.
class ContextHandle final : public IoContext {
 public:
  ContextHandle(FabricImpl& f, std::unique_ptr<IoEngine> e) : fabric_(f), engine_(std::move(e)) {}
  ~ContextHandle() override;
  Result<void> read(std::uint32_t h, std::uint64_t slba, std::uint32_t nlb, std::span<std::uint8_t> b, IoCallback cb,
                    void* a) override {
    return engine_->read(h, slba, nlb, b, cb, a);
  }
  Result<void> write(std::uint32_t h, std::uint64_t slba, std::uint32_t nlb, std::span<const std::uint8_t> b,
                     IoCallback cb, void* a) override {
    return engine_->write(h, slba, nlb, b, cb, a);
  }
  Result<void> write_fua(std::uint32_t h, std::uint64_t slba, std::uint32_t nlb, std::span<const std::uint8_t> b,
                         IoCallback cb, void* a) override {
    return engine_->write_fua(h, slba, nlb, b, cb, a);
  }
  Result<void> flush(std::uint32_t h, IoCallback cb, void* a) override { return engine_->flush(h, cb, a); }
  Result<void> write_zeroes(std::uint32_t h, std::uint64_t slba, std::uint32_t nlb, bool fua, IoCallback cb,
                            void* a) override {
    return engine_->write_zeroes(h, slba, nlb, fua, cb, a);
  }
  Result<void> deallocate(std::uint32_t h, std::uint64_t slba, std::uint32_t nlb, IoCallback cb, void* a) override {
    return engine_->deallocate(h, slba, nlb, cb, a);
  }
  Result<void> attach_stream(int fd, Stream& s) override { return engine_->attach_stream(fd, s); }
  void close_stream(Stream& s, const std::string& why) override { engine_->close_stream(s, why); }
  void post(std::function<void()> fn) override { engine_->post(std::move(fn)); }
  Result<unsigned> poll(std::chrono::nanoseconds t) override { return engine_->poll(t); }
  std::size_t outstanding() const noexcept override { return engine_->outstanding(); }
  void set_poll_mode(PollMode m) noexcept override { engine_->set_poll_mode(m); }
  PollMode poll_mode() const noexcept override { return engine_->poll_mode(); }
  bool ready(std::uint32_t h) const noexcept override { return engine_->ready(h); }

 private:
  FabricImpl& fabric_;
  std::unique_ptr<IoEngine> engine_;
};

class FabricImpl final : public Fabric, public multipath::ControlLink {
 public:
  explicit FabricImpl(FabricOptions opts) : opts_(std::move(opts)) {}
  ~FabricImpl() override;

  Result<void> init();

  // Fabric
  Result<PathInfo> connect(const Endpoint& ep, const std::string& subnqn) override;
  Result<PathInfo> connect(const Endpoint& ep, const std::string& subnqn, const FabricOptions& knobs) override;
  Result<void> set_subsystem_rules(const std::string& subnqn, const FabricOptions& knobs) override;
  Result<std::vector<PathInfo>> connect_all(const Endpoint& discovery, const std::string& subnqn) override;
  Result<std::vector<PathInfo>> connect_all(const Endpoint& discovery, const std::string& subnqn,
                                            const FabricOptions& knobs) override;
  Result<void> disconnect(std::uint16_t path_id) override;
  Result<PathInfo> reauthenticate(std::uint16_t path_id) override;  // fabric_reauth.cc
  Result<PathInfo> reset(std::uint16_t path_id) override;           // fabric_reset.cc
  Result<PathInfo> set_block_path(const BlockPathSpec& spec) override;
  Result<void> remove_block_path(const std::string& dev_node) override;
  Result<void> set_policy(const std::string& subnqn, IoPolicy policy) override;
  Result<HeadInfo> find_head(const std::string& subnqn, std::uint32_t nsid) override;
  Result<HeadInfo> find_wwid(const std::string& wwid) override;
  TopologyInfo topology() override;
  Result<std::unique_ptr<IoContext>> create_io_context() override;
  Result<std::uint32_t> watch_discovery(const Endpoint& ep, DiscoveryFn on_log) override;
  Result<std::uint32_t> watch_discovery(const Endpoint& ep, DiscoveryFn on_log, const FabricOptions& knobs) override;
  Result<void> unwatch_discovery(std::uint32_t watch) override;

  // ControlLink (I/O threads)
  void request_queue(unsigned context, PathId path, std::uint64_t generation) override;
  void report_stall(PathId path, std::uint64_t generation, const std::string& why) override;
  void report_ana_error(PathId path) override;
  void report_path_error(PathId path, std::uint64_t generation, const std::string& why) override;
  void report_queue_refused(unsigned context, PathId path, std::uint64_t generation,
                            const std::string& why) override;
  void tick_refused_queues();  // fabric_link.cc: the resets report_queue_refused scheduled

  void release_context(unsigned index);

 private:
  struct Entry {
    PathId id = 0;
    std::unique_ptr<Controller> ctrl;
    topology::ConnectionKey key;
    std::uint64_t generation = 0;  // bring-ups that reached Live
    std::uint64_t reconnects = 0;
    TimePoint down_since{};
    bool probing = false;
    bool removed = false;          // destroy at the end of the loop turn
    bool fail_fast = false;        // as last published
    std::shared_ptr<topology::PathCounterSet> counters;  // new_counters()
    std::optional<std::chrono::system_clock::time_point> ana_changed;
    std::chrono::microseconds ana_took{0};
    TimePoint ana_error_at{};      // an I/O saw an ANA status: the re-read's start
    Nanos io_timeout{0};           // this path's knobs (its subsystem's)
    Nanos stall_timeout{0};
    std::chrono::milliseconds probe_timeout{1000};
    // I/O queue Connects this association refused with DNR: the contexts, the first reason,
    // and when the controller is reset for it (reconnect_delay after the first). Cleared on Live.
    std::vector<unsigned> queues_refused;
    std::string queue_error;
    TimePoint refused_reset_at{};
  };

  // A block-device (SCSI) path (fabric_block.cc).
  struct BlockEntry {
    PathId id = 0;
    BlockPathSpec spec;
    topology::ConnectionKey key;
    std::uint64_t generation = 1;  // bumps when it comes back into service
    bool failed = false;           // out of service: a path error and a failed probe
    bool probing = false;
    std::uint64_t reconnects = 0;  // times it came back into service
    std::string last_error;
    TimePoint reprobe_at{};
    std::shared_ptr<topology::PathCounterSet> counters;  // new_counters()
  };
  // A block probe running on its own thread; joined once it has posted its answer.
  struct Probe {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
  };

  // A persistent discovery controller (fabric_discovery.cc).
  struct Watch {
    std::uint32_t id = 0;
    Endpoint endpoint;
    std::string source;            // "127.0.0.1:8009"
    std::shared_ptr<const tls::TlsPsk> tls;  // over TLS with this PSK (the discovery NQN's); null: plain
    std::unique_ptr<Controller> ctrl;
    DiscoveryFn on_log;
    TimePoint retry_at{};          // the first connect failed: a new controller then
    RetryLog retry;                // those failures, in a few lines
    bool reading = false;          // a log read is in flight
    bool reread = false;           // an event came during it: read again after it
    bool removed = false;          // unwatch_discovery(): shutting down
    bool shut = false;             // ... and done: destroyed at the end of the loop turn
  };

  // A reauthenticate() under way (fabric_reauth.cc): the I/O contexts still to answer.
  struct ReauthJob {
    PathId path = 0;
    std::vector<unsigned> waiting;  // context indexes
    std::optional<Error> error;     // the first queue's
    unsigned renewed = 0;           // I/O queues re-authenticated
    TimePoint deadline{};
    std::function<void(Result<PathInfo>)> reply;
    bool done = false;
  };
  void reauth_io_queues(std::shared_ptr<ReauthJob> job);
  void reauth_answered(ReauthJob& job, unsigned context, const Result<std::string>& r);
  void reauth_finish(ReauthJob& job);
  void tick_reauth();  // jobs past their deadline; done jobs dropped
  void reauth_context_gone(unsigned context);

  // A reset() under way (fabric_reset.cc): answered when the controller is live again.
  struct ResetJob {
    PathId path = 0;
    std::uint64_t reconnects = 0;  // the entry's count when the reset began
    TimePoint deadline{};
    std::function<void(Result<PathInfo>)> reply;
    bool done = false;
  };
  void tick_reset();  // answers the jobs whose controller is back, gave up, or ran out of time

  // Runs fn on the control thread and waits for the value it hands to `reply`.
  template <class T>
  T call(std::function<void(std::function<void(T)>)> fn, T on_timeout);
  void loop();
  Entry* entry(PathId id);
  // The NVMe/TCP path `id` for an operation SCSI paths do not have (reset, reauthenticate):
  // NotFound when there is no such path, Unsupported with `scsi_hint` when it is a SCSI one.
  Result<Entry*> tcp_entry(PathId id, const char* scsi_hint);
  Entry* add_entry(const Endpoint& ep, const std::string& subnqn, const FabricOptions& knobs, Result<PathId>& id);
  void start_controller(Entry& e, std::function<void(Result<PathInfo>)> reply);
  void update(Entry& e);
  void publish();
  // A counter set with one slot per I/O context this fabric may have (topology/counters.h).
  template <class Set>
  std::shared_ptr<Set> new_counters() const {
    return std::make_shared<Set>(opts_.max_io_contexts);
  }
  // Where the snapshot's heads and (head, path) pairs count; forgets those no longer in it.
  void attach_counters(TopologySnapshot& s);
  PathInfo path_info(const Entry& e) const;
  HeadInfo head_info(const topology::HeadView& h, const TopologySnapshot& s) const;
  Watch* watch(std::uint32_t id);
  void start_watch(Watch& w);
  void read_watch(std::uint32_t id);
  void tick_watches();
  BlockEntry* block(PathId id);
  BlockEntry* block(const std::string& dev_node);
  void update_block(BlockEntry& b);
  void drop_block(BlockEntry* b);  // out of the topology and forgotten
  PathInfo block_info(const BlockEntry& b) const;
  void probe_block(BlockEntry& b, const std::string& why);
  void tick_blocks();
  Result<int> open_block(PathId path, std::uint64_t generation);

  FabricOptions opts_;
  controller::HostIdentity host_;
  SteadyClock clock_;
  std::unique_ptr<transport::Reactor> reactor_;
  std::thread thread_;
  std::thread::id thread_id_;
  std::atomic<bool> stop_{false};
  // Control thread only:
  topology::Topology topo_;
  topology::SnapshotPublisher<TopologySnapshot> publisher_;
  std::vector<std::unique_ptr<Entry>> entries_;
  // Counter sets of the heads and of each (head, path) in the snapshot; an entry goes with its
  // head or path (publish()).
  std::unordered_map<HeadId, std::shared_ptr<topology::HeadCounterSet>> head_counters_;
  std::map<std::pair<HeadId, PathId>, std::shared_ptr<topology::HeadPathCounterSet>> head_path_counters_;
  std::vector<IoEngine*> contexts_;
  std::vector<std::unique_ptr<discovery::Discovery>> discoveries_;
  std::vector<std::unique_ptr<Watch>> watches_;
  std::vector<std::unique_ptr<Controller>> retired_;  // replaced watch controllers, winding down
  std::vector<std::unique_ptr<BlockEntry>> blocks_;
  std::vector<Probe> probes_;
  std::vector<std::shared_ptr<ReauthJob>> reauth_jobs_;
  std::vector<ResetJob> reset_jobs_;
  std::uint32_t next_watch_ = 1;
  bool dirty_ = false;
};

template <class T>
T FabricImpl::call(std::function<void(std::function<void(T)>)> fn, T on_timeout) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  auto reply = [promise, done = std::make_shared<bool>(false)](T v) {
    if (*done) return;
    *done = true;
    promise->set_value(std::move(v));
  };
  if (std::this_thread::get_id() == thread_id_) {
    fn(reply);
  } else {
    reactor_->post([fn, reply] { fn(reply); });
  }
  if (future.wait_for(kCallBound) != std::future_status::ready) return on_timeout;
  return future.get();
}

}  // namespace nvmemp::detail
