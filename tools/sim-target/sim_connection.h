// One NVMe/TCP connection (= one queue) of the simulated target, and the control-socket
// connection. Loop thread only.
//
// Receive side: the codec's RxParser turns bytes into PDUs; commands are queued and executed
// by pump() only while the send queue is below its high mark, so the receive side always
// keeps parsing (H2CData for writes in progress keeps flowing) and the send queue stays
// bounded. Commands outstanding per queue are bounded by the host's queue size; a host that
// exceeds it by far is cut off.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim_auth.h"
#include "sim_core.h"
#include "tls/tls_session.h"
#include "wire/pdu_codec.h"
#include "wire/rx_parser.h"

namespace nvmemp::sim {

class Connection : public Pollable {
 public:
  Connection(Core& core, int fd, std::size_t port);
  void on_events(std::uint32_t events) override;

  // Sends the command's data (C2HData, possibly several) and its CapsuleResp, or ends the
  // data with SUCCESS when the host disabled SQ flow control.
  // `sqhd` overrides the SQ head reported (the Connect response).
  void complete(std::uint16_t cid, CmdResult r, std::optional<std::uint16_t> sqhd = std::nullopt);
  // Idempotent: stops processing, unlinks from its controller, closes the socket.
  void close(std::string_view why);
  // Timers (the loop calls it every tick).
  void tick(SimClock::time_point now);
  // The port's blackhole ended: send what waited, run what was queued.
  void resume();

  std::size_t port() const { return port_; }
  std::uint16_t qid() const { return qid_; }
  std::uint16_t cntlid() const { return cntlid_; }
  bool closed() const { return closed_; }
  void set_queue(std::uint16_t qid, std::uint16_t cntlid, std::uint16_t sqsize, bool sq_flow_disabled);
  // In-band authentication of this queue (sim_auth.h).
  QueueAuth& auth_state() { return auth_; }
  const QueueAuth& auth_state() const { return auth_; }
  // Closes once everything queued (latency-delayed PDUs included) is sent; commands not yet run
  // are dropped. sim_auth_config.cc.
  void close_when_flushed(std::string why);

 private:
  struct PendingCmd {
    wire::Sqe sqe;
    std::vector<std::uint8_t> data;  // in-capsule data
  };
  // A write whose data comes by R2T/H2CData (NVMe/TCP 1.0, 3.4.4).
  struct WriteXfer {
    wire::Sqe sqe;
    std::vector<std::uint8_t> buf;
    std::uint32_t next_r2t = 0;  // offset of the next R2T to send
    std::uint32_t received = 0;  // bytes of completed R2Ts
    std::uint32_t r2ts_out = 0;
  };
  struct R2tSlot {
    std::uint16_t cid = 0;
    std::uint32_t off = 0;
    std::uint32_t len = 0;
    std::uint32_t got = 0;
  };

  void on_readable();
  // TLS (sim_tls.cc): decides at the first bytes whether the connection speaks TLS, runs the
  // handshake, and turns ciphertext into the plaintext the parser reads (into `plain`). False:
  // nothing for the parser now (handshake in progress, or the connection was closed).
  bool tls_receive(Bytes chunk, std::vector<std::uint8_t>& plain);
  void enqueue_raw(std::vector<std::uint8_t> bytes);
  void flush_tls();  // encrypts tls_plain_ into records and queues them
  void on_writable();
  void handle_pdu(const wire::Pdu& pdu);
  void handle_icreq(const wire::IcReq& req);
  void handle_h2c(const wire::H2CData& h, Bytes raw);
  void fatal(const wire::WireError& err, Bytes header);
  void sequence_error(const wire::Pdu& pdu, const char* why);
  void begin_drain();
  void drain(std::uint32_t events);
  void finish_drain();
  void pump();
  void dispatch(PendingCmd cmd);
  void start_write(const wire::Sqe& sqe);
  void issue_r2ts(std::uint16_t cid, WriteXfer& x);
  void run_command(const wire::Sqe& sqe, Bytes data);
  void send(std::vector<std::uint8_t> bytes);
  void enqueue(std::vector<std::uint8_t> bytes);
  // sim_null_data.cc: a null namespace's read data, `len` zero bytes as C2HData PDUs whose data
  // is queued straight from the shared zero buffer; only while no fault looks at what is sent.
  bool zero_data_plain() const;
  void send_zero_data(std::uint16_t cid, std::uint32_t len);
  bool blackholed() const;
  void update_events();
  // sim_hostile.cc: applies the port's one-shot protocol violation to a PDU about to be sent;
  // true when it took the PDU over (sent it otherwise, or dropped it).
  bool hostile_pdu(std::vector<std::uint8_t>& bytes);

