#include "support/qp_driver.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace nvmemp::test {

using namespace std::chrono_literals;
using namespace transport;

Result<std::unique_ptr<QpDriver>> QpDriver::adopt(int fd, QueuePairConfig cfg) {
  auto d = std::unique_ptr<QpDriver>(new QpDriver());
  auto r = Reactor::create(d->clock_);
  if (!r) {
    ::close(fd);
    return tl::unexpected(r.error());
  }
  d->reactor_ = std::move(*r);
  d->qp_ = std::make_unique<QueuePair>(
      cfg, d->clock_, [](void* ctx, const Completion& c) { static_cast<QpDriver*>(ctx)->done.push_back(c); },
      d.get());
  auto a = d->reactor_->attach(
      fd, *d->qp_,
      [](void* ctx, QueuePair&, const std::string& reason) {
        auto* self = static_cast<QpDriver*>(ctx);
        self->closed = true;
        self->close_reason = reason;
      },
      d.get());
  if (!a) {
    return tl::unexpected(a.error());
  }
  if (auto h = d->handshake(); !h) {
    return tl::unexpected(h.error());
  }
  return d;
}

Result<std::unique_ptr<QpDriver>> QpDriver::connect(std::uint16_t port, QueuePairConfig cfg) {
  auto fd = tcp_connect(TcpEndpoint{"127.0.0.1", port, "", ""}, 5s);
  if (!fd) {
    return tl::unexpected(fd.error());
  }
  return adopt(*fd, std::move(cfg));
}

Result<void> QpDriver::handshake() {
  if (auto s = qp_->start(); !s) {
    return s;
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (qp_->state() == QpState::IcSent && !closed && std::chrono::steady_clock::now() < deadline) {
    if (auto p = reactor_->poll(100ms); !p) {
      return tl::unexpected(p.error());
    }
  }
  if (qp_->state() != QpState::Live) {
    return make_error(Errc::Protocol, fmt::format("handshake failed: {}", closed ? close_reason : qp_->failure()));
  }
  return {};
}

bool QpDriver::wait_done(std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (done.size() < n && !closed && std::chrono::steady_clock::now() < deadline) {
    if (!reactor_->poll(100ms)) {
      return false;
    }
  }
  return done.size() >= n;
}

bool QpDriver::wait_closed() {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    if (!reactor_->poll(100ms)) {
      return false;
    }
  }
  return closed;
}

Result<Completion> QpDriver::exec(const Command& cmd) {
  // Its own completion, found by a tag of its own and taken out of `done`: completions of
  // commands submitted through qp() may arrive meanwhile, and stay in `done` for their caller.
  // (Taking done.back() and leaving it in `done` once let a Connect completion count as one of
  // a later batch's, so a test compared a read buffer before its data came.)
  Command c = cmd;
  c.user = &exec_tag_;
  auto cid = qp_->submit(c);
  if (!cid) {
    return tl::unexpected(cid.error());
  }
  const auto mine = [this] {
    return std::find_if(done.begin(), done.end(), [this](const Completion& x) { return x.user == &exec_tag_; });
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (mine() == done.end() && !closed && std::chrono::steady_clock::now() < deadline) {
    if (!reactor_->poll(100ms)) break;
  }
  const auto it = mine();
  if (it == done.end()) {
    return make_error(Errc::Timeout, fmt::format("no completion for cid {:#x}{}{}", *cid, closed ? ": " : "",
                                                 close_reason));
  }
  Completion got = *it;
  got.user = cmd.user;
  done.erase(it);
  return got;
}

}  // namespace nvmemp::test
