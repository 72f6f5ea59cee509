// The per-thread state of IoEngine (io_engine.h), shared by its source files: io_engine.cc
// (submission, completions, housekeeping) and io_engine_paths.cc (topology snapshots and the
// life of each path's queue on this thread).
#pragma once

#include <array>

#include "multipath/hybrid_wait.h"
#include "multipath/io_engine.h"
#include "wire/sqe.h"

namespace nvmemp::multipath {

// One path on this thread: its queue (when connected) and what this thread knows about it.
struct IoEngine::TPath {
  PathId id = 0;
  enum class St : std::uint8_t { Down, WaitFd, Connecting, Live } st = St::Down;
  std::uint64_t generation = 0;     // association the queue belongs to (or was asked for)
  QueueCtx* q = nullptr;            // owned by `queues`
  std::unique_ptr<QueueCtx> owned;
  TimePoint retry_at{};             // earliest new queue after a failed one
  TimePoint holdoff_until{};        // not used for new I/O after a path status
  bool suspect = false;             // stalled: no new I/O until something arrives
  bool warned_qid = false;
  Nanos ewma{0};                    // average completion latency
  PathCounterSet* counters = nullptr;
};

struct IoEngine::QueueCtx {
  IoEngine* engine = nullptr;
  TPath* tp = nullptr;
  std::unique_ptr<PathQueue> q;
  std::uint64_t generation = 0;
  TimePoint busy_since{};           // when inflight went from 0 to 1
  HybridGap hybrid;                 // the gap between arrivals (PollMode::Hybrid)
};

struct IoEngine::HeadState {
  const topology::HeadView* view = nullptr;
  PathSelector selector;
  std::vector<PathCandidate> cands;  // aligned with view->paths
  std::vector<TPath*> tpaths;        // aligned with view->paths
};

struct IoEngine::Request {
  IoOp op = IoOp::Read;
  HeadId head = 0;
  std::uint64_t slba = 0;
  std::uint32_t nlb = 0;
  MutBytes rbuf;
  Bytes wbuf;
  IoCallback cb = nullptr;
  void* arg = nullptr;
  bool fua = false;
  std::array<std::uint8_t, wire::kDsmRangeLen> dsm{};  // a Deallocate's range (wbuf points here)
  unsigned retries = 0;             // same-path retries (bounded by FailoverPolicy)
  std::uint16_t ghosts = 0;         // abandoned copies still outstanding on some queue
  bool finished = false;            // the application's callback ran
  bool waiting = false;             // in waiting_
  QueueCtx* on = nullptr;           // the queue it is outstanding on
  std::uint16_t tag = 0;
  PathId avoid = 0;                 // the path it just failed on
  PathId pin = 0;                   // retry here (CRD retry)
  TimePoint not_before{};
  TimePoint held_since{};
  TimePoint sent_at{};
  Status fail_status;               // fail_later(): delivered from poll()
  std::string error;

  std::uint64_t data_bytes() const noexcept {  // what a success adds to the bytes counters
    if (!io_op_moves_data(op)) return 0;
    return op == IoOp::Read ? rbuf.size() : wbuf.size();
  }
};

}  // namespace nvmemp::multipath
