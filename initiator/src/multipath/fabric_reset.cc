// Fabric::reset: a controller reset on request (`nvme reset` for a fabrics controller). The
// controller's association ends and it connects again at once (Controller::reset); the I/O
// queues follow as after any reconnect, each authenticated anew. The caller is answered from
// the control loop once the controller is live again, has given up, or the bound has passed.
#include <fmt/format.h>

#include "common/log.h"
#include "multipath/fabric_impl.h"

namespace nvmemp::detail {

namespace {

// " (last error: ...)", or nothing when the controller has none.
std::string last_error_note(const Controller& c) {
  return c.last_error().empty() ? std::string() : fmt::format(" (last error: {})", c.last_error());
}

}  // namespace

Result<FabricImpl::Entry*> FabricImpl::tcp_entry(PathId id, const char* scsi_hint) {
  Entry* e = entry(id);
  if (e != nullptr && !e->removed) return e;
  if (block(id) != nullptr) return make_error(Errc::Unsupported, fmt::format("path {} is a SCSI path: {}", id, scsi_hint));
  return make_error(Errc::NotFound, fmt::format("path {} does not exist", id));
}

Result<PathInfo> FabricImpl::reset(std::uint16_t path_id) {
  return call<Result<PathInfo>>(
      [this, path_id](std::function<void(Result<PathInfo>)> reply) {
        auto found = tcp_entry(path_id, "reset its device with sg_reset");
        if (!found) {
          reply(tl::unexpected(found.error()));
          return;
        }
        Entry* e = *found;
        if (e->ctrl->state() != CtrlState::Live) {
          reply(make_error(Errc::InvalidArgument,
                           fmt::format("path {} ({}) is not live but {}: it reconnects on its own{}", path_id,
                                       e->ctrl->name(), controller::ctrl_state_name(e->ctrl->state()),
                                       last_error_note(*e->ctrl))));
          return;
        }
        ResetJob job;
        job.path = path_id;
        job.reconnects = e->reconnects;
        job.deadline = clock_.now() + 4 * e->io_timeout + std::chrono::seconds(5);
        job.reply = std::move(reply);
        reset_jobs_.push_back(std::move(job));
        log(LogLevel::Info, "path {} ({}): reset on request", path_id, e->ctrl->name());
        e->ctrl->reset("reset on request");
      },
      make_error(Errc::Timeout, "reset: no answer from the control thread"));
}

void FabricImpl::tick_reset() {
  if (reset_jobs_.empty()) return;
  const TimePoint now = clock_.now();
  for (auto& job : reset_jobs_) {
    const Entry* e = entry(job.path);
    if (e == nullptr || e->removed) {
      job.reply(make_error(Errc::NotFound, fmt::format("path {} was removed during its reset", job.path)));
    } else if (e->reconnects > job.reconnects && e->ctrl->state() == CtrlState::Live) {
      log(LogLevel::Info, "path {} ({}): live again after the reset", job.path, e->ctrl->name());
      job.reply(path_info(*e));
    } else if (e->ctrl->state() == CtrlState::Dead) {
      job.reply(make_error(Errc::Io, fmt::format("path {} ({}): the controller gave up after the reset: {}",
                                                 job.path, e->ctrl->name(), e->ctrl->last_error())));
    } else if (now >= job.deadline) {
      job.reply(make_error(Errc::Timeout, fmt::format("path {} ({}): not live again in time after the reset (state "
                                                      "{}){}; it keeps reconnecting every reconnect_delay",
                                                      job.path, e->ctrl->name(),
                                                      controller::ctrl_state_name(e->ctrl->state()),
                                                      last_error_note(*e->ctrl))));
    } else {
      continue;
    }
    job.done = true;
  }
  std::erase_if(reset_jobs_, [](const ResetJob& j) { return j.done; });
}

}  // namespace nvmemp::detail
