// One NBD client connection, served on an I/O thread's ring (nvmemp::Stream): the NBD codec
// (nbd_proto.h) turns the client's bytes into requests, each request becomes NVMe commands on
// the namespace head through that thread's IoContext, and the reply goes back on the same
// thread. Nothing here takes a lock.
//
// - READ/WRITE are split at the head's largest transfer; WRITE with FUA becomes NVMe writes
//   with FUA; FLUSH -> Flush; TRIM -> Dataset Management (deallocate); WRITE_ZEROES -> Write
//   Zeroes (split at 65536 blocks).
// - A client that did not negotiate block sizes may send requests that are not aligned to the
//   namespace's block size: a READ reads the covering blocks and replies with the part asked
//   for; a WRITE or WRITE_ZEROES is a read-modify-write of the covering blocks that runs alone
//   (every earlier request finished, no later one started until it is done), so that two
//   requests sharing a block cannot undo each other; a TRIM is shrunk to its aligned part.
// - At most kWindow NVMe commands per connection are outstanding; later requests wait in order.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nbd_proto.h"
#include "nvmemp/mpath.h"

namespace nvmemp::mpathd {

// An export as one connection serves it: what is announced and the head behind it.
struct ExportTarget {
  nbd::ExportInfo info;
  std::uint32_t head = 0;
  std::uint32_t block_size = 512;
  std::uint32_t max_transfer = 1u << 20;  // bytes per NVMe command
};

class NbdConnection final : public Stream {
 public:
  static constexpr unsigned kWindow = 64;
  // Requests received but not started: beyond these the connection stops reading the client
  // (a client pipelining 32 MiB writes without end must not exhaust memory).
  static constexpr std::size_t kMaxQueuedRequests = 1024;
  static constexpr std::size_t kMaxQueuedBytes = 128u << 20;

  // `on_gone` runs (on this thread) once the connection is closed and no request of it is
  // outstanding: the owner may destroy it then.
  NbdConnection(IoContext& io, std::vector<ExportTarget> exports, std::string peer,
                std::function<void(NbdConnection*)> on_gone);
  ~NbdConnection() override;

  // Queues the greeting; call once before IoContext::attach_stream().
  void start();
  // The daemon stops: requests from now on get NBD_ESHUTDOWN; the connection closes once the
  // requests in flight are answered.
  void shutdown();
  // The IoContext is about to be destroyed with requests still outstanding: callbacks that
  // still come must touch nothing.
  void abandon() { abandoned_ = true; }
  const std::string& peer() const noexcept { return peer_; }

  // Stream
  Result<void> on_receive(std::span<const std::uint8_t> bytes) override;
  std::size_t gather(std::span<iovec> out) override;
  void on_sent(std::size_t n) override;
  bool finished() const noexcept override;
  bool receiving() const noexcept override {
    return queue_.size() < kMaxQueuedRequests && queued_bytes_ < kMaxQueuedBytes;
  }
  void on_closed(const std::string& reason) override;

 private:
  struct Op;
  struct TxItem {
    std::vector<std::uint8_t> head;  // reply header or handshake bytes
    std::vector<std::uint8_t> body;  // a READ's data
    std::size_t body_off = 0, body_len = 0;
    std::size_t size() const noexcept { return head.size() + body_len; }
  };

  void handle(nbd::Request&& req);
  void pump();
  bool submit_more(Op& op);
  void on_chunk(Op& op, const IoResult& r);
  void complete(Op& op);
  void reply(Op& op);
  void send(TxItem item);
  static void chunk_done(void* arg, const IoResult& r);

  IoContext& io_;
  std::vector<ExportTarget> exports_;
  std::string peer_;
  std::function<void(NbdConnection*)> on_gone_;
  nbd::ServerSession session_;
  const ExportTarget* target_ = nullptr;  // the export chosen, once in transmission

  std::deque<std::unique_ptr<Op>> queue_;  // requests not fully submitted yet, in order
  std::vector<std::unique_ptr<Op>> active_;  // submitted at least in part, not answered
  unsigned chunks_inflight_ = 0;
  std::size_t queued_bytes_ = 0;  // WRITE payloads in queue_
  bool exclusive_running_ = false;

  std::deque<TxItem> tx_;
  std::size_t tx_sent_ = 0;  // bytes of tx_.front() sent already
  std::vector<std::uint8_t> out_;  // scratch for the codec
  std::vector<nbd::Request> requests_;  // scratch for the codec

  bool shutting_down_ = false;
  bool closed_ = false;
  bool abandoned_ = false;
  bool gone_reported_ = false;
};

}  // namespace nvmemp::mpathd
