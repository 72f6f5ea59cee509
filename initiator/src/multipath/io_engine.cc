#include "multipath/io_engine.h"
#include "multipath/io_engine_state.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/log.h"

namespace nvmemp::multipath {

using namespace std::chrono_literals;

namespace {

// Status of an I/O the host fails itself: no path left (Host Pathing Error, DNR: the
// application has been told, nothing retries it further) and a head that vanished.
constexpr Status kNoPath = Status::from_parts(Status::kSctPath, Status::kScHostPathError, true);
constexpr Status kHeadGone = Status::from_parts(Status::kSctGeneric, 0x0B, true);  // Invalid Namespace or Format

bool is_ana_status(const Status& st) {
  return st.sct() == Status::kSctPath && st.sc() >= Status::kScAnaPersistentLoss &&
         st.sc() <= Status::kScAnaTransition;
}

}  // namespace

IoEngine::IoEngine(unsigned index, std::unique_ptr<transport::Reactor> reactor, const Clock& clock,
                   EngineOptions opts, ControlLink& link)
    : index_(index),
      reactor_(std::move(reactor)),
      clock_(clock),
      opts_(std::move(opts)),
      link_(link),
      mailbox_([r = reactor_.get()] { r->post([] {}); }) {
  pool_.resize(opts_.max_requests);
  free_.reserve(pool_.size());
  mode_ = opts_.poll_mode;
  for (auto& r : pool_) free_.push_back(&r);
  waiting_.reserve(pool_.size());
  deferred_.reserve(pool_.size());
  scratch_.reserve(pool_.size());
}

IoEngine::~IoEngine() {
  // Queues first (their destructors drain the sockets on this reactor), then the reactor.
  for (auto& tp : paths_) tp->owned.reset();
  graveyard_.clear();
}

IoEngine::TPath* IoEngine::tpath(PathId id) {
  for (auto& p : paths_) {
    if (p->id == id) return p.get();
  }
  return nullptr;
}

IoEngine::HeadState* IoEngine::head_state(HeadId id) {
  auto it = head_index_.find(id);
  return it == head_index_.end() ? nullptr : &heads_[it->second];
}

bool IoEngine::usable_here(TPath* tp, const topology::PathView& pv) const {
  if (tp == nullptr || !pv.live || tp->st != TPath::St::Live || tp->generation != pv.generation || tp->suspect) {
    return false;
  }
  if (tp->holdoff_until != TimePoint{}) {
    if (clock_.now() < tp->holdoff_until) return false;
    tp->holdoff_until = TimePoint{};
  }
  return true;
}

bool IoEngine::ready(std::uint32_t head) const noexcept {
  auto it = head_index_.find(head);
  if (it == head_index_.end()) return false;
  const HeadState& hs = heads_[it->second];
  for (std::size_t i = 0; i < hs.cands.size(); ++i) {
    const auto& pv = snap_->paths[hs.view->paths[i].path_index];
    PathCandidate c = hs.cands[i];
    c.set_usable(usable_here(hs.tpaths[i], pv));
    if (path_selectable(c)) return true;
  }
  return false;
}

Result<void> IoEngine::attach_stream(int fd, Stream& stream) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    return make_error(Errc::Io, fmt::format("I/O context {}: fcntl O_NONBLOCK on fd {}: {}", index_, fd,
                                            std::strerror(errno)));
  }
  return reactor_->attach_stream(fd, stream);
}

// ---- submission -------------------------------------------------------------------------------

Result<void> IoEngine::read(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, std::span<std::uint8_t> buf,
                            IoCallback cb, void* arg) {
  return submit(IoOp::Read, head, slba, nlb, buf, {}, cb, arg);
}

Result<void> IoEngine::write(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb,
                             std::span<const std::uint8_t> buf, IoCallback cb, void* arg) {
  return submit(IoOp::Write, head, slba, nlb, {}, buf, cb, arg);
}

Result<void> IoEngine::write_fua(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb,
                                 std::span<const std::uint8_t> buf, IoCallback cb, void* arg) {
  return submit(IoOp::Write, head, slba, nlb, {}, buf, cb, arg, true);
}

Result<void> IoEngine::flush(std::uint32_t head, IoCallback cb, void* arg) {
  return submit(IoOp::Flush, head, 0, 0, {}, {}, cb, arg);
}

