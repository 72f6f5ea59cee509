// Shared by the queue pair tests (queue_pair_test.cc, queue_pair_failure_test.cc): a Harness
// that plays the controller against a QueuePair, with byte vectors only (no socket, no ring).
#pragma once

#include <catch2/catch.hpp>

#include "transport/queue_pair.h"
#include "wire/rx_parser.h"

namespace nvmemp::transport::fixtures {

using namespace nvmemp::wire;

// The controller side of the test: decodes what the queue pair sends.
struct Harness {
  ManualClock clock;
  std::vector<Completion> done;
  QueuePair qp;
  RxParser ctrl_rx{ctrl_params(false, false)};
  std::vector<Pdu> got;                       // PDUs the host sent (spans into `stash`)
  std::vector<std::vector<std::uint8_t>> stash;
  TxParams ctrl_tx;

  static RxParams ctrl_params(bool hd, bool dd) {
    RxParams p;
    p.role = Role::Controller;
    p.hdgst = hd;
    p.ddgst = dd;
    return p;
  }
  static void on_done(void* ctx, const Completion& c) { static_cast<Harness*>(ctx)->done.push_back(c); }

  explicit Harness(QueuePairConfig cfg) : qp(cfg, clock, &Harness::on_done, this) {}

  // Sends everything the queue pair has, `chunk` bytes at a time, into the controller parser.
  void flush(std::size_t chunk = 1 << 30) {
    for (int guard = 0; guard < 100000 && qp.has_tx(); ++guard) {
      std::array<iovec, 8> iov{};
      const std::size_t n = qp.gather_tx(iov);
      REQUIRE(n > 0);
      std::size_t budget = chunk;
      std::size_t took = 0;
      for (std::size_t i = 0; i < n && budget > 0; ++i) {
        const std::size_t len = std::min(iov[i].iov_len, budget);
        stash.emplace_back(static_cast<std::uint8_t*>(iov[i].iov_base),
                           static_cast<std::uint8_t*>(iov[i].iov_base) + len);
        budget -= len;
        took += len;
      }
      qp.sent(took);
    }
    std::vector<std::uint8_t> all;
    for (auto& s : stash) all.insert(all.end(), s.begin(), s.end());
    stash.clear();
    wire_bytes.insert(wire_bytes.end(), all.begin(), all.end());
    parse();
  }
  std::vector<std::uint8_t> wire_bytes;  // everything sent, kept alive for the spans in `got`
  std::size_t parsed = 0;
  std::vector<std::vector<std::uint8_t>> pdu_copies;
  void parse() {
    auto r = ctrl_rx.feed(Bytes(wire_bytes).subspan(parsed), [&](const Pdu& p) {
      pdu_copies.emplace_back(p.raw.begin(), p.raw.end());
      if (const auto* ic = std::get_if<IcReq>(&p.body)) {
        ctrl_rx.set_params(ctrl_params(ic->hdgst, ic->ddgst));
      }
    });
    REQUIRE(r.has_value());
    parsed = wire_bytes.size();
    got.clear();
    for (auto& c : pdu_copies) {
      auto d = decode_pdu(c, ctrl_rx.params());  // IC PDUs never carry digests
      REQUIRE(d.has_value());
      got.push_back(*d);
    }
  }

  void feed(const std::vector<std::uint8_t>& b) {
    auto r = qp.received(b);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
  }

  // Handshake with the given ICResp settings.
  void handshake(bool hd = false, bool dd = false, std::uint32_t maxh2cdata = 4 << 20, std::uint8_t cpda = 0) {
    REQUIRE(qp.start().has_value());
    flush();
    REQUIRE(got.size() == 1);
    const auto& req = std::get<IcReq>(got[0].body);
    IcResp resp;
    resp.hdgst = req.hdgst;
    resp.ddgst = req.ddgst;
    resp.maxh2cdata = maxh2cdata;
    resp.cpda = cpda;
    feed(encode_pdu(resp));
    REQUIRE(qp.state() == QpState::Live);
    ctrl_tx = TxParams{hd, dd, 0};
    pdu_copies.clear();
    got.clear();
  }

  std::vector<std::uint8_t> resp(std::uint16_t cid, Status st = Status::success(), std::uint32_t dw0 = 0) {
    Cqe c;
    c.cid = cid;
    c.status = st;
    c.dw0 = dw0;
    const auto b = encode_cqe(c);
    return encode_pdu(CapsuleResp{b}, ctrl_tx);
  }
  std::vector<std::uint8_t> c2h(std::uint16_t cid, std::uint32_t off, Bytes data, bool last, bool success = false) {
    C2HData d;
    d.cccid = cid;
    d.datao = off;
    d.last = last;
    d.success = success;
    d.data = data;
    return encode_pdu(d, ctrl_tx);
  }
};

inline QueuePairConfig cfg(bool digests = false) {
  QueuePairConfig c;
  c.qid = 1;
  c.queue_size = 8;
  c.hdgst = c.ddgst = digests;
  c.max_icd = 8192;
  c.name = "test @ 127.0.0.1:4420 qid 1";
  return c;
}

inline std::vector<std::uint8_t> pattern(std::size_t n, int seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return v;
}

}  // namespace nvmemp::transport::fixtures
