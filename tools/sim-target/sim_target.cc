// The simulated target's event loop: listeners, connection lifetime, keep-alive timers, the
// cross-thread control mailbox, and the public SimTarget wrapper.
#include "sim_target.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "sim_auth.h"
#include "sim_connection.h"
#include "sim_core.h"
#include "wire/libnvme_types.h"

namespace nvmemp::sim {

namespace {

constexpr int kTickMs = 50;  // timer resolution of keep-alive and drain deadlines
constexpr std::uint32_t kAutoBusyPollUs = 1000;  // SimConfig::busy_poll_us unset, pinned to one CPU

// Accepts connections on one port (or the control port).
class Listener : public Pollable {
 public:
  Listener(Core& core, int fd, std::size_t port, bool control) : core_(core), fd_(fd), port_(port), control_(control) {}
  void on_events(std::uint32_t) override {
    for (int i = 0; i < 64; ++i) {  // bounded: the rest waits for the next turn
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) {
        return;  // EAGAIN, or a connection reset before accept: nothing to do
      }
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (control_) {
        core_.add_ctl_connection(c);
      } else {
        core_.add_connection(c, port_);
      }
    }
  }

 private:
  Core& core_;
  int fd_;
  std::size_t port_;
  bool control_;
};

// The eventfd that wakes the loop for posted control lines and stop().
class Wakeup : public Pollable {
 public:
  Wakeup(Core& core, int fd, void (*fn)(Core&)) : core_(core), fd_(fd), fn_(fn) {}
  void on_events(std::uint32_t) override {
    std::uint64_t v = 0;
    [[maybe_unused]] const ssize_t n = ::read(fd_, &v, sizeof v);
    fn_(core_);
  }

 private:
  Core& core_;
  int fd_;
  void (*fn_)(Core&);
};

Result<int> listen_on(std::uint16_t port, std::uint16_t& bound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_error(Errc::Io, fmt::format("socket: {}", std::strerror(errno)));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // 127.0.0.1 only
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 128) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(Errc::Io, fmt::format("listen on 127.0.0.1:{}: {}", port, std::strerror(err)));
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  bound = ntohs(sa.sin_port);
  return fd;
}

}  // namespace

Core::Core(const SimConfig& cfg) : cfg_(cfg) {
  ports_.resize(cfg_.ports.size());
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    ports_[i].tcp_port = cfg_.ports[i];
  }
  namespaces_.resize(cfg_.namespaces);
  for (std::uint32_t i = 0; i < cfg_.namespaces; ++i) {
    SimNamespace& ns = namespaces_[i];
    ns.nsid = i + 1;
    // NGUID "sim" + NSID; UUID 51a00000-0000-4000-8000-0000000000NN (version 4, RFC 4122 variant).
    ns.nguid = {0x73, 0x69, 0x6d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0};
    ns.uuid = {0x51, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00, 0x00, 0x00, 0, 0, 0, 0};
    for (int b = 0; b < 4; ++b) {
      ns.nguid[15 - b] = static_cast<std::uint8_t>(ns.nsid >> (8 * b));
      ns.uuid[15 - b] = static_cast<std::uint8_t>(ns.nsid >> (8 * b));
    }
    ns.store = std::make_unique<NamespaceStore>(cfg_.ns_size_bytes);
  }
  auth_ = std::make_unique<SimAuth>(cfg_.nqn, [this](std::string_view line) { log(line); });
  reset_state();
  ana_chgcnt_ = 1;
}

Core::~Core() {
  stop_thread();
  for (auto& [p, l] : live_) {
    ::close(l.fd);
  }
  live_.clear();
  graveyard_.clear();
  if (epfd_ >= 0) {
    ::close(epfd_);
  }
}

void Core::log(std::string_view line) const {
  if (cfg_.verbose) {
    std::fprintf(stderr, "sim-target: %.*s\n", static_cast<int>(line.size()), line.data());
  }
}