Result<void> IoEngine::write_zeroes(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, bool fua,
                                    IoCallback cb, void* arg) {
  return submit(IoOp::WriteZeroes, head, slba, nlb, {}, {}, cb, arg, fua);
}

Result<void> IoEngine::deallocate(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, IoCallback cb,
                                  void* arg) {
  return submit(IoOp::Deallocate, head, slba, nlb, {}, {}, cb, arg);
}

Result<void> IoEngine::submit(IoOp op, std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, MutBytes rbuf,
                              Bytes wbuf, IoCallback cb, void* arg, bool fua) {
  refresh_topology();
  HeadState* hs = head_state(head);
  if (hs == nullptr) {
    return make_error(Errc::NotFound, fmt::format("namespace head {} does not exist (any more): look it up again "
                                                  "with find_head()", head));
  }
  const auto& hv = *hs->view;
  if (op == IoOp::WriteZeroes || op == IoOp::Deallocate) {
    const std::uint64_t most = op == IoOp::WriteZeroes ? wire::kMaxNlb : 0xffffffffu;
    if (nlb == 0 || nlb > most) {
      return make_error(Errc::InvalidArgument, fmt::format("{} nsid {}: {} of {} blocks: 1 to {} blocks per command",
                                                           hv.subnqn, hv.nsid, io_op_name(op), nlb, most));
    }
    if (slba + nlb > hv.geometry.nsze || slba + nlb < slba) {
      return make_error(Errc::InvalidArgument, fmt::format("{} nsid {}: blocks {}..{} are past the end ({} blocks)",
                                                           hv.subnqn, hv.nsid, slba, slba + nlb - 1, hv.geometry.nsze));
    }
  } else if (op != IoOp::Flush) {
    const std::uint64_t len = std::uint64_t{nlb} * hv.geometry.lba_size;
    const std::size_t have = op == IoOp::Read ? rbuf.size() : wbuf.size();
    if (nlb == 0 || len != have) {
      return make_error(Errc::InvalidArgument, fmt::format("{} nsid {}: {} blocks of {} bytes need a {}-byte buffer, "
                                                           "got {}", hv.subnqn, hv.nsid, nlb, hv.geometry.lba_size,
                                                           len, have));
    }
    if (slba + nlb > hv.geometry.nsze || slba + nlb < slba) {
      return make_error(Errc::InvalidArgument, fmt::format("{} nsid {}: blocks {}..{} are past the end ({} blocks)",
                                                           hv.subnqn, hv.nsid, slba, slba + nlb - 1, hv.geometry.nsze));
    }
    if (hv.limits.max_data_len != 0 && len > hv.limits.max_data_len) {
      return make_error(Errc::InvalidArgument, fmt::format("{} nsid {}: {} bytes exceed the largest transfer of its "
                                                           "paths, {} bytes: split the I/O", hv.subnqn, hv.nsid, len,
                                                           hv.limits.max_data_len));
    }
  }
  if (free_.empty()) {
    return make_error(Errc::InvalidArgument, fmt::format("I/O context {}: {} I/Os outstanding already (the most): "
                                                         "poll() before submitting more", index_, pool_.size()));
  }
  Request* r = free_.back();
  free_.pop_back();
  *r = Request{};
  r->op = op;
  r->head = head;
  r->slba = slba;
  r->nlb = nlb;
  r->rbuf = rbuf;
  r->wbuf = wbuf;
  r->cb = cb;
  r->arg = arg;
  r->fua = fua;
  if (op == IoOp::Deallocate) {
    const wire::DsmRange range{slba, nlb};
    const auto enc = wire::encode_dsm_ranges(std::span(&range, 1));
    std::copy(enc.begin(), enc.end(), r->dsm.begin());
    r->wbuf = Bytes(r->dsm.data(), r->dsm.size());
  }
  ++outstanding_;
  dispatch(r);
  return {};
}