  Core& core_;
  int fd_;
  std::size_t port_;
  bool closed_ = false;
  bool draining_ = false;  // TermReq sent: flushing, then waiting for the host's FIN
  SimClock::time_point drain_deadline_;
  bool ic_done_ = false;
  wire::RxParser parser_;
  wire::TxParams tx_;
  std::uint32_t maxr2t_ = 0;  // host's MAXR2T, 0's based

  std::uint16_t qid_ = 0;
  std::uint16_t cntlid_ = 0;  // 0: not connected yet
  bool connected_ = false;
  bool sq_flow_disabled_ = false;
  std::uint16_t sqsize_ = 0;
  std::uint16_t sqhd_ = 0;

  std::deque<PendingCmd> pending_;
  std::deque<wire::Sqe> write_wait_;  // writes waiting for buffer budget
  std::map<std::uint16_t, WriteXfer> xfers_;
  std::map<std::uint16_t, R2tSlot> r2ts_;  // by TTAG
  std::uint16_t next_ttag_ = 1;
  std::size_t xfer_bytes_ = 0;

  struct Delayed {
    SimClock::time_point due;
    std::vector<std::uint8_t> bytes;
  };
  std::deque<Delayed> delayed_;  // PDUs waiting for the port's latency
  std::size_t delayed_bytes_ = 0;
  bool close_after_flush_ = false;  // drop-after, cut-pdu: close once the counted PDU is sent
  bool muted_ = false;              // cut-pdu, termreq: nothing more goes out
  // Inside on_readable(), which sends what it queued before returning: enqueue() leaves the
  // epoll interest alone then (EPOLLOUT is asked for only when a send could not take it all).
  bool in_readable_ = false;
  bool term_after_flush_ = false;   // termreq: once sent, drain as after any TermReq
  std::string close_why_;           // close_when_flushed(): the reason logged
  QueueAuth auth_;
  // Output waiting for the socket: bytes of its own, or a span of the shared zero buffer.
  struct TxPiece {
    std::vector<std::uint8_t> owned;
    Bytes shared;
    Bytes bytes() const { return shared.empty() ? Bytes(owned) : shared; }
  };
  std::deque<TxPiece> txq_;
  std::size_t tx_off_ = 0;    // sent bytes of txq_.front()
  std::size_t tx_bytes_ = 0;  // unsent bytes in txq_
  std::uint32_t events_ = 0;

  // For the TermReq's copy of a bad header: stream offset of the next PDU's first byte and
  // the first bytes of a PDU that straddles reads.
  std::uint64_t rx_pos_ = 0;
  std::uint64_t next_pdu_pos_ = 0;
  std::vector<std::uint8_t> head_;
  std::unique_ptr<tls::TlsSession> tls_;  // null: plain TCP
  bool tls_decided_ = false;
  std::vector<std::uint8_t> tls_plain_;  // PDUs queued, not yet encrypted (counted in tx_bytes_)
};

// A control-socket client: one command per line, answer lines then OK or ERR <reason>.
class CtlConnection : public Pollable {
 public:
  CtlConnection(Core& core, int fd) : core_(core), fd_(fd) {}
  void on_events(std::uint32_t events) override;

 private:
  void flush();
  void close();
  Core& core_;
  int fd_;
  bool closed_ = false;
  std::string in_;
  std::string out_;
};

}  // namespace nvmemp::sim
