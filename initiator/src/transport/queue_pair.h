// One NVMe/TCP queue pair as a sans-I/O state machine: it turns commands into bytes to send
// and received bytes into completions, and never touches a socket. The reactor (or a test)
// moves the bytes: gather_tx() → send → sent(n); rx_iov() → recv → received_into(n) (the
// RxSink seam, rx_sink.h: read data lands in the caller's buffer once), or received(bytes).
//
// Life: New → (start) IcSent → (valid ICResp) Live → Failed. Commands are accepted when Live.
// A command completes once its response is in *and* every byte it sends (capsule, H2CData)
// has left, so the caller's buffers are free when the callback runs. Any protocol violation
// by the controller fails the whole queue pair with a logged reason; the commands in flight
// then complete with Host Pathing Error (never sent) or Command Aborted By Host (sent).
//
// Owner: one thread (the I/O thread of its ring). Nothing here locks or allocates per command:
// the slots and the TX ring are sized at construction from queue_size.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <sys/uio.h>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "nvmemp/result.h"
#include "nvmemp/status.h"
#include "transport/cid.h"
#include "transport/rx_sink.h"
#include "wire/rx_framer.h"
#include "wire/sqe.h"

namespace nvmemp::transport {

struct QueuePairConfig {
  std::uint16_t qid = 0;
  std::uint16_t queue_size = 128;       // commands in flight at most (≤ 4096)
  bool hdgst = false;                   // header digest requested in ICReq
  bool ddgst = false;                   // data digest requested in ICReq
  std::uint32_t max_icd = 0;            // in-capsule data limit (admin 8 KiB, I/O IOCCSZ×16−64)
  std::uint32_t max_data_len = 1u << 20;  // largest transfer of one command (MDTS)
  Nanos io_timeout = std::chrono::seconds(30);  // per command; expiry fails the queue pair
  // From start() to a valid ICResp; expiry fails the queue pair (through check_timeouts(),
  // which the reactor runs). 0: no deadline (the owner watches the handshake itself).
  Nanos icresp_timeout{0};
  std::string name;                     // for messages: "nqn @ 127.0.0.1:4420 qid 1"
};

// What a command brings: its SQE (CID set here) and its data buffer. For a read the buffer
// receives the data; for a write it is sent as is. Both must stay valid until completion.
struct Command {
  wire::Sqe sqe;
  MutBytes read_buf;   // controller → host data (Read, Identify, Get Log Page)
  Bytes write_buf;     // host → controller data (Write, Connect, DSM ranges)
  void* user = nullptr;
  // No deadline: an Asynchronous Event Request waits for an event however long it takes.
  bool no_timeout = false;
  // This command's deadline instead of the queue's io_timeout when > 0 (a Fabrics Connect
  // bounded by what is left of connect_timeout).
  Nanos timeout{0};
  // When the caller just read the clock: the deadline starts from it (one clock read less per
  // I/O; a clock read costs ~1 % of an I/O here). {}: submit() reads the clock.
  TimePoint now{};
};

struct Completion {
  Status status;
  std::uint32_t dw0 = 0;
  std::uint32_t dw1 = 0;
  // False when not one byte of the command left this host: failover of a write is safe at
  // once. True when it may have reached the controller (see issue 5: late writes).
  bool reached_controller = false;
  // The read was abandoned (abandon_read()) before it completed: its data went nowhere and
  // the caller's buffer was not touched after abandon_read() returned.
  bool abandoned = false;
  void* user = nullptr;
};

using CompletionFn = void (*)(void* ctx, const Completion& c);
// Called from received() once a valid ICResp made the queue pair live (commands may be
// submitted from it).
using LiveFn = void (*)(void* ctx);

enum class QpState : std::uint8_t { New, IcSent, Live, Failed };
const char* qp_state_name(QpState s) noexcept;

class QueuePair final : public RxSink {
 public:
  QueuePair(const QueuePairConfig& cfg, const Clock& clock, CompletionFn on_complete, void* ctx);
  ~QueuePair();
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;

  // Queues the ICReq. From New only.
  Result<void> start();

  // Queues a command; the callback runs later from received()/sent()/fail(), never from here.
  // Errors: not Live, queue full, data larger than max_data_len, buffer/SGL mismatch.
  Result<std::uint16_t> submit(const Command& cmd);

  // Receiving (RxSink): where the next bytes go (a read's buffer inside its C2HData payload,
  // else the staging buffer), and how many landed. An error means the queue pair has failed
  // (reason in the error).
  std::size_t rx_iov(std::span<iovec> out) override;
  bool rx_iov_borrowed() const noexcept override { return framer_.payload_pending(); }
  std::size_t rx_want() const noexcept override { return framer_.rx_want(); }
  Result<void> received_into(std::size_t n) override;
  // Bytes already in memory (tests, tools): copied once to where rx_iov() says.
  Result<void> received(Bytes bytes) { return deliver(*this, bytes); }

