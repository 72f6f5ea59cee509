// Fault injection of the simulated target (the FaultPlan): blackhole with held writes,
// latency, fail-next, corrupt-digest, drop-after, never-complete/ka-ignore, reset-ctrl,
// restart, forced AENs. Every fault defaults to off; the control commands turn them on
// (tools/README.md).
#include <fmt/format.h>

#include "sim_auth.h"
#include "sim_connection.h"
#include "sim_core.h"
#include "wire/libnvme_types.h"

namespace nvmemp::sim {

std::vector<Connection*> Core::port_connections(std::size_t idx) {
  std::vector<Connection*> out;
  for (auto& [p, l] : live_) {
    if (auto* c = dynamic_cast<Connection*>(p); c != nullptr && c->port() == idx && !c->closed()) {
      out.push_back(c);
    }
  }
  return out;
}

void Core::hold_write(std::size_t port, const wire::Sqe& sqe, Bytes data) {
  const SimNamespace* ns = find_ns(sqe.nsid());
  const std::uint64_t slba = sqe.cdw(10) | (static_cast<std::uint64_t>(sqe.cdw(11)) << 32);
  const std::uint64_t nlb = (sqe.cdw(12) & 0xFFFF) + 1u;
  if (ns == nullptr || data.size() != nlb * cfg_.lba_size ||
      (slba + nlb) * cfg_.lba_size > ns->store->size() || ports_[port].held.size() >= 4096) {
    return;  // not a write that could ever have been applied
  }
  ports_[port].held.push_back(HeldWrite{ns->nsid, slba * cfg_.lba_size, std::vector<std::uint8_t>(data.begin(), data.end())});
}

void Core::restart() {
  // Like a target process restart with the same configuration: every connection and
  // controller goes, listeners are re-created on the same port numbers, the topology is back
  // to its initial state, faults are off; namespace data stays.
  std::vector<Connection*> all;
  for (auto& [p, l] : live_) {
    if (auto* c = dynamic_cast<Connection*>(p); c != nullptr) {
      all.push_back(c);
    }
  }
  for (Connection* c : all) {
    if (!retired(c)) {
      c->close("restart");
    }
  }
  controllers_.clear();
  fail_next_.clear();
  auth_->restart();  // auth off, auth faults off
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    SimPort& p = ports_[i];
    p.faults = PortFaults{};
    p.held.clear();
    if (p.listener != nullptr) {
      retire(p.listener, p.listen_fd);
      p.listener = nullptr;
      p.listen_fd = -1;
    }
    p.up = false;
  }
  reset_state();  // re-listens every port that is down
}

Result<std::string> Core::run_fault(const ControlCommand& cmd) {
  const auto port_of = [&]() { return resolve_port(cmd.port); };
  switch (cmd.op) {
    case ControlOp::Blackhole: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      ports_[*idx].faults.blackhole = cmd.on;
      if (!cmd.on) {
        for (Connection* c : port_connections(*idx)) {
          c->resume();
        }
      }
      return std::string();
    }
    case ControlOp::ApplyHeld:
    case ControlOp::DropHeld: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      auto held = std::move(ports_[*idx].held);
      ports_[*idx].held.clear();
      if (cmd.op == ControlOp::ApplyHeld && !cfg_.null_namespaces) {  // a null namespace discards writes
        for (const auto& w : held) {
          namespaces_[w.nsid - 1].store->write(w.offset, w.data);
        }
      }
      return fmt::format("{} {} held write(s)\n", cmd.op == ControlOp::ApplyHeld ? "applied" : "dropped", held.size());
    }
    case ControlOp::Latency: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      ports_[*idx].faults.latency_ms = cmd.count;
      return std::string();
    }
    case ControlOp::CorruptDigest: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      ports_[*idx].faults.corrupt_next_digest = true;
      return std::string();
    }
    case ControlOp::CorruptTls: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      ports_[*idx].faults.corrupt_next_tls = true;
      return std::string();
    }
    case ControlOp::TlsKeyUpdate: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      ports_[*idx].faults.tls_keyupdate = true;
      return std::string();
    }
    case ControlOp::DropAfter: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      ports_[*idx].faults.drop_after = cmd.count;
      return std::string();
    }
    case ControlOp::KaIgnore:
    case ControlOp::NeverComplete: {
      auto idx = port_of();
      if (!idx) return tl::unexpected(idx.error());
      auto& set = ports_[*idx].faults.never_complete;
      auto& steps = ports_[*idx].faults.hang_steps;
      if (cmd.step) {
        const std::uint32_t bit = 1u << static_cast<unsigned>(*cmd.step);
        steps = cmd.on ? steps | bit : steps & ~bit;
        return std::string();
      }
      const std::uint8_t opcode = cmd.op == ControlOp::KaIgnore ? std::uint8_t{nvme_admin_keep_alive} : cmd.opcode;
      if (cmd.on) {
        set.set(opcode);
      } else if (cmd.op == ControlOp::KaIgnore) {
        set.reset(opcode);
      } else {
        set.reset();
        steps = 0;
      }
      return std::string();
    }
    case ControlOp::FailNext:
      fail_next_[cmd.opcode] = FailRule{cmd.count, Status::from_parts(cmd.sct, cmd.sc, cmd.dnr, false, cmd.crd)};
      return std::string();
    case ControlOp::ResetCtrl: {
      Controller* ctrl = controller(static_cast<std::uint16_t>(cmd.cntlid));
      if (ctrl == nullptr) {
        return make_error(Errc::NotFound, fmt::format("no such controller: '{}'", cmd.cntlid));
      }
      if (ctrl->admin != nullptr) {
        ctrl->admin->close("reset-ctrl");  // deletes the controller and its I/O queues
      } else {
        controllers_.erase(static_cast<std::uint16_t>(cmd.cntlid));
      }
      return std::string();
    }
    case ControlOp::Restart:
      restart();
      return std::string();
    case ControlOp::AenNsChanged:
      if (find_ns(cmd.nsid) == nullptr) {
        return make_error(Errc::NotFound, fmt::format("no such namespace: '{}'", cmd.nsid));
      }
      ns_changed(cmd.nsid);
      return std::string();
    case ControlOp::AenDiscoveryChanged:
      ++disc_genctr_;
      raise_aen(kAenDisc, SIZE_MAX, true);
      return std::string();
    case ControlOp::Hostile:
    case ControlOp::Trickle:
    case ControlOp::GenctrChurn:
    case ControlOp::Crdt:
    case ControlOp::AenStorm: return run_hostile(cmd);
    default: break;
  }
  return make_error(Errc::InvalidArgument, "not a fault command");
}

// fail-next: the next K I/O commands with this opcode complete with the chosen status.
std::optional<Status> Core::take_failure(std::uint8_t opcode) {
  auto it = fail_next_.find(opcode);
  if (it == fail_next_.end()) {
    return std::nullopt;
  }
  const Status st = it->second.status;
  if (--it->second.left == 0) {
    fail_next_.erase(it);
  }
  return st;
}

}  // namespace nvmemp::sim
