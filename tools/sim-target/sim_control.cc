// Control commands of the simulated target (the real target's line protocol,
// ../shared/real-target/README.md "Control channel") and the control-socket connection.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "sim_auth.h"
#include "sim_connection.h"
#include "sim_core.h"
#include "wire/identify.h"

namespace nvmemp::sim {

Result<std::size_t> Core::resolve_port(std::uint32_t port) const {
  if (port >= 1 && port <= ports_.size()) {
    return port - 1;
  }
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i].tcp_port == port) {
      return i;
    }
  }
  return make_error(Errc::NotFound, fmt::format("no such port: '{}'", port));
}

// The initial topology, like the real target's `reset`: namespace n enabled in ANA group n;
// every port up; port 1 optimized for every group, the others non-optimized; no other groups.
// Changes raise the events they would raise one by one (ANA change, namespace changed).
void Core::reset_state() {
  auth_->auth_off();  // like the real target's reset: no host keys, allow_any_host 1
  bool ana_changed = false;
  for (auto& ns : namespaces_) {
    if (ns.anagrpid != ns.nsid) {
      ns.anagrpid = ns.nsid;
      ana_changed = true;
    }
  }
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    std::map<std::uint32_t, SimAnaState> want;
    for (const auto& ns : namespaces_) {
      want[ns.nsid] = i == 0 ? SimAnaState::Optimized : SimAnaState::NonOptimized;
    }
    if (ports_[i].ana != want) {
      ports_[i].ana = std::move(want);
      ana_changed = true;
    }
  }
  for (std::size_t i = 0; i < ports_.size(); ++i) set_linked(i, true);
  for (auto& ns : namespaces_) {
    if (!ns.enabled) {
      ns.enabled = true;
      ns_changed(ns.nsid);
    }
  }
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (!ports_[i].up && epfd_ >= 0) {
      if (auto r = listen_port(i); !r) {
        log(r.error().message);
      }
      ++disc_genctr_;
    }
  }
  if (ana_changed) {
    ++ana_chgcnt_;
    raise_aen(kAenAna, SIZE_MAX, false);
  }
}

std::string Core::status_text() const {
  std::string out;
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    std::string ana;
    for (const auto& [g, st] : ports_[i].ana) {
      ana += fmt::format(" {}={}", g, sim_ana_state_name(st));
    }
    std::size_t conns = 0;
    for (const auto& [p, l] : live_) {
      if (const auto* c = dynamic_cast<const Connection*>(p); c != nullptr && c->port() == i && !c->closed()) {
        ++conns;
      }
    }
    out += fmt::format("port {} tcp=127.0.0.1:{} linked={} connections={} ana:{}\n", i + 1, ports_[i].tcp_port,
                       ports_[i].up && ports_[i].linked ? 1 : 0, conns, ana);
  }
  for (const auto& ns : namespaces_) {
    out += fmt::format("ns {} enable={} ana_grpid={} dev=memory size={} nguid={} uuid={}\n", ns.nsid,
                       ns.enabled ? 1 : 0, ns.anagrpid, ns.store->size(), to_hex(ns.nguid),
                       wire::format_uuid(ns.uuid));
  }
  for (const auto& [id, c] : controllers_) {
    out += fmt::format("ctrl {} port {} {} host={} kato={} io_queues={} aers={}\n", id, c->port + 1,
                       c->discovery ? "discovery" : "nvm", c->hostnqn, c->kato_ms, c->io.size(), c->aers.size());
  }
  return out + auth_->status_lines();  // last, as the real target's
}