Result<void> Core::bind_all() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || evfd_ < 0) {
    return make_error(Errc::Io, fmt::format("epoll/eventfd: {}", std::strerror(errno)));
  }
  add_pollable(std::make_unique<Wakeup>(*this, evfd_, [](Core& c) { c.drain_posted(); }), evfd_, EPOLLIN);
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (auto r = listen_port(i); !r) {
      return r;
    }
  }
  if (cfg_.ctl_port) {
    auto fd = listen_on(*cfg_.ctl_port, ctl_port_);
    if (!fd) {
      return make_error(fd.error().code, "control port: " + fd.error().message);
    }
    ctl_fd_ = *fd;
    add_pollable(std::make_unique<Listener>(*this, ctl_fd_, 0, true), ctl_fd_, EPOLLIN);
  }
  return {};
}

Result<void> Core::listen_port(std::size_t idx) {
  SimPort& p = ports_[idx];
  auto fd = listen_on(p.tcp_port, p.tcp_port);
  if (!fd) {
    return make_error(fd.error().code, fmt::format("port {}: {}", idx + 1, fd.error().message));
  }
  p.listen_fd = *fd;
  p.up = true;
  auto l = std::make_unique<Listener>(*this, *fd, idx, false);
  p.listener = l.get();
  add_pollable(std::move(l), *fd, EPOLLIN);
  return {};
}

void Core::add_pollable(std::unique_ptr<Pollable> p, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = p.get();
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  Pollable* key = p.get();
  live_[key] = Live{std::move(p), fd};
}

void Core::add_connection(int fd, std::size_t port) {
  add_pollable(std::make_unique<Connection>(*this, fd, port), fd, EPOLLIN);
}

void Core::add_ctl_connection(int fd) {
  add_pollable(std::make_unique<CtlConnection>(*this, fd), fd, EPOLLIN);
}