void IoEngine::dispatch(Request* r) {
  HeadState* hs = head_state(r->head);
  if (hs == nullptr) {
    fail_later(r, kHeadGone,
               fmt::format("namespace head {} was removed from the topology while the I/O was outstanding", r->head));
    return;
  }
  const auto& hv = *hs->view;
  int pinned = -1;
  for (std::size_t i = 0; i < hs->cands.size(); ++i) {
    const auto& pv = snap_->paths[hv.paths[i].path_index];
    TPath* tp = hs->tpaths[i];
    auto& c = hs->cands[i];
    c.set_usable_inflight(usable_here(tp, pv) && pv.id != r->avoid,
                          (tp != nullptr && tp->q != nullptr) ? tp->q->q->inflight() : 0);
    if (r->pin == pv.id && path_selectable(c)) pinned = static_cast<int>(i);
  }
  int sel = pinned >= 0 ? pinned : hs->selector.select(hs->cands, turn_);
  if (sel < 0 && r->avoid != 0) {
    // The only usable path is the one this request just failed on: better than holding it.
    for (std::size_t i = 0; i < hs->cands.size(); ++i) {
      if (hs->cands[i].path_id == r->avoid) {
        hs->cands[i].set_usable(usable_here(hs->tpaths[i], snap_->paths[hv.paths[i].path_index]));
      }
    }
    sel = hs->selector.select(hs->cands, turn_);
  }
  if (sel < 0) {
    hold(r, *hs);
    return;
  }
  TPath* tp = hs->tpaths[static_cast<std::size_t>(sel)];
  QueueCtx* q = tp->q;
  const TimePoint now = clock_.now();
  PathIo io{r->op, hv.nsid, r->slba, r->nlb, r->rbuf, r->wbuf, r, r->fua, now};
  const bool was_idle = q->q->inflight() == 0;
  auto tag = q->q->submit(io);
  if (!tag) {
    // Full (more outstanding than the queue holds): try again after the next completions.
    r->not_before = now;
    if (!r->waiting) {
      r->waiting = true;
      waiting_.push_back(r);
    }
    return;
  }
  if (was_idle) q->busy_since = now;
  r->on = q;
  r->tag = *tag;
  r->sent_at = now;
  r->pin = 0;
  if (tp->counters) bump(tp->counters->slot(index_).outstanding);
}

void IoEngine::hold(Request* r, HeadState& hs) {
  const TimePoint now = clock_.now();
  const auto& hv = *hs.view;
  if (r->held_since == TimePoint{}) {
    r->held_since = now;
    if (hv.counters) bump(hv.counters->slot(index_).held);
  }
  // A path that is live with a good ANA state but whose queue on this thread is still being
  // set up (or was just suspected) will serve soon: that is not "no path".
  bool soon = false;
  bool all_fail_fast = !hv.paths.empty();
  for (std::size_t i = 0; i < hv.paths.size(); ++i) {
    const auto& pv = snap_->paths[hv.paths[i].path_index];
    const PathCandidate c{pv.id, pv.live, hv.paths[i].ana, 0};
    soon = soon || path_selectable(c);
    all_fail_fast = all_fail_fast && !pv.live && pv.fail_fast;
  }
  if (!soon) {
    const char* why = nullptr;
    switch (hv.rules.no_path_retry.mode) {
      case NoPathRetry::Mode::Fail: why = "no_path_retry fail"; break;
      case NoPathRetry::Mode::Seconds:
        if (now - r->held_since >= hv.rules.no_path_retry.seconds) why = "no_path_retry time is up";
        break;
      case NoPathRetry::Mode::Queue:
        if (!hv.may_return) why = "every controller of the subsystem is gone (ctrl_loss_tmo)";
        break;
    }
    if (why == nullptr && all_fail_fast) why = "fast_io_fail_tmo expired on every path";
    if (why != nullptr) {
      fail_later(r, kNoPath, fmt::format("no usable path to {} nsid {} ({}): {} path(s), none live with an optimized or "
                         "non-optimized ANA state; {}; check the target and the network, then `mpath-connect` / "
                         "the daemon's topology", hv.subnqn, hv.nsid, hv.wwid, hv.paths.size(), why));
      return;
    }
  }
  r->not_before = now + (soon ? 1ms : 10ms);
  if (!r->waiting) {
    r->waiting = true;
    waiting_.push_back(r);
  }
}

// A request that fails without a completion (no path, head gone) is finished from poll(), never
// from inside submit(): an application that resubmits from its callback would otherwise recurse
// without bound while no path is usable.
void IoEngine::fail_later(Request* r, Status st, std::string error) {
  r->fail_status = st;
  r->error = std::move(error);
  deferred_.push_back(r);
}

