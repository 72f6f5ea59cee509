// A path as the multipath engine drives it on one I/O thread: the ops table every transport
// implements (as SPDK's spdk_nvme_transport_ops). NVMe/TCP implements it in nvme_tcp_path.*;
// a SCSI block-device path (scsi_compat/) can implement the same operations later.
//
// Owner: one I/O thread. Completions come back through the CompleteFn given at creation, from
// that thread's reactor, never from inside submit().
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/bytes.h"
#include "common/clock.h"
#include "nvmemp/result.h"
#include "transport/queue_pair.h"

namespace nvmemp::multipath {

// Deallocate is Dataset Management with one range (AD), its 16 bytes in write_buf.
enum class IoOp : std::uint8_t { Read, Write, Flush, WriteZeroes, Deallocate };

// Changes the namespace's contents: lost with its connection, it must not be replayed on
// another path before the old controller can no longer execute it.
constexpr bool io_op_modifies(IoOp op) noexcept { return op == IoOp::Write || op == IoOp::WriteZeroes || op == IoOp::Deallocate; }
// Data bytes moved (counters): the buffer of a Read or Write, nothing otherwise.
constexpr bool io_op_moves_data(IoOp op) noexcept { return op == IoOp::Read || op == IoOp::Write; }
const char* io_op_name(IoOp op) noexcept;  // "read", "write", "flush", "write zeroes", "deallocate"


struct PathIo {
  IoOp op = IoOp::Read;
  std::uint32_t nsid = 0;
  std::uint64_t slba = 0;
  std::uint32_t nlb = 0;   // blocks (not 0-based)
  MutBytes read_buf;
  Bytes write_buf;
  void* user = nullptr;    // comes back in Completion::user
  bool fua = false;        // Write, WriteZeroes: Force Unit Access
  TimePoint now{};         // the caller's clock reading, if it has one: saves a read per I/O
};

class PathQueue {
 public:
  virtual ~PathQueue() = default;
  // Queues one command; returns a tag for abandon_read(). Fails when not live or full.
  virtual Result<std::uint16_t> submit(const PathIo& io) = 0;
  // Detaches the caller's buffer from an outstanding read: its data is dropped when it comes,
  // its completion carries `abandoned`. For a read re-issued on another path.
  virtual Result<void> abandon_read(std::uint16_t tag) = 0;
  // Connected and accepting commands.
  virtual bool live() const noexcept = 0;
  // The connection is gone and every command has completed: the object may be destroyed.
  virtual bool closed() const noexcept = 0;
  // Tears the connection down; outstanding commands complete (Host Pathing Error / Command
  // Aborted By Host) from later polls.
  virtual void close(const std::string& why) = 0;
  virtual std::uint32_t inflight() const noexcept = 0;
  // Last time anything arrived from the target on this queue.
  virtual TimePoint last_progress() const noexcept = 0;
  virtual const std::string& name() const noexcept = 0;
  // Renews the queue's in-band authentication (NVMe/TCP: IoQueue::reauthenticate). `done` from
  // a later poll: what was negotiated, or why not. A transport without it says so.
  using ReauthFn = std::function<void(const Result<std::string>& negotiated)>;
  virtual void reauthenticate(ReauthFn done) = 0;
};

}  // namespace nvmemp::multipath