Result<std::string> Core::run_control(std::string_view line) {
  auto cmd = parse_control_line(line);
  if (!cmd) {
    return tl::unexpected(cmd.error());
  }
  switch (cmd->op) {
    case ControlOp::Ping: return std::string("pong\n");
    case ControlOp::Status: return status_text();
    case ControlOp::Reset: reset_state(); return std::string();
    case ControlOp::Ana: {
      auto idx = resolve_port(cmd->port);
      if (!idx) {
        return tl::unexpected(idx.error());
      }
      if (cmd->grpid > 128) {
        return make_error(Errc::InvalidArgument, fmt::format("bad ANA group '{}' (1..128)", cmd->grpid));
      }
      // Every write is a change, as with nvmet's configfs: CHGCNT + 1 and an ANA change AEN
      // to the controllers of that port.
      ports_[*idx].ana[cmd->grpid] = cmd->state;
      ++ana_chgcnt_;
      raise_aen(kAenAna, *idx, false);
      return std::string();
    }
    case ControlOp::Unlink:
    case ControlOp::Link: {
      auto idx = resolve_port(cmd->port);
      if (!idx) {
        return tl::unexpected(idx.error());
      }
      set_linked(*idx, cmd->op == ControlOp::Link);
      return std::string();
    }
    case ControlOp::PortDown: {
      auto idx = resolve_port(cmd->port);
      if (!idx) {
        return tl::unexpected(idx.error());
      }
      SimPort& p = ports_[*idx];
      if (p.up) {
        p.up = false;
        if (p.listener != nullptr) {
          retire(p.listener, p.listen_fd);
          p.listener = nullptr;
          p.listen_fd = -1;
        }
        close_port_connections(*idx);
        ++disc_genctr_;
        raise_aen(kAenDisc, SIZE_MAX, true);
      }
      return std::string();
    }
    case ControlOp::PortUp: {
      auto idx = resolve_port(cmd->port);
      if (!idx) {
        return tl::unexpected(idx.error());
      }
      if (!ports_[*idx].up) {
        if (auto r = listen_port(*idx); !r) {
          return tl::unexpected(r.error());
        }
        ++disc_genctr_;
        raise_aen(kAenDisc, SIZE_MAX, true);
      }
      return std::string();
    }
    case ControlOp::NsDown:
    case ControlOp::NsUp: {
      if (cmd->nsid > namespaces_.size()) {
        return make_error(Errc::NotFound, fmt::format("no such namespace: '{}'", cmd->nsid));
      }
      SimNamespace& ns = namespaces_[cmd->nsid - 1];
      const bool want = cmd->op == ControlOp::NsUp;
      if (ns.enabled != want) {
        ns.enabled = want;
        ns_changed(ns.nsid);
      }
      return std::string();
    }
    case ControlOp::NsGrp: {
      if (cmd->nsid > namespaces_.size()) {
        return make_error(Errc::NotFound, fmt::format("no such namespace: '{}'", cmd->nsid));
      }
      if (cmd->grpid > 128) {
        return make_error(Errc::InvalidArgument, fmt::format("bad ANA group '{}' (1..128)", cmd->grpid));
      }
      SimNamespace& ns = namespaces_[cmd->nsid - 1];
      if (ns.anagrpid != cmd->grpid) {
        ns.anagrpid = cmd->grpid;
        ++ana_chgcnt_;
        raise_aen(kAenAna, SIZE_MAX, false);
      }
      return std::string();
    }
    case ControlOp::AuthHost:
    case ControlOp::AuthOff:
    case ControlOp::AuthFault: return auth_->run_control(*cmd);
    default: return run_fault(*cmd);
  }
}

// ---- control socket ----

void CtlConnection::on_events(std::uint32_t events) {
  (void)events;
  char buf[4096];
  for (int i = 0; i < 16 && !closed_; ++i) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) {
      close();
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      if (errno != EINTR) {
        close();
        return;
      }
      continue;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = in_.find('\n')) != std::string::npos) {
      std::string line = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        continue;  // empty lines get no answer (as the real target)
      }
      auto r = core_.run_control(line);
      out_ += r ? *r + "OK\n" : "ERR " + r.error().message + "\n";
    }
    if (in_.size() > 4096) {
      out_ += "ERR line longer than 4096 bytes\n";
      flush();
      close();
      return;
    }
  }
  flush();
}

void CtlConnection::flush() {
  // Answers are small; a blocked socket here means the client does not read: give up on it.
  for (int i = 0; i < 100 && !out_.empty() && !closed_; ++i) {
    const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EINTR) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        close();
      }
      break;
    }
  }
}

void CtlConnection::close() {
  if (!closed_) {
    closed_ = true;
    core_.retire(this, fd_);
  }
}

}  // namespace nvmemp::sim