  // Fills `out` with iovecs of bytes waiting to be sent, in order; returns how many. The
  // memory they point to stays put until sent() or send_failed() reports on that send.
  std::size_t gather_tx(std::span<iovec> out);
  bool has_tx() const noexcept { return tx_count_ > 0 || !r2t_fifo_empty(); }
  // `n` bytes of what gather_tx() offered have been sent.
  void sent(std::size_t n);
  // The send of what gather_tx() offered failed (the queue pair should be failed too).
  void send_failed();

  // Detaches the read buffer of outstanding read `cid` (the same command issued again on
  // another path while this copy is still out): its C2HData is still checked (offsets,
  // lengths, digests) so the stream stays in step, but copied nowhere, and its completion,
  // success or failure, carries abandoned = true. The caller may reuse the buffer at once.
  // Errors (InvalidArgument): `cid` is not a read in flight (unknown, old generation, no
  // controller-to-host data).
  Result<void> abandon_read(std::uint16_t cid);

  // Fails the queue pair when a command has outlived its deadline (io_timeout or its own),
  // or the ICResp has not come within icresp_timeout. Returns true if it did.
  bool check_timeouts();

  // Tears down: every command in flight completes (Host Pathing Error / Aborted By Host).
  // Idempotent; the first reason is kept. While a send is in flight (gather_tx() without
  // sent()/send_failed() yet) the completions wait for it: the kernel may still be reading
  // a caller's write buffer.
  void fail(std::string reason);

  QpState state() const noexcept { return state_; }
  const std::string& failure() const noexcept { return failure_; }
  const wire::IcResp& icresp() const noexcept { return icresp_; }
  std::uint16_t inflight() const noexcept { return inflight_; }
  const QueuePairConfig& config() const noexcept { return cfg_; }
  // When bytes last came in from the controller (TimePoint{} before the first): a queue with
  // commands out and no progress for long is stalled (a blackholed path). Compare with the
  // age of the oldest command too: an idle queue makes no progress either.
  TimePoint last_progress() const noexcept { return last_progress_; }
  // `fn(ctx)` runs once when the queue pair becomes live (ctx as given to the constructor).
  void on_live(LiveFn fn) noexcept { on_live_ = fn; }

 private:
  struct Slot;
  struct TxPdu;

  void on_pdu(const wire::Pdu& pdu);
  void on_icresp(const wire::IcResp& r);
  void on_capsule_resp(const wire::CapsuleResp& r);
  struct Placement {
    bool ok = false;                 // false: the queue pair failed over this header
    std::uint8_t* dst = nullptr;     // where the data goes; nullptr: nowhere (abandoned read)
  };
  Placement on_c2h_header(const wire::C2HDataHeader& h);
  void on_c2h_end(const wire::C2HDataHeader& h, bool digest_ok);
  void on_r2t(const wire::R2T& r);
  Slot* lookup(std::uint16_t cid, const char* what);
  void protocol_error(std::string why);
  void maybe_complete(std::uint16_t tag);
  void complete(std::uint16_t tag, const Completion& c);
  void fill_h2c();
  void complete_all_failed();
  void advance_tx(std::size_t n);
  TxPdu* tx_push();
  bool r2t_fifo_empty() const noexcept { return r2t_head_ == r2t_tail_; }

  QueuePairConfig cfg_;
  const Clock& clock_;
  CompletionFn on_complete_;
  void* ctx_;
  LiveFn on_live_ = nullptr;
  QpState state_ = QpState::New;
  TimePoint last_progress_{};
  TimePoint icresp_deadline_ = TimePoint::max();
  std::string failure_;
  wire::IcResp icresp_;
  wire::TxParams tx_params_;
  wire::RxFramer framer_;
  std::uint16_t rx_tag_ = 0xFFFF;  // the read whose C2HData payload is being received
  bool tx_in_flight_ = false;      // gather_tx() handed out memory not yet reported on
  bool failed_unreported_ = false; // fail() happened while tx_in_flight_

  std::vector<Slot> slots_;
  std::vector<std::uint16_t> free_tags_;  // LIFO of free slots
  std::uint16_t inflight_ = 0;

  // TX ring of PDUs to send; head is partly sent by tx_head_sent_ bytes.
  std::vector<TxPdu> tx_;
  std::size_t tx_head_ = 0;
  std::size_t tx_count_ = 0;
  std::size_t tx_head_sent_ = 0;

  // Commands with R2T data still to turn into H2CData PDUs (when the TX ring has room).
  std::vector<std::uint16_t> r2t_fifo_;
  std::size_t r2t_head_ = 0;
  std::size_t r2t_tail_ = 0;
};

}  // namespace nvmemp::transport
