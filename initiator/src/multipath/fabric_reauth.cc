// Fabric::reauthenticate: renews DH-HMAC-CHAP on a connected path, the admin queue first
// (Controller::reauthenticate, on the control thread), then the path's I/O queue in every I/O
// context (IoEngine::reauthenticate, posted to each context's thread; each answers by posting
// back here). The control thread keeps the job until every context has answered, one has been
// released, or the deadline passes.
#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "multipath/fabric_impl.h"

namespace nvmemp::detail {

Result<PathInfo> FabricImpl::reauthenticate(std::uint16_t path_id) {
  return call<Result<PathInfo>>(
      [this, path_id](std::function<void(Result<PathInfo>)> reply) {
        auto found = tcp_entry(path_id, "it has no in-band authentication");
        if (!found) {
          reply(tl::unexpected(found.error()));
          return;
        }
        Entry* e = *found;
        auto job = std::make_shared<ReauthJob>();
        job->path = path_id;
        job->reply = std::move(reply);
        job->deadline = clock_.now() + 4 * e->io_timeout + std::chrono::seconds(5);
        reauth_jobs_.push_back(job);  // from now on bounded by tick_reauth()
        e->ctrl->reauthenticate([this, job](const Result<std::string>& r) {
          if (!r) {
            job->error = r.error();
            reauth_finish(*job);
            return;
          }
          reauth_io_queues(job);
        });
      },
      make_error(Errc::Timeout, "reauthenticate: no answer from the control thread"));
}

void FabricImpl::reauth_io_queues(std::shared_ptr<ReauthJob> job) {
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    IoEngine* engine = contexts_[i];
    if (!engine_ready(engine)) continue;
    const auto index = static_cast<unsigned>(i);
    job->waiting.push_back(index);
    engine->post([this, engine, job, index] {
      engine->reauthenticate(job->path, [this, job, index](const Result<std::string>& r) {
        reactor_->post([this, job, index, r] { reauth_answered(*job, index, r); });
      });
    });
  }
  if (job->waiting.empty()) reauth_finish(*job);
}

void FabricImpl::reauth_answered(ReauthJob& job, unsigned context, const Result<std::string>& r) {
  if (job.done) return;
  std::erase(job.waiting, context);
  if (!r && !job.error) job.error = r.error();
  if (r && !r->empty()) ++job.renewed;
  if (job.waiting.empty()) reauth_finish(job);
}

void FabricImpl::reauth_finish(ReauthJob& job) {
  if (job.done) return;
  job.done = true;
  if (job.error) {
    job.reply(tl::unexpected(*job.error));
    return;
  }
  const Entry* e = entry(job.path);
  if (e == nullptr) {
    job.reply(make_error(Errc::NotFound, fmt::format("path {} was removed during its re-authentication", job.path)));
    return;
  }
  log(LogLevel::Info, "path {}: re-authenticated ({}): the admin queue and {} I/O queue(s)", job.path,
      e->ctrl->info().auth, job.renewed);
  job.reply(path_info(*e));
}

void FabricImpl::tick_reauth() {
  if (reauth_jobs_.empty()) return;
  const TimePoint now = clock_.now();
  for (auto& job : reauth_jobs_) {
    if (job->done || now < job->deadline) continue;
    std::string list;
    for (unsigned c : job->waiting) list += fmt::format("{}{}", list.empty() ? "" : ", ", c);
    job->error = Error{Errc::Timeout, fmt::format("path {}: the I/O queues of I/O context(s) {} did not answer the "
                                                  "re-authentication in time: is each context polled?",
                                                  job->path, list)};
    reauth_finish(*job);
  }
  std::erase_if(reauth_jobs_, [](const auto& j) { return j->done; });
}

// A released context answers nothing more: its queues are gone with it.
void FabricImpl::reauth_context_gone(unsigned context) {
  for (auto& job : reauth_jobs_) {
    if (!job->done && std::find(job->waiting.begin(), job->waiting.end(), context) != job->waiting.end()) {
      reauth_answered(*job, context, std::string());
    }
  }
}

}  // namespace nvmemp::detail