void IoEngine::run_deferred() {
  if (deferred_.empty()) return;
  // Swap with a scratch list that keeps its capacity: no allocation per poll.
  scratch_.clear();
  scratch_.swap(deferred_);
  for (Request* r : scratch_) {
    msg_ = std::move(r->error);
    finish(r, r->fail_status, msg_.c_str());
  }
}

void IoEngine::finish(Request* r, Status st, const char* error) {
  count_done({head_slot(head_state(r->head))}, st.ok(), r->data_bytes());
  r->finished = true;
  --outstanding_;
  ++callbacks_;
  if (r->cb != nullptr) r->cb(r->arg, IoResult{st, st.ok() ? nullptr : error});
  if (r->ghosts == 0) release(r);
}

void IoEngine::release(Request* r) {
  r->on = nullptr;
  free_.push_back(r);
}

// ---- completions ------------------------------------------------------------------------------

void IoEngine::completion_trampoline(void* ctx, const transport::Completion& c) {
  auto* q = static_cast<QueueCtx*>(ctx);
  q->engine->on_complete(*q, c);
}

void IoEngine::on_complete(QueueCtx& q, const transport::Completion& c) {
  auto* r = static_cast<Request*>(c.user);
  if (r == nullptr) return;  // the queue's own Connect
  TPath& tp = *q.tp;
  // A success came out of the receive that just stamped last_progress(): that is now, to within
  // the parsing of one batch (no clock read per I/O). A failure may come from elsewhere (a
  // connection torn down): read the clock.
  const TimePoint now = c.status.ok() && !c.abandoned ? q.q->last_progress() : clock_.now();
  if (tp.suspect && tp.q == &q && q.q->live()) {
    tp.suspect = false;
    log(LogLevel::Info, "I/O context {}: {} answers again", index_, q.q->name());
  }
  if (q.q->inflight() == 0) q.busy_since = now;
  PathSlot* pc = tp.counters ? &tp.counters->slot(index_) : nullptr;
  if (pc) bump(pc->outstanding, static_cast<std::uint64_t>(-1));
  if (c.abandoned) {
    --r->ghosts;
    if (r->finished && r->ghosts == 0) release(r);
    return;
  }
  r->on = nullptr;
  HeadState* rhs = head_state(r->head);
  HeadPathSlot* nc = head_path_slot(rhs, tp);  // this namespace on this path
  const Nanos lat = now - r->sent_at;
  tp.ewma += (lat - tp.ewma) / 8;
  count_done({pc, nc}, c.status.ok(), r->data_bytes());
  if (c.status.ok()) {
    finish(r, c.status, nullptr);
    return;
  }
  const topology::PathView* pv = snap_ ? snap_->path(tp.id) : nullptr;
  PathFacts facts = pv ? pv->facts : PathFacts{};
  // The old controller's last sign of life, for a write lost with its connection: we only know
  // it went silent no earlier than now (a Keep Alive or, with TBKAS, any command of another
  // queue may have reached it until now), so the safe base is now, or later if the control
  // thread saw it alive later.
  facts.last_alive = std::max(now, facts.last_alive);
  const RequestFacts rf{io_op_modifies(r->op), c.reached_controller, r->retries};
  const Decision d = decide_disposition(c.status, rf, facts, rhs ? rhs->view->rules.failover : opts_.failover, now);
  if (d.reread_ana || is_ana_status(c.status)) link_.report_ana_error(tp.id);
  if (d.path_failed && q.q->live() && !(c.status.sct() == Status::kSctPath && c.status.sc() >= Status::kScHostPathError)) {
    // A live controller refused the command for a path reason: keep new I/O off it for a while
    // (the ANA log re-read publishes the real state).
    tp.holdoff_until = now + opts_.path_error_holdoff;
    for (auto& hs : heads_) hs.selector.invalidate();
  }
  if (pv != nullptr && pv->kind == topology::PathKind::Block && c.status == Status::host_path_error()) {
    // A block device returned a path errno: nothing else tells us the path is bad (no
    // keep-alive), so keep new I/O off it and have the control thread probe it.
    tp.holdoff_until = now + opts_.path_error_holdoff;
    for (auto& h : heads_) h.selector.invalidate();
    link_.report_path_error(tp.id, q.generation,
                            fmt::format("{} of {} block(s) at LBA {} failed on {}", io_op_name(r->op), r->nlb,
                                        r->slba, q.q->name()));
  }
  HeadSlot* hc = head_slot(rhs);
  switch (d.action) {
    case Action::Complete:
    case Action::Fail:
      msg_ = fmt::format("{} of {} block(s) at LBA {} on {}: {}", io_op_name(r->op),
                         r->nlb, r->slba, q.q->name(), c.status.to_string());
      finish(r, c.status, msg_.c_str());
      return;
    case Action::RetrySamePath:
      ++r->retries;
      bump_all(&IoTally::retries, {pc, nc, hc});
      r->pin = tp.id;
      r->avoid = 0;
      break;
    case Action::Failover:
      bump_all(&IoTally::failovers, {pc, nc, hc});
      r->avoid = tp.id;
      r->pin = 0;
      break;
  }
  r->not_before = now + d.delay;
  if (d.delay.count() > 0) {
    r->waiting = true;
    waiting_.push_back(r);
  } else {
    dispatch(r);
  }
}

