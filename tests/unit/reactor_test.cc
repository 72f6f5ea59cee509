// Reactor + queue pair over a socketpair, with a small fake controller on a thread.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <atomic>
#include <thread>
#include <unistd.h>

#include "support/qp_driver.h"
#include "wire/pdu_codec.h"
#include "wire/rx_parser.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace nvmemp::transport;
using namespace nvmemp::wire;

namespace {

std::uint8_t byte_at(std::uint64_t slba, std::size_t i) { return static_cast<std::uint8_t>(slba * 31 + i); }

// Blocking write of all of `b` (the fake controllers' send).
void send_all(int fd, Bytes b) {
  for (std::size_t off = 0; off < b.size();) {
    const ssize_t n = ::write(fd, b.data() + off, b.size() - off);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// Reads from `fd` into the controller-side parser until `done()` or EOF, calling on_cmd for
// each command capsule after answering the ICReq.
template <class OnCmd, class Done>
void serve(int fd, OnCmd&& on_cmd, Done&& done) {
  RxParser rx(RxParams{Role::Controller});
  std::vector<std::uint8_t> buf(65536);
  for (int reads = 0; reads < 100000 && !done(); ++reads) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    auto r = rx.feed(Bytes(buf.data(), static_cast<std::size_t>(n)), [&](const Pdu& p) {
      if (std::get_if<IcReq>(&p.body) != nullptr) {
        IcResp resp;
        resp.maxh2cdata = 4096;
        send_all(fd, encode_pdu(resp));
        return;
      }
      if (done()) return;
      on_cmd(*Sqe::from_bytes(std::get<CapsuleCmd>(p.body).sqe));
    });
    if (!r) break;
  }
}

// Answers ICReq, Reads (data = byte_at(slba, i)) and Flushes until EOF, or until it has
// answered `close_after` commands, then closes. Blocking I/O: it is the test's peer.
void fake_controller(int fd, int close_after) {
  int answered = 0;
  const auto open = [&] { return close_after < 0 || answered < close_after; };
  serve(
      fd,
      [&](const Sqe& sqe) {
        if (++answered == close_after) return;
        if (sqe.opcode() == 0x02) {
          const std::uint64_t slba = std::uint64_t{sqe.cdw(10)} | (std::uint64_t{sqe.cdw(11)} << 32);
          std::vector<std::uint8_t> data(sqe.sgl1().length);
          for (std::size_t i = 0; i < data.size(); ++i) data[i] = byte_at(slba, i);
          C2HData d;
          d.cccid = sqe.cid();
          d.last = true;
          d.data = data;
          send_all(fd, encode_pdu(d, TxParams{}));
        }
        Cqe c;
        c.cid = sqe.cid();
        send_all(fd, encode_pdu(CapsuleResp{encode_cqe(c)}, TxParams{}));
      },
      [&] { return !open(); });
  ::close(fd);
}

QueuePairConfig socketpair_cfg() {
  QueuePairConfig c;
  c.qid = 1;
  c.queue_size = 64;
  c.max_icd = 8192;
  c.name = "socketpair qid 1";
  return c;
}

}  // namespace

TEST_CASE("Reactor drives 64 reads in flight over one socket", "[reactor]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  std::jthread ctrl([fd = sv[1]] {
    const int fl = ::fcntl(fd, F_GETFL);  // the peer uses blocking I/O
    ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    fake_controller(fd, -1);
  });
  {
    auto d = test::QpDriver::adopt(sv[0], socketpair_cfg());
    REQUIRE(d.has_value());
    INFO("ring flags: " << (*d)->reactor().ring_flags());
    std::vector<std::vector<std::uint8_t>> bufs(64, std::vector<std::uint8_t>(4096));
    for (std::size_t i = 0; i < 64; ++i) {
      auto r = make_read(1, i * 8, 8, 4096);
      REQUIRE(r.has_value());
      REQUIRE((*d)->qp().submit(Command{*r, bufs[i], {}, reinterpret_cast<void*>(i)}).has_value());
    }
    REQUIRE((*d)->wait_done(64));
    for (const auto& c : (*d)->done) {
      CHECK(c.status.ok());
      const auto i = reinterpret_cast<std::uintptr_t>(c.user);
      bool match = true;
      for (std::size_t k = 0; k < 4096; ++k) match = match && bufs[i][k] == byte_at(i * 8, k);
      CHECK(match);
    }
    CHECK((*d)->qp().inflight() == 0);
  }  // the driver closes its end: the fake controller sees EOF and ctrl joins
}

