#include "multipath/disposition.h"

#include <algorithm>

namespace nvmemp::multipath {

const char* action_name(Action a) noexcept {
  switch (a) {
    case Action::Complete: return "complete";
    case Action::RetrySamePath: return "retry";
    case Action::Failover: return "failover";
    case Action::Fail: return "fail";
  }
  return "?";
}

namespace {

bool lost_with_connection(const Status& st) {
  return st.sct() == Status::kSctPath &&
         (st.sc() == Status::kScHostPathError || st.sc() == Status::kScAbortedByHost);
}

}  // namespace

Decision decide_disposition(const Status& st, const RequestFacts& req, const PathFacts& path,
                            const FailoverPolicy& policy, TimePoint now) {
  Decision d;
  if (st.ok()) {
    return d;  // Complete
  }
  if (st.dnr()) {
    return d;  // Complete with the error: the controller says retrying cannot help
  }
  if (req.attempts >= policy.max_attempts) {
    d.action = Action::Fail;
    return d;
  }
  if (lost_with_connection(st)) {
    d.action = Action::Failover;
    d.path_failed = true;
    if (req.is_write && req.reached_controller) {
      // The old controller may still hold the write and execute it late. It cannot once its
      // keep-alive timer (plus the command quiesce time) has run out since we last heard it.
      Nanos wait = policy.write_failover_delay.value_or(path.kato + path.cqt);
      if (!policy.write_failover_delay) {
        const TimePoint safe_at = path.last_alive + path.kato + path.cqt;
        wait = safe_at > now ? std::chrono::duration_cast<Nanos>(safe_at - now) : Nanos(0);
      }
      d.delay = wait;
    }
    return d;
  }
  if (st.is_path_error()) {
    d.action = Action::Failover;
    d.reread_ana = st.is_ana_error();
    // Persistent loss, inaccessible, transition and controller/internal path errors all say
    // "not through this path now"; the ANA re-read brings the path back when it recovers.
    d.path_failed = true;
    return d;
  }
  d.action = Action::RetrySamePath;
  if (st.crd() != 0) {
    d.delay = std::min<Nanos>(std::chrono::milliseconds(100) * path.crdt_100ms[st.crd() - 1], policy.max_crd_delay);
  }
  return d;
}

}  // namespace nvmemp::multipath
