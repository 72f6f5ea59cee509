// Status: the NVMe completion status of one command, as a 2-byte value for the I/O path.
//
// It holds the CQE Status Field whole, in the form the Linux kernel and libnvme use: the
// upper 15 bits of CQE DW3 bits 31:16 (`cqe.status >> 1`, the phase tag dropped):
//   bits  7:0  SC   status code
//   bits 10:8  SCT  status code type (0 generic, 1 command specific, 2 media, 3 path, 7 vendor)
//   bits 12:11 CRD  command retry delay, an index into Identify Controller CRDT1-3
//   bit  13    MORE more information in the Error Information log page
//   bit  14    DNR  do not retry
// (NVMe Base 2.0, "Completion Queue Entry: Status Field"). libnvme's NVME_SC_* constants are
// bare SC values: NVME_SC_HOST_PATH_ERROR is 0x70, the whole status is 0x370, and SC 0x02
// means Invalid Field in Command under SCT 0 but ANA Inaccessible under SCT 3, so every
// comparison here looks at SCT and SC together.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

namespace nvmemp {

// Which command a status answers: SCT 1 codes 0x80-0xBF mean Connect/Authentication errors
// for Fabrics commands (opcode 0x7F) and command-set errors for NVM and admin commands
// (0x182 is "Connect Invalid Parameters" for one, "Attempted Write to Read Only Range" for
// the other). Only text depends on it.
enum class StatusContext : std::uint8_t { Command, FabricsCommand };

class Status {
 public:
  // Status Code Types (NVMe Base 2.0, figure "Status Code - Status Code Type Values").
  static constexpr std::uint8_t kSctGeneric = 0x0;
  static constexpr std::uint8_t kSctCommandSpecific = 0x1;
  static constexpr std::uint8_t kSctMedia = 0x2;
  static constexpr std::uint8_t kSctPath = 0x3;
  static constexpr std::uint8_t kSctVendor = 0x7;

  // Path related status codes (SCT 3).
  static constexpr std::uint8_t kScInternalPathError = 0x00;
  static constexpr std::uint8_t kScAnaPersistentLoss = 0x01;
  static constexpr std::uint8_t kScAnaInaccessible = 0x02;
  static constexpr std::uint8_t kScAnaTransition = 0x03;
  static constexpr std::uint8_t kScControllerPathError = 0x60;
  static constexpr std::uint8_t kScHostPathError = 0x70;
  static constexpr std::uint8_t kScAbortedByHost = 0x71;

  constexpr Status() noexcept = default;  // Successful Completion
  // From the kernel/libnvme form (`cqe.status >> 1`); bit 15 does not exist there and is dropped.
  constexpr explicit Status(std::uint16_t raw) noexcept : raw_(static_cast<std::uint16_t>(raw & 0x7FFF)) {}

  // From CQE bytes 14-15 as loaded (phase tag in bit 0).
  static constexpr Status from_cqe_field(std::uint16_t status_and_phase) noexcept {
    return Status(static_cast<std::uint16_t>(status_and_phase >> 1));
  }
  static constexpr Status from_parts(std::uint8_t sct, std::uint8_t sc, bool dnr = false, bool more = false,
                                     std::uint8_t crd = 0) noexcept {
    return Status(static_cast<std::uint16_t>(sc | ((sct & 0x7u) << 8) | ((crd & 0x3u) << 11) |
                                             (more ? 1u << 13 : 0u) | (dnr ? 1u << 14 : 0u)));
  }
  static constexpr Status success() noexcept { return Status(); }
  // Made by the host, never sent by a controller: the command could not be sent or its
  // connection was lost (0x370), or the host cancelled it in recovery (0x371). Kernel
  // nvme_host_path_error() and nvme_cancel_request() use the same values.
  static constexpr Status host_path_error() noexcept { return from_parts(kSctPath, kScHostPathError); }
  static constexpr Status aborted_by_host() noexcept { return from_parts(kSctPath, kScAbortedByHost); }

  constexpr std::uint16_t raw() const noexcept { return raw_; }
  constexpr std::uint8_t sc() const noexcept { return static_cast<std::uint8_t>(raw_ & 0xFF); }
  constexpr std::uint8_t sct() const noexcept { return static_cast<std::uint8_t>((raw_ >> 8) & 0x7); }
  constexpr std::uint8_t crd() const noexcept { return static_cast<std::uint8_t>((raw_ >> 11) & 0x3); }
  constexpr bool more() const noexcept { return (raw_ >> 13) & 1; }
  constexpr bool dnr() const noexcept { return (raw_ >> 14) & 1; }
  // SCT and SC without the flags: 0x302 for ANA Inaccessible whatever DNR/MORE/CRD say.
  constexpr std::uint16_t code() const noexcept { return static_cast<std::uint16_t>(raw_ & 0x7FF); }

  // Success is SCT 0 / SC 0; the flag bits carry no meaning on success and are ignored.
  constexpr bool ok() const noexcept { return code() == 0; }
  // Path related status (SCT 3): the command may succeed through another path.
  constexpr bool is_path_error() const noexcept { return sct() == kSctPath; }
  // ANA Persistent Loss / Inaccessible / Transition: re-read the ANA log (NVMe Base 2.0 8.1.3).
  constexpr bool is_ana_error() const noexcept {
    return sct() == kSctPath && sc() >= kScAnaPersistentLoss && sc() <= kScAnaTransition;
  }

  // "Asymmetric Access Inaccessible (sct 0x3 sc 0x02, dnr)": the short name from libnvme's
  // nvme_status_to_string(), then SCT/SC in hex and the flags that are set (dnr, more,
  // crd N). Allocates: for messages and logs, not the I/O path.
  std::string to_string(StatusContext ctx = StatusContext::Command) const;

  friend constexpr bool operator==(Status, Status) noexcept = default;

 private:
  std::uint16_t raw_ = 0;
};

static_assert(sizeof(Status) == 2 && std::is_trivially_copyable_v<Status>);
static_assert(Status::host_path_error().raw() == 0x370 && Status::aborted_by_host().raw() == 0x371);

}  // namespace nvmemp
