// Fabric: the ControlLink side of the control thread. I/O contexts call these on their own
// threads; each posts its work to the control thread's reactor (fabric.cc has the rest).
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "controller/queue_connect.h"
#include "multipath/fabric_impl.h"

namespace nvmemp::detail {

void FabricImpl::request_queue(unsigned context, PathId path, std::uint64_t generation) {
  reactor_->post([this, context, path, generation] {
    IoEngine* eng = context < contexts_.size() ? contexts_[context] : nullptr;
    if (eng == nullptr) return;
    Entry* e = entry(path);
    Result<transport::Connection> fd = make_error(Errc::NotFound, fmt::format("path {} is gone", path));
    if (block(path) != nullptr) {
      auto b = open_block(path, generation);
      fd = b ? Result<transport::Connection>(transport::Connection(*b)) : tl::unexpected(b.error());
    } else if (e != nullptr && (e->ctrl->state() != CtrlState::Live || e->generation != generation)) {
      fd = make_error(Errc::Protocol, fmt::format("{}: not live (association {}) any more", e->ctrl->name(),
                                                  generation));
    } else if (e != nullptr) {
      fd = controller::connect_queue(e->ctrl->options(), "I/O queue");
      if (!fd) fd = make_error(fd.error().code, fmt::format("{}: I/O queue: {}", e->ctrl->name(), fd.error().message));
    }
    // The connection travels in a shared holder (a posted function must be copyable): if the
    // engine goes away before the post runs, the Connection in it closes the socket.
    auto h = std::make_shared<Result<transport::Connection>>(std::move(fd));
    eng->reactor().post([eng, path, generation, h] {
      Result<transport::Connection> f = std::move(*h);
      *h = make_error(Errc::NotFound, "taken");
      eng->deliver_fd(path, generation, std::move(f));
    });
  });
}

void FabricImpl::report_stall(PathId path, std::uint64_t generation, const std::string& why) {
  reactor_->post([this, path, generation, why] {
    if (BlockEntry* b = block(path)) {
      if (!b->failed && b->generation == generation) probe_block(*b, why);
      return;
    }
    Entry* e = entry(path);
    if (e == nullptr || e->probing || e->generation != generation || e->ctrl->state() != CtrlState::Live) return;
    e->probing = true;
    const auto timeout = e->probe_timeout;
    e->ctrl->probe(timeout, [this, path, generation, why, timeout](bool alive) {
      Entry* x = entry(path);
      if (x == nullptr) return;
      x->probing = false;
      if (alive || x->generation != generation || x->ctrl->state() != CtrlState::Live) return;
      x->ctrl->reset(fmt::format("Keep Alive probe not answered within {} ms after an I/O queue stalled ({})",
                                 timeout.count(), why));
    });
  });
}

void FabricImpl::report_ana_error(PathId path) {
  reactor_->post([this, path] {
    if (Entry* e = entry(path); e != nullptr && e->ctrl->state() == CtrlState::Live) {
      if (e->ana_error_at == TimePoint{}) e->ana_error_at = clock_.now();
      e->ctrl->refresh_ana();
    }
  });
}

void FabricImpl::report_queue_refused(unsigned context, PathId path, std::uint64_t generation,
                                      const std::string& why) {
  reactor_->post([this, context, path, generation, why] {
    Entry* e = entry(path);
    if (e == nullptr || e->generation != generation || e->ctrl->state() != CtrlState::Live) return;
    const bool first = e->queues_refused.empty();
    if (std::find(e->queues_refused.begin(), e->queues_refused.end(), context) == e->queues_refused.end()) {
      e->queues_refused.push_back(context);
    }
    if (!first) return;  // one report and one reset per association
    const auto delay = e->ctrl->options().reconnect_delay;
    e->queue_error = why;
    e->refused_reset_at = clock_.now() + delay;
    log(LogLevel::Error, "{}; this path carries no I/O of I/O context {} until the controller accepts the queue: "
        "resetting it in {} s (check the target's queue limits)", why, context,
        std::chrono::duration_cast<std::chrono::seconds>(delay).count());
    update(*e);
  });
}

void FabricImpl::tick_refused_queues() {
  const TimePoint now = clock_.now();
  for (auto& e : entries_) {
    if (e->refused_reset_at == TimePoint{} || now < e->refused_reset_at) continue;
    e->refused_reset_at = TimePoint{};
    if (e->ctrl->state() == CtrlState::Live) {
      e->ctrl->reset(fmt::format("an I/O queue Connect was refused ({})", e->queue_error));
    }
  }
}

}  // namespace nvmemp::detail
