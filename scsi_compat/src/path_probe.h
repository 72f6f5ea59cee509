// Telling a path error from a target error on a SCSI path (issue 7, "events, not polling"):
//
// 1. classify_io_errno(): an I/O error as dm-multipath judges it (blk_path_error() in
//    include/linux/blk_types.h over the errnos of block/blk-core.c's blk_errors table): the
//    statuses that a retry on another path cannot fix are not path errors:
//      EOPNOTSUPP (BLK_STS_NOTSUPP), ENOSPC (BLK_STS_NOSPC), EREMOTEIO (BLK_STS_TARGET),
//      EBADE (BLK_STS_NEXUS, renamed BLK_STS_RESV_CONFLICT in 6.5), ENODATA (BLK_STS_MEDIUM),
//      EILSEQ (BLK_STS_PROTECTION).
//    Everything else (EIO, ETIMEDOUT, ENOLINK, ENODEV, ENOMEM, EAGAIN, ...) may be the path's,
//    exactly as the kernel says; a caller's own mistake (EINVAL for a misaligned O_DIRECT buffer)
//    must not reach this function. A path error is then confirmed by one probe of that path.
// 2. PathProber: the probe, behind an interface tests fake.
// 3. make_sg_path_prober(): TEST UNIT READY through SG_IO (timeout in sg_io_hdr), decoded by
//    decode_tur() (pure); when the device takes no SG_IO (ENOTTY, EINVAL, ENOIOCTLCMD: loop,
//    virtio-blk, nvme) multipath-tools' "directio" check instead: an O_DIRECT read of the first
//    4 KiB through io_uring with a linked timeout. The probe runs on its own thread and the
//    caller waits at most timeout + 0.5 s whatever the device does; a device whose previous
//    probe is still stuck in the kernel is reported Down without starting another.
// 4. REPORT TARGET PORT GROUPS: the CDB and a pure decoder of the returned bytes.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nvmemp/result.h"

namespace nvmemp::scsi {

// ---- I/O errors ---------------------------------------------------------------------------

enum class IoErrorClass { None, PathError, TargetError };
// `err` as errno or as a negative io_uring result (-EIO); 0 is None.
IoErrorClass classify_io_errno(int err);
const char* io_error_class_name(IoErrorClass c);

// ---- probe results ------------------------------------------------------------------------

enum class ProbeState {
  Up,             // the logical unit answered ready (or with a unit attention) through this path
  Down,           // no answer, a transport failure, or an error that leaves the path unusable
  Transitioning,  // NOT READY, 04/0A: ALUA state transition
  Standby,        // NOT READY, 04/0B: target port in standby
  Unavailable,    // NOT READY, 04/0C unavailable or 04/12 offline
  NotReady,       // NOT READY for another reason (becoming ready, no medium, ...)
};
const char* probe_state_name(ProbeState s);

enum class ProbeMethod { None, Tur, Directio };

struct SenseInfo {
  std::uint8_t response_code = 0;  // 0x70/0x71 fixed, 0x72/0x73 descriptor
  std::uint8_t key = 0;
  std::uint8_t asc = 0;
  std::uint8_t ascq = 0;
  friend bool operator==(const SenseInfo&, const SenseInfo&) = default;
};

struct ProbeResult {
  ProbeState state = ProbeState::Down;
  std::string detail;                // what was seen, for logs and `list`
  ProbeMethod method = ProbeMethod::None;
  std::optional<SenseInfo> sense;    // when the target returned sense data
  bool reached_target = false;       // the answer came from the target through this path
  bool retry = false;                // transient (unit attention, bus reset, busy): asking again may say more
};

// Fixed (0x70/0x71) and descriptor (0x72/0x73) formats; nullopt for anything else or too short.
std::optional<SenseInfo> parse_sense(std::span<const std::uint8_t> sense);

// TEST UNIT READY's outcome from sg_io_hdr's status (the SCSI status byte), host_status,
// driver_status and the sense bytes written (sb_len_wr of them). Pure.
ProbeResult decode_tur(std::uint8_t status, std::uint16_t host_status, std::uint16_t driver_status,
                       std::span<const std::uint8_t> sense);

class PathProber {
 public:
  virtual ~PathProber() = default;
  // Probe the path whose block device is `dev_node` ("/dev/sdc"); bounded by `timeout`.
  virtual ProbeResult probe(const std::string& dev_node, std::chrono::milliseconds timeout) = 0;
};

// TUR through SG_IO with the directio fallback (see above). Thread-safe.
std::unique_ptr<PathProber> make_sg_path_prober();

// ---- REPORT TARGET PORT GROUPS (SPC-4 6.37) ---------------------------------------------

// The 12-byte CDB (MAINTENANCE IN, service action 0x0A); `extended` asks for the extended
// header (parameter data format 001b, with the implicit transition time).
std::array<std::uint8_t, 12> rtpg_cdb(std::uint32_t allocation_length, bool extended);

struct TargetPortGroupDesc {
  std::uint16_t id = 0;
  std::uint8_t state = 0;         // asymmetric access state (0 AO, 1 AN, 2 S, 3 U, 4 LBD, 0xE O, 0xF T)
  bool preferred = false;         // PREF
  std::uint8_t supported = 0;     // byte 1: T_SUP O_SUP . LBD_SUP U_SUP S_SUP AN_SUP AO_SUP
  std::uint8_t status_code = 0;   // 0 none, 1 altered by SET TARGET PORT GROUPS, 2 altered implicitly
  std::vector<std::uint16_t> relative_ports;
};
struct RtpgData {
  bool extended = false;
  std::uint8_t implicit_transition_secs = 0;  // extended header only
  std::vector<TargetPortGroupDesc> groups;
};
// The returned parameter data. Truncated (its message names the length needed) when the
// bytes end before the length the header announces: re-issue with a larger allocation.
Result<RtpgData> parse_rtpg(std::span<const std::uint8_t> data);

// The state as the kernel's `device/access_state` spells it ("active/optimized", ...,
// "transitioning"; "invalid" otherwise), so alua.h's table maps it.
const char* alua_state_name(std::uint8_t state);

}  // namespace nvmemp::scsi
