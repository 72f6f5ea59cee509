// Reactor + queue pair over a socketpair, with a small fake controller on a thread.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
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

// Answers ICReq, Reads (data = byte_at(slba, i)) and Flushes until EOF, or until it has
// answered `close_after` commands, then closes. Blocking I/O: it is the test's peer.
void fake_controller(int fd, int close_after) {
  RxParser rx(RxParams{Role::Controller});
  std::vector<std::uint8_t> buf(65536);
  int answered = 0;
  auto send = [&](const std::vector<std::uint8_t>& b) {
    std::size_t off = 0;
    while (off < b.size()) {
      const ssize_t n = ::write(fd, b.data() + off, b.size() - off);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  };
  const auto open = [&] { return close_after < 0 || answered < close_after; };
  for (int reads = 0; reads < 100000 && open(); ++reads) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    auto r = rx.feed(Bytes(buf.data(), static_cast<std::size_t>(n)), [&](const Pdu& p) {
      if (std::get_if<IcReq>(&p.body) != nullptr) {
        IcResp resp;
        resp.maxh2cdata = 4096;
        send(encode_pdu(resp));
        return;
      }
      if (!open()) return;
      const auto& cmd = std::get<CapsuleCmd>(p.body);
      auto sqe = Sqe::from_bytes(cmd.sqe);
      if (++answered == close_after) return;
      if (sqe->opcode() == 0x02) {
        const std::uint64_t slba = std::uint64_t{sqe->cdw(10)} | (std::uint64_t{sqe->cdw(11)} << 32);
        std::vector<std::uint8_t> data(sqe->sgl1().length);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = byte_at(slba, i);
        C2HData d;
        d.cccid = sqe->cid();
        d.last = true;
        d.data = data;
        send(encode_pdu(d, TxParams{}));
      }
      Cqe c;
      c.cid = sqe->cid();
      send(encode_pdu(CapsuleResp{encode_cqe(c)}, TxParams{}));
    });
    if (!r) break;
  }
  ::close(fd);
}

QueuePairConfig cfg() {
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
    auto d = test::QpDriver::adopt(sv[0], cfg());
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
  auto d = test::QpDriver::adopt(sv[0], cfg());
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