void Core::set_events(Pollable* p, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = p;
  ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void Core::retire(Pollable* p, int fd) {
  auto it = live_.find(p);
  if (it == live_.end()) {
    return;
  }
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  graveyard_.push_back(std::move(it->second.obj));  // freed after this loop turn
  live_.erase(it);
}

Controller* Core::controller(std::uint16_t cntlid) {
  auto it = controllers_.find(cntlid);
  return it == controllers_.end() ? nullptr : it->second.get();
}

void Core::connection_closed(Connection& c) {
  if (c.cntlid() == 0) {
    return;
  }
  auto it = controllers_.find(c.cntlid());
  if (it == controllers_.end()) {
    return;
  }
  Controller& ctrl = *it->second;
  if (c.qid() == 0 && ctrl.admin == &c) {
    // Losing the admin queue ends the association: the controller and its I/O queues go
    // (NVMe over Fabrics 1.1, 3.3.1; nvmet deletes the controller the same way).
    std::vector<Connection*> io = std::move(ctrl.io);
    controllers_.erase(it);
    for (Connection* q : io) {
      q->close("admin queue closed, controller deleted");
    }
    return;
  }
  std::erase(ctrl.io, &c);
}

void Core::close_port_connections(std::size_t idx) {
  std::vector<Connection*> victims;
  for (auto& [p, l] : live_) {
    if (auto* c = dynamic_cast<Connection*>(p); c != nullptr && c->port() == idx && !c->closed()) {
      victims.push_back(c);
    }
  }
  for (Connection* c : victims) {
    if (!retired(c)) {
      c->close("port down");
    }
  }
}

void Core::set_linked(std::size_t idx, bool linked) {
  if (ports_[idx].linked == linked) return;
  ports_[idx].linked = linked;
  if (!linked) {
    // The subsystem's controllers on this port go (as nvmet deletes them on unlink); the
    // discovery controllers stay.
    std::vector<Connection*> victims;
    for (auto& [p, l] : live_) {
      auto* c = dynamic_cast<Connection*>(p);
      if (c == nullptr || c->port() != idx || c->closed() || c->cntlid() == 0) continue;
      auto it = controllers_.find(c->cntlid());
      if (it != controllers_.end() && !it->second->discovery) victims.push_back(c);
    }
    for (Connection* c : victims) {
      if (!retired(c)) c->close("subsystem unlinked from the port");
    }
  }
  ++disc_genctr_;
  raise_aen(kAenDisc, SIZE_MAX, true);
}

void Core::tick() {
  const auto now = SimClock::now();
  std::vector<std::uint16_t> expired;
  for (auto& [id, ctrl] : controllers_) {
    const PortFaults& f = ports_[ctrl->port].faults;
    if (f.blackhole || f.never_complete.test(nvme_admin_keep_alive)) {
      // A blackhole keeps TCP open, ka-ignore swallows Keep Alives: either way the target side
      // never times out, so only the host's keep-alive timeout can end the association.
      ctrl->last_seen = now;
    } else if (ctrl->kato_ms != 0 && now - ctrl->last_seen > std::chrono::milliseconds(ctrl->kato_ms)) {
      expired.push_back(id);
    }
  }
  for (const std::uint16_t id : expired) {
    Controller* ctrl = controller(id);
    if (ctrl != nullptr && ctrl->admin != nullptr) {
      log(fmt::format("cntlid {}: keep-alive timeout ({} ms), deleting the controller", id, ctrl->kato_ms));
      ctrl->admin->close("keep-alive timeout");
    }
  }
  std::vector<Connection*> conns;
  for (auto& [p, l] : live_) {
    if (auto* c = dynamic_cast<Connection*>(p); c != nullptr) {
      conns.push_back(c);
    }
  }
  for (Connection* c : conns) {
    if (!retired(c)) {
      c->tick(now);
    }
  }
}

namespace {

std::uint32_t busy_poll_window_us(const SimConfig& cfg) {
  if (cfg.busy_poll_us) {
    return *cfg.busy_poll_us;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  return ::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 ? kAutoBusyPollUs : 0;
}

}  // namespace

void Core::run() {
  const auto poll_window = std::chrono::microseconds(busy_poll_window_us(cfg_));
  log(fmt::format("busy poll window {} us", poll_window.count()));
  SimClock::time_point last_event = SimClock::now();
  SimClock::time_point next_tick = last_event;
  for (;;) {
    epoll_event evs[64];
    bool fine = false;  // latency faults need a finer timer than keep-alive
    for (const auto& p : ports_) {
      fine = fine || p.faults.latency_ms > 0;
    }
    const bool polling = SimClock::now() - last_event < poll_window;
    if (polling) {
      ::sched_yield();  // a thread sharing this core (a host pinned here too) runs first
    }
    const int n = ::epoll_wait(epfd_, evs, 64, polling ? 0 : fine ? 2 : kTickMs);
    for (int i = 0; i < n; ++i) {
      auto* p = static_cast<Pollable*>(evs[i].data.ptr);
      if (!retired(p)) {
        p->on_events(evs[i].events);
      }
    }
    graveyard_.clear();
    const auto now = SimClock::now();
    if (n > 0) {
      last_event = now;
    }
    // Timers every tick (every turn under a latency fault), not after every event: a turn per
    // I/O must not walk every controller and connection.
    if (fine || now >= next_tick) {
      tick();
      next_tick = now + std::chrono::milliseconds(kTickMs);
    }
    graveyard_.clear();
    if (stopping_) {
      break;
    }
  }
  std::lock_guard lk(mu_);
  loop_running_ = false;
  for (auto& p : posted_) {
    p->done = true;
    p->answer = make_error(Errc::Io, "target stopped");
  }
  posted_.clear();
  cv_.notify_all();
}

void Core::start_thread() {
  {
    std::lock_guard lk(mu_);
    loop_running_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

void Core::stop_thread() {
  if (!thread_.joinable()) {
    return;
  }
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
  thread_.join();
}

void Core::drain_posted() {
  std::deque<std::shared_ptr<Posted>> batch;
  {
    std::lock_guard lk(mu_);
    batch.swap(posted_);
    if (quit_) {
      stopping_ = true;
    }
  }
  for (auto& p : batch) {
    auto answer = run_control(p->line);
    std::lock_guard lk(mu_);
    p->answer = std::move(answer);
    p->done = true;
  }
  cv_.notify_all();
}

Result<std::string> Core::post_control(std::string_view line) {
  if (thread_.joinable() && std::this_thread::get_id() == thread_.get_id()) {
    return run_control(line);
  }
  auto p = std::make_shared<Posted>();
  p->line = std::string(line);
  std::unique_lock lk(mu_);
  if (!loop_running_) {
    return make_error(Errc::Io, "control: the target is stopped");
  }
  posted_.push_back(p);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
  if (!cv_.wait_for(lk, std::chrono::seconds(10), [&] { return p->done; })) {
    return make_error(Errc::Timeout, fmt::format("control '{}': no answer from the loop in 10 s", line));
  }
  return p->answer;
}

// ---- SimTarget ----

Result<std::unique_ptr<SimTarget>> SimTarget::start(const SimConfig& cfg) {
  if (auto v = validate_config(cfg); !v) {
    return tl::unexpected(v.error());
  }
  std::unique_ptr<SimTarget> t(new SimTarget());
  t->core_ = std::make_unique<Core>(cfg);
  if (auto b = t->core_->bind_all(); !b) {
    return tl::unexpected(b.error());
  }
  for (const auto& p : t->core_->ports()) {
    t->ports_.push_back(p.tcp_port);
  }
  t->ctl_port_ = t->core_->ctl_port();
  t->nqn_ = cfg.nqn;
  t->core_->start_thread();
  return t;
}

SimTarget::~SimTarget() { stop(); }

void SimTarget::stop() {
  if (core_) {
    core_->stop_thread();
    core_.reset();
  }
}

Result<std::string> SimTarget::control(std::string_view line) {
  if (!core_) {
    return make_error(Errc::Io, "control: the target is stopped");
  }
  return core_->post_control(line);
}

namespace {
Result<void> drop_output(Result<std::string> r) {
  if (!r) {
    return tl::unexpected(r.error());
  }
  return {};
}
}  // namespace

Result<void> SimTarget::blackhole(std::uint32_t port, bool on) {
  return drop_output(control(fmt::format("blackhole {} {}", port, on ? "on" : "off")));
}
Result<std::string> SimTarget::apply_held(std::uint32_t port) { return control(fmt::format("apply-held {}", port)); }
Result<std::string> SimTarget::drop_held(std::uint32_t port) { return control(fmt::format("drop-held {}", port)); }
Result<void> SimTarget::set_latency(std::uint32_t port, std::uint32_t ms) {
  return drop_output(control(fmt::format("latency {} {}", port, ms)));
}
Result<void> SimTarget::fail_next(std::uint32_t k, std::uint8_t opcode, std::uint8_t sct, std::uint8_t sc, bool dnr) {
  return drop_output(control(fmt::format("fail-next {} {:#x} {:#x} {:#x}{}", k, opcode, sct, sc, dnr ? " dnr" : "")));
}
Result<void> SimTarget::corrupt_digest(std::uint32_t port) {
  return drop_output(control(fmt::format("corrupt-digest {}", port)));
}
Result<void> SimTarget::drop_after(std::uint32_t port, std::uint32_t pdus) {
  return drop_output(control(fmt::format("drop-after {} {}", port, pdus)));
}
Result<void> SimTarget::reset_ctrl(std::uint16_t cntlid) {
  return drop_output(control(fmt::format("reset-ctrl {}", cntlid)));
}
Result<void> SimTarget::restart() { return drop_output(control("restart")); }
Result<void> SimTarget::aen_ns_changed(std::uint32_t nsid) {
  return drop_output(control(fmt::format("aen ns-changed {}", nsid)));
}
Result<void> SimTarget::aen_discovery_changed() { return drop_output(control("aen discovery-changed")); }
Result<void> SimTarget::ka_ignore(std::uint32_t port, bool on) {
  return drop_output(control(fmt::format("ka-ignore {} {}", port, on ? "on" : "off")));
}
Result<void> SimTarget::never_complete(std::uint32_t port, std::uint8_t admin_opcode) {
  return drop_output(control(fmt::format("never-complete {} {:#x}", port, admin_opcode)));
}
Result<void> SimTarget::never_complete_off(std::uint32_t port) {
  return drop_output(control(fmt::format("never-complete {} off", port)));
}

}  // namespace nvmemp::sim
