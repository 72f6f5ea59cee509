// Keep-alive timing for one controller (NVMe Base 2.0, 3.9): the host sends Keep Alive at
// KATO/2 so the controller's KATO timer never fires; with Traffic Based Keep Alive (CTRATT
// bit 6) any completed command counts as traffic and the Keep Alive is skipped, as the
// kernel does (nvme_keep_alive_work). A Keep Alive that has not completed within KATO means
// the controller or the path is gone: the caller resets the controller.
//
// Pure timing, no I/O: the control thread asks due()/expired() each loop turn.
#pragma once

#include "common/clock.h"

namespace nvmemp::controller {

class KeepAlive {
 public:
  // kato 0 disables keep-alive (discovery controllers that are not persistent).
  KeepAlive(Nanos kato, bool tbkas) : kato_(kato), tbkas_(tbkas) {}

  void start(TimePoint now) noexcept { last_sent_ = last_traffic_ = now; }
  // A command of this controller completed (counts as traffic with TBKAS).
  void on_traffic(TimePoint now) noexcept { last_traffic_ = now; }
  void on_sent(TimePoint now) noexcept {
    outstanding_ = true;
    sent_at_ = last_sent_ = now;
  }
  void on_completed(TimePoint now) noexcept {
    outstanding_ = false;
    last_traffic_ = now;
  }

  bool enabled() const noexcept { return kato_.count() > 0; }
  // A Keep Alive is in flight (on_sent() without on_completed() yet).
  bool outstanding() const noexcept { return outstanding_; }
  // True when a Keep Alive should be sent now.
  bool due(TimePoint now) const noexcept;
  // True when the Keep Alive in flight has been outstanding for KATO.
  bool expired(TimePoint now) const noexcept {
    return enabled() && outstanding_ && now - sent_at_ >= kato_;
  }
  // The next moment due() or expired() can change: for the loop's wait.
  TimePoint next_deadline() const noexcept;
  Nanos interval() const noexcept { return kato_ / 2; }

 private:
  Nanos kato_;
  bool tbkas_;
  bool outstanding_ = false;
  TimePoint last_sent_{};
  TimePoint last_traffic_{};
  TimePoint sent_at_{};
};

}  // namespace nvmemp::controller
