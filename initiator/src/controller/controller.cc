#include "controller/controller.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "controller/queue_connect.h"
#include "wire/registers.h"

namespace nvmemp::controller {

using namespace std::chrono_literals;
using namespace wire;

Controller::Controller(transport::Reactor& reactor, const Clock& clock, ControllerOptions opts)
    : reactor_(reactor), clock_(clock), opts_(std::move(opts)), ka_(Nanos(0), false) {
  reconnect_log_.rename(fmt::format("ctrl {} @ {}", opts_.subnqn, transport::endpoint_name(opts_.endpoint)));
}

Controller::~Controller() {
  // Not from inside one of its own callbacks: this turns the reactor to drain the sockets.
  if (auth_) auth_->cancel();
  if (reauth_) reauth_->cancel();
  retired_.clear();
  admin_.reset();
}

std::string Controller::name() const {
  std::string n = fmt::format("{} @ {}", opts_.subnqn, transport::endpoint_name(opts_.endpoint));
  if (info_.cntlid != 0) {
    n += fmt::format(" cntlid {}", info_.cntlid);
  }
  return n;
}

std::string Controller::status_text(const Status& st, bool fabrics) const {
  return st.to_string(fabrics ? StatusContext::FabricsCommand : StatusContext::Command);
}

void Controller::set_state(CtrlState s, const std::string& why) {
  if (sm_.state() == s || !sm_.change(s)) {
    return;
  }
  // Losing a controller is news; bring-up and an orderly end are not. Connecting says nothing
  // the lines around it do not (resetting before, live or the attempts' failures after), and a
  // path retried every second must not log a line per attempt.
  const bool bad = s == CtrlState::Resetting || (s == CtrlState::Dead && why != "shutdown");
  const bool quiet = s == CtrlState::Connecting;
  log(bad ? LogLevel::Warn : (quiet ? LogLevel::Debug : LogLevel::Info), "ctrl {}: {} ({})", name(),
      ctrl_state_name(s), why);
  if (on_state_) {
    on_state_(*this, s, why);
  }
}

AdminQueue::Callback Controller::step_cb(std::function<void(const AdminResult&)> fn) {
  return [this, attempt = attempt_, fn = std::move(fn)](const AdminResult& r) {
    if (attempt != attempt_ || step_ == Step::Idle) {
      return;  // an earlier attempt's command, completed by its queue's teardown
    }
    fn(r);
  };
}

void Controller::connect(DoneFn done) {
  const CtrlState st = sm_.state();
  if (!(st == CtrlState::New || (st == CtrlState::Connecting && step_ == Step::Idle))) {
    done(make_error(Errc::InvalidArgument, fmt::format("{}: cannot connect in state {}", name(),
                                                       ctrl_state_name(st))));
    return;
  }
  set_state(CtrlState::Connecting, "connect");
  ++attempt_;
  done_ = std::move(done);
  info_ = ControllerInfo{};
  aer_outstanding_ = false;
  auto fd = connect_queue(opts_, "admin queue");
  if (!fd) {
    fail_bring_up(fmt::format("{}: {}", opts_.subnqn, fd.error().message));
    return;
  }
  transport::QueuePairConfig qc;
  qc.qid = 0;
  qc.queue_size = 32;  // kernel NVME_AQ_DEPTH
  qc.hdgst = opts_.hdgst;
  qc.ddgst = opts_.ddgst;
  qc.max_icd = kAdminInCapsuleData;
  qc.max_data_len = opts_.max_data_len;
  qc.io_timeout = opts_.admin_timeout;
  qc.name = fmt::format("{} qid 0", name());
  admin_ = std::make_unique<AdminQueue>(reactor_, clock_, qc);
  // Only the current admin queue's loss is news: a retired one reports its close later (or
  // at once, from inside retire_admin()), when a new attempt may be running.
  auto on_closed = [this, self = admin_.get()](const std::string& reason) {
    if (admin_.get() == self) on_admin_closed(reason);
  };
  if (auto o = admin_->open(std::move(*fd), on_closed); !o) {
    fail_bring_up(o.error().message);
    return;
  }
  step_ = Step::Handshake;
  step_deadline_ = clock_.now() + opts_.connect_timeout;
}

void Controller::retire_admin(const std::string& why) {
  if (auth_) {
    auth_->cancel();
    auth_.reset();
  }
  if (reauth_) {
    reauth_->cancel();
    reauth_.reset();
    if (auto cb = std::move(reauth_done_)) {
      reauth_done_ = nullptr;
      cb(tl::unexpected(Error{Errc::Io, fmt::format("{}: the admin queue closed during re-authentication: {}",
                                                    name(), why)}));
    }
  }
  if (admin_) {
    // Out of admin_ and into retired_ before close(): the callbacks close() runs may reset this
    // controller again (retire_admin re-entered), and must find neither a half-retired queue
    // in admin_ nor a null entry in retired_.
    std::unique_ptr<AdminQueue> q = std::move(admin_);
    last_alive_ = std::max(last_alive_, q->qp().last_progress());
    AdminQueue* closing = q.get();
    retired_.push_back(std::move(q));
    closing->close(why);
  }
  aer_outstanding_ = false;
  // What belonged to the association goes with it (the kernel's nvme_mpath_stop()).
  ana_reads_ = 0;
  ana_again_ = false;
  anatt_deadline_.reset();
  finish_probes(false);
}

void Controller::fail_bring_up(std::string why, bool permanent, Errc code) {
  // A step whose command went down with its connection only sees a host-made status: add why
  // the connection failed (a timeout naming the command, a protocol violation, a TermReq).
  if (admin_ && !admin_->qp().failure().empty() && why.find(admin_->qp().failure()) == std::string::npos) {
    why += fmt::format(" ({})", admin_->qp().failure());
  }
  last_error_ = why;
  step_ = Step::Idle;
  retire_admin(why);
  const bool lost = lost_since_ != TimePoint{};
  if (!permanent && (opts_.ctrl_loss_tmo.count() != 0) && lost) {
    reconnect_pending_ = true;  // a reconnect attempt failed: try again later
    const TimePoint now = clock_.now();
    next_reconnect_ = now + opts_.reconnect_delay;
    std::optional<std::chrono::system_clock::time_point> give_up;
    if (opts_.ctrl_loss_tmo.count() > 0) {
      give_up = std::chrono::system_clock::now() +
                std::chrono::duration_cast<std::chrono::system_clock::duration>(opts_.ctrl_loss_tmo - (now - lost_since_));
    }
    reconnect_log_.failed(now, why, retry_plan(opts_.reconnect_delay, give_up));
  } else if (lost) {
    log(LogLevel::Error, "ctrl {}: reconnect failed: {}", name(), why);
  } else {
    // A first connect: its caller has the error and says what it does next.
    log(LogLevel::Debug, "ctrl {}: bring-up failed: {}", name(), why);
  }
  if (permanent && lost) {
    set_state(CtrlState::Deleting, why);
    set_state(CtrlState::Dead, why);
  }
  if (auto d = std::move(done_)) {
    done_ = nullptr;
    d(make_error(code, why));
  }
}

void Controller::finish_bring_up() {
  step_ = Step::Done;
  ka_ = KeepAlive(opts_.kato, info_.id.tbkas());
  ka_.start(clock_.now());
  lost_since_ = TimePoint{};
  reconnect_pending_ = false;
  last_error_.clear();
  ++generation_;
  const auto back = reconnect_log_.succeeded(clock_.now());
  set_state(CtrlState::Live, back ? *back : std::string("bring-up complete"));
  if (auto d = std::move(done_)) {
    done_ = nullptr;
    d({});
  }
}

void Controller::on_admin_closed(const std::string& reason) {
  if (sm_.state() == CtrlState::Live) {
    reset(reason);
  } else if (step_ != Step::Idle && step_ != Step::Done && step_ != Step::Shutdown) {
    fail_bring_up(reason);
  }
}

void Controller::reset(const std::string& why) {
  if (sm_.state() != CtrlState::Live) {
    return;
  }
  last_error_ = why;
  set_state(CtrlState::Resetting, why);
  step_ = Step::Idle;
  retire_admin(why);
  set_state(CtrlState::Connecting, why);
  lost_since_ = clock_.now();
  reconnect_pending_ = opts_.ctrl_loss_tmo.count() != 0;
  next_reconnect_ = clock_.now();  // first attempt at once, then every reconnect_delay
}

void Controller::tick() {
  const TimePoint now = clock_.now();
  // Retired admin queues go once their sockets are closed.
  std::erase_if(retired_, [](const auto& a) { return !a->open_or_opening(); });

  if (step_ == Step::Handshake && admin_) {
    if (admin_->live()) {
      step_ = Step::Connect;
      step_connect();
    } else if (now >= step_deadline_) {
      fail_bring_up(fmt::format("{}: no ICResp within {} ms", name(), opts_.connect_timeout.count()));
    }
  }
  if (step_ == Step::WaitReady && now >= next_poll_) {
    step_poll_ready();
  }
  if (!probes_.empty()) {
    // Probes whose time is up fail; the Keep Alive itself stays out (KATO still applies).
    std::vector<ProbeFn> late;
    std::erase_if(probes_, [&](Probe& p) {
      if (now < p.deadline) return false;
      late.push_back(std::move(p.cb));
      return true;
    });
    for (auto& cb : late) cb(false);
  }
  if (sm_.state() == CtrlState::Live && anatt_deadline_ && now >= *anatt_deadline_) {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(anatt_timeout()).count();
    anatt_deadline_.reset();
    log(LogLevel::Warn, "ctrl {}: ANA transition time of {} s expired with a group still in the change state", name(),
        secs);
    reset(fmt::format("{}: ANA transition time of {} s (2 x ANATT) expired", name(), secs));
  }
  // No Keep Alive once the shutdown began (the kernel stops keep-alive first): a controller
  // shutting down may refuse it, which would reset it in the middle of the shutdown.
  if (sm_.state() == CtrlState::Live && ka_.enabled() && step_ != Step::Shutdown) {
    if (ka_.expired(now)) {
      reset(fmt::format("{}: keep-alive timed out ({} ms without an answer)", name(), opts_.kato.count()));
    } else if (ka_.due(now)) {
      send_keep_alive();
    }
  }
  if (sm_.state() == CtrlState::Connecting && reconnect_pending_ && step_ == Step::Idle && now >= next_reconnect_) {
    if (opts_.ctrl_loss_tmo.count() > 0 && now - lost_since_ >= opts_.ctrl_loss_tmo) {
      const std::string why = fmt::format("{}: ctrl_loss_tmo ({} s) expired; last error: {}", name(),
                                          opts_.ctrl_loss_tmo.count(), last_error_);
      reconnect_pending_ = false;
      last_error_ = why;
      set_state(CtrlState::Deleting, why);
      set_state(CtrlState::Dead, why);
      return;
    }
    reconnect_pending_ = false;
    connect([](const Result<void>&) {});  // failure re-arms reconnect_pending_
  }
}

void Controller::send_keep_alive() {
  if (!admin_ || !admin_->live()) {
    return;
  }
  ka_.on_sent(clock_.now());
  auto r = admin_->submit(make_keep_alive(), 0, {}, [this, attempt = attempt_](const AdminResult& res) {
    if (attempt != attempt_) return;
    ka_.on_completed(clock_.now());
    finish_probes(res.completion.status.ok() && sm_.state() == CtrlState::Live);
    // Not while shutting down: the shutdown's own teardown aborts an outstanding Keep Alive.
    if (!res.completion.status.ok() && sm_.state() == CtrlState::Live && step_ == Step::Done) {
      reset(fmt::format("{}: Keep Alive failed: {}", name(), status_text(res.completion.status, false)));
    }
  });
  if (!r) {
    reset(r.error().message);
  }
}

void Controller::finish_probes(bool alive) {
  if (probes_.empty()) return;
  // The callbacks may probe again or reset: they must find the list already empty.
  std::vector<Probe> done;
  done.swap(probes_);
  for (auto& p : done) p.cb(alive);
}

void Controller::probe(Nanos timeout, ProbeFn cb) {
  if (sm_.state() != CtrlState::Live || !admin_ || !admin_->live()) {
    cb(false);
    return;
  }
  probes_.push_back(Probe{clock_.now() + timeout, std::move(cb)});
  if (!ka_.outstanding()) {
    send_keep_alive();  // a failed submit resets, which fails the probe
  }
}

TimePoint Controller::last_alive() const noexcept {
  return admin_ ? std::max(last_alive_, admin_->qp().last_progress()) : last_alive_;
}

bool Controller::io_fail_fast() const noexcept {
  if (!opts_.fast_io_fail_tmo || lost_since_ == TimePoint{} || sm_.state() == CtrlState::Live) {
    return false;
  }
  return clock_.now() - lost_since_ >= *opts_.fast_io_fail_tmo;
}

Result<void> Controller::admin(const Sqe& sqe, std::uint32_t read_len, std::vector<std::uint8_t> write,
                               AdminQueue::Callback cb) {
  if (!admin_ || !admin_->live() || sm_.state() != CtrlState::Live) {
    return make_error(Errc::Protocol, fmt::format("{}: controller is {}, not live", name(),
                                                  ctrl_state_name(sm_.state())));
  }
  return admin_->submit(sqe, read_len, std::move(write), [this, cb = std::move(cb)](const AdminResult& r) {
    ka_.on_traffic(clock_.now());
    cb(r);
  });
}

void Controller::shutdown(DoneFn done) {
  auto finish = [this](DoneFn d, const std::string& why) {
    step_ = Step::Idle;
    reconnect_pending_ = false;
    retire_admin(why);
    set_state(CtrlState::Deleting, why);
    set_state(CtrlState::Dead, why);
    d({});
  };
  if (sm_.state() != CtrlState::Live || !admin_ || !admin_->live()) {
    finish(std::move(done), "shutdown");
    return;
  }
  step_ = Step::Shutdown;
  const TimePoint deadline = clock_.now() + std::chrono::milliseconds(cap_timeout_ms(info_.cap));
  auto poll = std::make_shared<std::function<void()>>();
  // The function holds itself weakly: a strong self-reference leaked it when the controller
  // went away with the shutdown's command outstanding (its callback is then never run).
  *poll = [this, deadline, weak = std::weak_ptr<std::function<void()>>(poll), done, finish]() {
    auto self = weak.lock();
    if (!admin_) {  // the queue was retired meanwhile (a reset from one of its callbacks)
      finish(done, "shutdown");
      if (self) *self = nullptr;  // last: this destroys the lambda running here
      return;
    }
    auto r = admin_->submit(make_property_get(kRegCsts, false), 0, {}, [=, this](const AdminResult& res) {
      if (csts_shst(res.completion.dw0) == kShstComplete || !res.completion.status.ok() ||
          clock_.now() >= deadline) {
        *self = nullptr;
        finish(done, "shutdown");
      } else {
        (*self)();
      }
    });
    if (!r) {
      finish(done, "shutdown");
      *self = nullptr;  // last: this destroys the lambda running here
    }
  };
  auto r = admin_->submit(make_property_set(kRegCc, cc_shutdown_value(cc_enable_value()), false), 0, {},
                          [poll, done, finish](const AdminResult& res) {
                            if (res.completion.status.ok()) {
                              (*poll)();
                            } else {
                              *poll = nullptr;
                              finish(done, "shutdown");
                            }
                          });
  if (!r) {
    *poll = nullptr;
    finish(std::move(done), "shutdown");
  }
}

}  // namespace nvmemp::controller
