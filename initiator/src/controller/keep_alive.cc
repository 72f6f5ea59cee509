#include "controller/keep_alive.h"

#include <algorithm>

namespace nvmemp::controller {

bool KeepAlive::due(TimePoint now) const noexcept {
  if (!enabled() || outstanding_) {
    return false;
  }
  const TimePoint since = tbkas_ ? std::max(last_sent_, last_traffic_) : last_sent_;
  return now - since >= interval();
}

TimePoint KeepAlive::next_deadline() const noexcept {
  if (!enabled()) {
    return TimePoint::max();
  }
  if (outstanding_) {
    return sent_at_ + kato_;
  }
  const TimePoint since = tbkas_ ? std::max(last_sent_, last_traffic_) : last_sent_;
  return since + interval();
}

}  // namespace nvmemp::controller
