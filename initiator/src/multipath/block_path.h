// The block-device implementation of PathQueue: one path of a SCSI logical unit (scsi_compat/)
// is a block device node (/dev/sdX) opened with O_DIRECT; its commands are reads, writes and
// fsyncs on this thread's io_uring ring (Reactor::raw_sqe), so they complete on the same
// thread as the NVMe/TCP paths' commands.
//
// Errors: a failed operation completes with the status block_status() maps its errno to. Path
// errors (dm-multipath's blk_path_error(): everything but the six errnos below) become Host
// Pathing Error (SCT 3 SC 0x70) with reached_controller false: the SCSI midlayer has finished
// with the command (completed, or aborted by its error handler) before the errno reaches us,
// so it cannot execute later and a write may go down another path at once. The others are
// errors of the logical unit itself and complete with DNR:
//   ENODATA (medium) → Unrecovered Read Error, EILSEQ (protection) → End-to-end Guard Check
//   Error, EREMOTEIO (target) → Internal Error, EBADE (nexus: reservation) → Reservation
//   Conflict, ENOSPC → Capacity Exceeded, EOPNOTSUPP → Invalid Command Opcode.
//
// abandon_read() is refused: an O_DIRECT read lands in the caller's buffer whenever it
// completes, so a stalled block path keeps its reads (the SCSI layer's own command timeout
// ends them) while new I/O avoids it.
#pragma once

#include <memory>
#include <string>

#include "multipath/path_queue.h"
#include "transport/reactor.h"

namespace nvmemp::multipath {

struct BlockPathConfig {
  std::string name;               // "sdb (2:0:0:0)" for messages
  std::uint32_t block_size = 512; // logical block size of the device
  std::uint16_t queue_size = 128; // commands in flight at most
};

// The status of a block operation that failed with -errno `err` (see above).
Status block_status(int err) noexcept;
// True when `err` is a path error (dm-multipath's blk_path_error()).
bool block_path_error(int err) noexcept;

// Takes `fd` (the device opened O_RDWR | O_DIRECT; closed when the queue is destroyed).
std::unique_ptr<PathQueue> open_block_path(transport::Reactor& reactor, const Clock& clock,
                                           const BlockPathConfig& cfg, int fd,
                                           transport::CompletionFn on_complete, void* ctx);

}  // namespace nvmemp::multipath