// ---- housekeeping -----------------------------------------------------------------------------

void IoEngine::run_waiting() {
  if (waiting_.empty()) return;
  const TimePoint now = clock_.now();
  // Take the list: dispatch() may put requests back.
  scratch_.clear();
  scratch_.swap(waiting_);  // waiting_ takes the scratch list's capacity: no allocation
  for (Request* r : scratch_) {
    if (now < r->not_before && !(waiting_dirty_ && r->held_since != TimePoint{})) {
      waiting_.push_back(r);
      continue;
    }
    r->waiting = false;
    dispatch(r);
  }
  waiting_dirty_ = false;
}

void IoEngine::suspect(TPath& tp, Nanos quiet) {
  QueueCtx& q = *tp.q;
  tp.suspect = true;
  if (tp.counters) bump(tp.counters->slot(index_).stalls);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(quiet).count();
  const std::string why = fmt::format("{}: {} command(s) outstanding and nothing received for {} ms",
                                      q.q->name(), q.q->inflight(), ms);
  log(LogLevel::Warn, "I/O context {}: {}; moving reads and new I/O to other paths", index_, why);
  link_.report_stall(tp.id, q.generation, why);
  for (auto& hs : heads_) hs.selector.invalidate();
  // Reads outstanding here are abandoned (their data, if it ever comes, is dropped) and sent
  // again elsewhere; writes stay until the connection is torn down (the write-failover rule).
  for (auto& r : pool_) {
    if (r.on != &q || r.finished || r.op != IoOp::Read) continue;
    if (!q.q->abandon_read(r.tag)) continue;
    ++r.ghosts;
    r.on = nullptr;
    r.avoid = tp.id;
    HeadState* hs = head_state(r.head);
    bump_all(&IoTally::failovers, {tp.counters ? &tp.counters->slot(index_) : nullptr, head_path_slot(hs, tp),
                                   head_slot(hs)});
    dispatch(&r);
  }
}

void IoEngine::scan_paths() {
  const TimePoint now = clock_.now();
  for (auto& tpp : paths_) {
    TPath& tp = *tpp;
    if (tp.q == nullptr) {
      if (tp.st == TPath::St::Down && snap_ != nullptr && now >= tp.retry_at) {
        if (const auto* pv = snap_->path(tp.id); pv != nullptr && pv->live) request_queue(tp, *pv);
      }
      continue;
    }
    QueueCtx& q = *tp.q;
    if (tp.st == TPath::St::Live && !q.q->live()) {
      // The connection broke under us (reset by the target, I/O timeout): its commands are
      // completing with path errors; a new queue follows when the controller is live.
      log(LogLevel::Warn, "I/O context {}: {} lost", index_, q.q->name());
      close_queue(tp, "connection lost");
      tp.retry_at = now + opts_.queue_retry;
      continue;
    }
    if (tp.st != TPath::St::Live || tp.suspect || q.q->inflight() == 0) continue;
    const Nanos quiet = now - std::max(q.q->last_progress(), q.busy_since);
    const auto* pv = snap_ != nullptr ? snap_->path(tp.id) : nullptr;
    const Nanos base = pv != nullptr && pv->stall_timeout.count() > 0 ? pv->stall_timeout : opts_.stall_timeout;
    const Nanos threshold = std::max(base, tp.ewma * 8);
    if (quiet > threshold) suspect(tp, quiet);
  }
  std::erase_if(graveyard_, [](const std::unique_ptr<QueueCtx>& q) { return q->q->closed(); });
}

}  // namespace nvmemp::multipath
