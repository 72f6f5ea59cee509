// NVM I/O commands of the simulated target (NVM Command Set 1.0 section 3): Read, Write,
// Flush, Write Zeroes, Dataset Management (deallocate); namespace and ANA state checks as
// nvmet does them (drivers/nvme/target/core.c, nvmet_parse_io_cmd()).
#include "sim_connection.h"
#include "sim_core.h"
#include "wire/libnvme_types.h"

namespace nvmemp::sim {

using namespace wire;

namespace {

// An I/O command on a namespace whose ANA group is not accessible through this port fails
// with the path status of its state (NVMe Base 2.0 8.1.3): the host fails over.
std::optional<CmdResult> ana_refusal(SimAnaState st) {
  switch (st) {
    case SimAnaState::Optimized:
    case SimAnaState::NonOptimized: return std::nullopt;
    case SimAnaState::Inaccessible: return status_result(Status::kSctPath, Status::kScAnaInaccessible, false);
    case SimAnaState::PersistentLoss: return status_result(Status::kSctPath, Status::kScAnaPersistentLoss, false);
    case SimAnaState::Change: return status_result(Status::kSctPath, Status::kScAnaTransition, false);
  }
  return status_result(Status::kSctPath, Status::kScAnaInaccessible, false);
}

}  // namespace

SimAnaState Core::ana_state(std::size_t port, std::uint32_t grpid) const {
  const auto& m = ports_[port].ana;
  auto it = m.find(grpid);
  return it == m.end() ? SimAnaState::Inaccessible : it->second;
}

const SimNamespace* Core::find_ns(std::uint32_t nsid) const {
  if (nsid == 0 || nsid > namespaces_.size()) {
    return nullptr;
  }
  return &namespaces_[nsid - 1];
}

CmdResult Core::execute_io(Connection& c, Controller& ctrl, const Sqe& sqe, Bytes data) {
  if (sqe.opcode() == kOpcodeFabrics) {
    // Disconnect (0x08) of an I/O queue: acknowledged; the host then closes the connection.
    // Authentication Send / Receive (0x05 / 0x06): every I/O queue authenticates on its own.
    if (sqe.fctype() == 0x05 || sqe.fctype() == 0x06) {
      return authentication(c, ctrl, sqe, data);
    }
    return sqe.fctype() == 0x08 ? CmdResult{} : status_result(Status::kSctGeneric, kScInvalidField);
  }
  if (auth_required(c, ctrl)) {  // nvmet_parse_io_cmd: before the controller's state
    return status_result(Status::kSctCommandSpecific, kScAuthRequired);
  }
  if (!(ctrl.csts & 0x1u)) {  // CSTS.RDY
    return status_result(Status::kSctGeneric, kScCmdSeqError);
  }
  const std::uint8_t op = sqe.opcode();
  if (auto injected = take_failure(op)) {  // fail-next
    CmdResult r;
    r.status = *injected;
    return r;
  }
  if (op != nvme_cmd_flush && op != nvme_cmd_write && op != nvme_cmd_read && op != nvme_cmd_write_zeroes &&
      op != nvme_cmd_dsm) {
    return status_result(Status::kSctGeneric, kScInvalidOpcode);
  }
  const SimNamespace* ns = find_ns(sqe.nsid());
  if (ns == nullptr) {
    return status_result(Status::kSctGeneric, kScInvalidNs);
  }
  if (!ns->enabled) {  // configured but disabled: nvmet answers Internal Path Error
    return status_result(Status::kSctPath, Status::kScInternalPathError, false);
  }
  if (auto refused = ana_refusal(ana_state(c.port(), ns->anagrpid))) {
    return *refused;
  }
  NamespaceStore& store = *namespaces_[ns->nsid - 1].store;
  const std::uint64_t lba = cfg_.lba_size;
  const std::uint64_t nsze = store.size() / lba;
  if (op == nvme_cmd_flush) {
    return CmdResult{};
  }
  if (op == nvme_cmd_dsm) {
    const std::uint32_t nr = (sqe.cdw(10) & 0xFF) + 1;
    if (data.size() != nr * kDsmRangeLen) {
      return status_result(Status::kSctGeneric, kScSglLengthInvalid);
    }
    for (std::uint32_t i = 0; i < nr; ++i) {
      const std::uint64_t nlb = load_le32(data, i * kDsmRangeLen + 4);
      const std::uint64_t slba = load_le64(data, i * kDsmRangeLen + 8);
      if (slba > nsze || nlb > nsze - slba) {
        return status_result(Status::kSctGeneric, kScLbaRange);
      }
    }
    if ((sqe.cdw(11) & kDsmAttrDeallocate) != 0 && !cfg_.null_namespaces) {
      for (std::uint32_t i = 0; i < nr; ++i) {  // deallocated blocks read as zeros
        store.zero(load_le64(data, i * kDsmRangeLen + 8) * lba, load_le32(data, i * kDsmRangeLen + 4) * lba);
      }
    }
    return CmdResult{};
  }
  const std::uint64_t slba = sqe.cdw(10) | (static_cast<std::uint64_t>(sqe.cdw(11)) << 32);
  const std::uint64_t nlb = (sqe.cdw(12) & 0xFFFF) + 1u;
  if (slba > nsze || nlb > nsze - slba) {
    return status_result(Status::kSctGeneric, kScLbaRange);
  }
  const std::uint64_t off = slba * lba;
  const std::uint64_t len = nlb * lba;
  if (op == nvme_cmd_write_zeroes) {
    if (!cfg_.null_namespaces) {
      store.zero(off, len);
    }
    return CmdResult{};
  }
  if (op == nvme_cmd_read) {
    if (sqe.sgl1().length != len) {
      return status_result(Status::kSctGeneric, kScSglLengthInvalid);
    }
    if (len > kMaxTransferBytes) {  // MDTS
      return status_result(Status::kSctGeneric, kScInvalidField);
    }
    CmdResult r;
    if (cfg_.null_namespaces) {
      r.zero_len = static_cast<std::uint32_t>(len);  // <= MDTS, checked above
      return r;
    }
    r.data.resize(len);
    store.read(off, r.data);
    return r;
  }
  if (data.size() != len) {  // Write: the data moved (in capsule or by R2T) must be NLB blocks
    return status_result(Status::kSctGeneric, kScSglLengthInvalid);
  }
  if (!cfg_.null_namespaces) {
    store.write(off, data);
  }
  return CmdResult{};
}

}  // namespace nvmemp::sim