TEST_CASE("Reactor: the controller closing fails the queue pair and its commands", "[reactor]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  std::jthread ctrl([fd = sv[1]] {
    const int fl = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    fake_controller(fd, 3);  // answers two commands, then closes on the third
  });
  auto d = test::QpDriver::adopt(sv[0], socketpair_cfg());
  REQUIRE(d.has_value());
  for (int i = 0; i < 5; ++i) {
    REQUIRE((*d)->qp().submit(Command{make_flush(1), {}, {}, nullptr}).has_value());
  }
  REQUIRE((*d)->wait_closed());
  CHECK((*d)->close_reason.find("connection closed by the controller") != std::string::npos);
  CHECK((*d)->close_reason.find("socketpair qid 1") == 0);
  REQUIRE((*d)->done.size() == 5);
  int ok = 0;
  for (const auto& c : (*d)->done) {
    if (c.status.ok()) {
      ++ok;
    } else {
      CHECK(c.status.raw() == 0x371);  // sent, then lost with the connection
      CHECK(c.reached_controller);
    }
  }
  CHECK(ok == 2);
  CHECK((*d)->reactor().connections() == 0);
}

TEST_CASE("Reactor runs posted work on its loop thread", "[reactor]") {
  SteadyClock clock;
  auto r = Reactor::create(clock);
  REQUIRE(r.has_value());
  std::thread::id ran_on;
  std::thread poster([&] { (*r)->post([&] { ran_on = std::this_thread::get_id(); }); });
  poster.join();
  for (int i = 0; i < 50 && ran_on == std::thread::id(); ++i) {
    REQUIRE((*r)->poll(std::chrono::milliseconds(20)).has_value());
  }
  CHECK(ran_on == std::this_thread::get_id());
}

namespace {

// Answers ICReq, then sends the first Read's C2HData in two parts: the header and `head`
// bytes of data, then (once `go` is set) the rest and the response.
void split_controller(int fd, std::size_t head, const std::atomic<bool>& go) {
  bool sent = false;
  serve(
      fd,
      [&](const Sqe& sqe) {
        std::vector<std::uint8_t> data(sqe.sgl1().length);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = byte_at(7, i);
        C2HData d;
        d.cccid = sqe.cid();
        d.last = true;
        d.data = data;
        const auto pdu = encode_pdu(d, TxParams{});
        send_all(fd, Bytes(pdu).first(24 + head));
        for (int i = 0; i < 10000 && !go.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        send_all(fd, Bytes(pdu).subspan(24 + head));
        Cqe c;
        c.cid = sqe.cid();
        send_all(fd, encode_pdu(CapsuleResp{encode_cqe(c)}, TxParams{}));
        sent = true;
      },
      [&] { return sent; });
  char sink[64];
  while (::read(fd, sink, sizeof sink) > 0) {
  }
  ::close(fd);
}

}  // namespace

TEST_CASE("Reactor: the rest of a payload is received straight into the read buffer, abandoned, never again",
          "[reactor][rx]") {
  for (const bool abandon : {false, true}) {
    INFO((abandon ? "abandoned mid-payload" : "completed"));
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    std::atomic<bool> go{false};
    std::jthread ctrl([fd = sv[1], &go] {
      const int fl = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
      split_controller(fd, 1000, go);
    });
    {
      auto d = test::QpDriver::adopt(sv[0], socketpair_cfg());
      REQUIRE(d.has_value());
      std::vector<std::uint8_t> buf(65536, 0xAB);
      auto r = make_read(1, 7, 128, 65536);
      auto cid = (*d)->qp().submit(Command{*r, buf, {}, nullptr});
      REQUIRE(cid.has_value());
      // Poll until the header and the first 1000 bytes are in: the queue pair now wants the
      // rest of the payload in `buf`.
      for (int i = 0; i < 1000 && !(*d)->qp().rx_iov_borrowed(); ++i) {
        REQUIRE((*d)->reactor().poll(std::chrono::milliseconds(5)).has_value());
      }
      REQUIRE((*d)->qp().rx_iov_borrowed());
      bool head_ok = true;
      for (std::size_t k = 0; k < 1000; ++k) head_ok = head_ok && buf[k] == byte_at(7, k);
      CHECK(head_ok);
      if (abandon) {
        REQUIRE((*d)->qp().abandon_read(*cid).has_value());
        std::fill(buf.begin(), buf.end(), 0xCD);  // the caller's again
      }
      go = true;
      REQUIRE((*d)->wait_done(1));
      CHECK((*d)->done[0].status.ok());
      CHECK((*d)->done[0].abandoned == abandon);
      bool match = true;
      for (std::size_t k = 0; k < buf.size(); ++k) match = match && buf[k] == (abandon ? 0xCD : byte_at(7, k));
      CHECK(match);
      CHECK((*d)->qp().state() == QpState::Live);
    }
  }
}
