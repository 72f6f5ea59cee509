// IoEngine: topology snapshots and the life of each path's queue on this thread (asked for,
// connecting, live, closed when its association ends).
#include <unistd.h>

#include <fmt/format.h>

#include "common/log.h"
#include "multipath/block_path.h"
#include "multipath/io_engine_state.h"
#include "multipath/nvme_tcp_path.h"

namespace nvmemp::multipath {

// ---- topology ---------------------------------------------------------------------------------

void IoEngine::refresh_topology() {
  if (!mailbox_.refresh()) return;
  snap_ = mailbox_.current();
  const TimePoint now = clock_.now();
  for (const auto& pv : snap_->paths) {
    TPath* tp = tpath(pv.id);
    if (tp == nullptr) {
      paths_.push_back(std::make_unique<TPath>());
      tp = paths_.back().get();
      tp->id = pv.id;
    }
    tp->counters = pv.counters.get();
    if (tp->st != TPath::St::Down && (!pv.live || pv.generation != tp->generation)) {
      close_queue(*tp, pv.live ? "the controller was reconnected (new association)" : "the controller is not live");
      tp->retry_at = now;
    }
    // A queue refused in an earlier association may be asked for again in a new one.
    if (tp->st == TPath::St::Down && pv.generation != tp->generation) tp->retry_at = now;
    if (pv.live && tp->st == TPath::St::Down && now >= tp->retry_at) request_queue(*tp, pv);
  }
  for (auto& tp : paths_) {
    if (snap_->path(tp->id) == nullptr && tp->st != TPath::St::Down) close_queue(*tp, "the path was removed");
  }
  // Heads: keep each head's selector (its cached path) across snapshots.
  std::vector<HeadState> heads;
  std::unordered_map<HeadId, std::size_t> index;
  heads.reserve(snap_->heads.size());
  for (const auto& hv : snap_->heads) {
    HeadState hs;
    if (HeadState* old = head_state(hv.id)) hs.selector = old->selector;
    if (hs.selector.policy() != hv.policy) hs.selector.set_policy(hv.policy);
    hs.selector.invalidate();
    hs.view = &hv;
    for (const auto& hp : hv.paths) {
      const auto& pv = snap_->paths[hp.path_index];
      hs.tpaths.push_back(tpath(pv.id));
      hs.cands.push_back(PathCandidate{pv.id, false, hp.ana, 0, hp.preferred});
    }
    index.emplace(hv.id, heads.size());
    heads.push_back(std::move(hs));
  }
  heads_ = std::move(heads);
  head_index_ = std::move(index);
  waiting_dirty_ = true;
}

HeadSlot* IoEngine::head_slot(HeadState* hs) noexcept {
  if (hs == nullptr || !hs->view->counters) return nullptr;
  return &hs->view->counters->slot(index_);
}

HeadPathSlot* IoEngine::head_path_slot(HeadState* hs, const TPath& tp) noexcept {
  if (hs == nullptr) return nullptr;
  for (std::size_t i = 0; i < hs->tpaths.size(); ++i) {
    const auto& set = hs->view->paths[i].counters;
    if (hs->tpaths[i] == &tp) return set ? &set->slot(index_) : nullptr;
  }
  return nullptr;
}

void IoEngine::request_queue(TPath& tp, const topology::PathView& pv) {
  const auto qid = static_cast<std::uint16_t>(index_ + 1);
  if (qid > pv.io_queues) {
    if (!tp.warned_qid) {
      log(LogLevel::Warn, "path {}: the controller granted {} I/O queues; I/O context {} needs qid {}: raise "
          "the controller's queue count or use fewer I/O threads", pv.name, pv.io_queues, index_, qid);
      tp.warned_qid = true;
    }
    tp.retry_at = clock_.now() + opts_.queue_retry;
    return;
  }
  tp.st = TPath::St::WaitFd;
  tp.generation = pv.generation;
  link_.request_queue(index_, pv.id, pv.generation);
}

void IoEngine::deliver_fd(PathId path, std::uint64_t generation, Result<transport::Connection> fd) {
  TPath* tp = tpath(path);
  const topology::PathView* pv = snap_ ? snap_->path(path) : nullptr;
  const bool wanted = tp != nullptr && pv != nullptr && tp->st == TPath::St::WaitFd &&
                      tp->generation == generation && pv->live && pv->generation == generation;
  if (!fd) {
    if (tp != nullptr && tp->st == TPath::St::WaitFd && tp->generation == generation) {
      log(LogLevel::Warn, "I/O context {}: {}; retrying in {} ms", index_, fd.error().message,
          std::chrono::duration_cast<std::chrono::milliseconds>(opts_.queue_retry).count());
      tp->st = TPath::St::Down;
      tp->retry_at = clock_.now() + opts_.queue_retry;
    }
    return;
  }
  if (!wanted) {
    *fd = transport::Connection();  // closes it
    if (tp != nullptr && tp->st == TPath::St::WaitFd && tp->generation == generation) tp->st = TPath::St::Down;
    return;
  }
  auto ctx = std::make_unique<QueueCtx>();
  ctx->engine = this;
  ctx->tp = tp;
  ctx->generation = generation;
  QueueCtx* raw = ctx.get();
  auto on_ready = [this, raw](const Result<void>& r) {
    TPath* t = raw->tp;
    if (t->q != raw) return;  // replaced meanwhile
    if (r) {
      t->st = TPath::St::Live;
      t->suspect = false;
      log(LogLevel::Info, "I/O context {}: {} live", index_, raw->q->name());
      waiting_dirty_ = true;
      for (auto& hs : heads_) hs.selector.invalidate();
    } else if (r.error().code == Errc::Refused || r.error().code == Errc::AuthFailed ||
               r.error().code == Errc::Unsupported) {
      // Asking again would be refused again: not before the next association (the control
      // thread logs it and resets the controller after reconnect_delay).
      close_queue(*t, r.error().message);
      t->retry_at = TimePoint::max();
      link_.report_queue_refused(index_, t->id, raw->generation, r.error().message);
    } else {
      log(LogLevel::Warn, "I/O context {}: {}", index_, r.error().message);
      close_queue(*t, r.error().message);
      t->retry_at = clock_.now() + opts_.queue_retry;
    }
  };
  if (pv->kind == topology::PathKind::Block) {
    BlockPathConfig bc;
    bc.name = pv->name;
    bc.block_size = pv->block_size;
    bc.queue_size = pv->queue_size;
    ctx->q = open_block_path(*reactor_, clock_, bc, fd->release_fd(), &IoEngine::completion_trampoline, raw);
    reactor_->post([on_ready] { on_ready(Result<void>{}); });  // an open device is ready at once
  } else {
    NvmeTcpPathConfig cfg;
    cfg.subnqn = pv->subnqn;
    cfg.endpoint = pv->endpoint;
    cfg.host = opts_.host;
    cfg.cntlid = pv->cntlid;
    cfg.qid = static_cast<std::uint16_t>(index_ + 1);
    cfg.queue_size = pv->queue_size;
    cfg.hdgst = pv->hdgst;
    cfg.ddgst = pv->ddgst;
    cfg.dhchap = pv->dhchap;
    cfg.max_icd = pv->max_icd;
    cfg.max_data_len = pv->max_data_len;
    cfg.io_timeout = pv->io_timeout.count() > 0 ? pv->io_timeout : opts_.io_timeout;
    cfg.connect_timeout = opts_.connect_timeout;
    ctx->q = open_nvme_tcp_path(*reactor_, clock_, cfg, std::move(*fd), &IoEngine::completion_trampoline, raw, on_ready);
  }
  tp->st = TPath::St::Connecting;
  tp->q = raw;
  tp->owned = std::move(ctx);
}

void IoEngine::close_queue(TPath& tp, const std::string& why) {
  if (tp.owned) {
    tp.owned->q->close(why);
    graveyard_.push_back(std::move(tp.owned));
  }
  tp.q = nullptr;
  tp.st = TPath::St::Down;
  tp.suspect = false;
  waiting_dirty_ = true;
}

void IoEngine::reauthenticate(PathId path, PathQueue::ReauthFn done) {
  TPath* tp = tpath(path);
  if (tp == nullptr || tp->q == nullptr || tp->st != TPath::St::Live || !tp->q->q->live()) {
    done(std::string());
    return;
  }
  tp->q->q->reauthenticate(std::move(done));
}

}  // namespace nvmemp::multipath
