// Fuzz target for the host's receive framer (wire/rx_framer.h), driven the way a queue pair
// drives it: bytes land where rx_iov() says, in chunks; every C2HData header is checked against
// a simulated read buffer before place(), some payloads are dropped (abandoned reads), and the
// bytes around the read buffer must never change. Input as pdu_fuzz: byte 0 = receiver settings
// (bit 1 header digests, bit 2 data digests, bits 3-4 data alignment, bit 5 skip digest
// verification), byte 1 = chunk size seed, then the byte stream from the controller.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/rx_framer.h"

using namespace nvmemp;
using namespace nvmemp::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  RxParams p;
  p.role = Role::Host;
  p.hdgst = (data[0] & 2) != 0;
  p.ddgst = (data[0] & 4) != 0;
  p.pda = static_cast<std::uint8_t>((data[0] >> 3) & 3);
  p.verify_digests = (data[0] & 0x20) == 0;
  p.max_plen = 1 << 20;
  const std::size_t chunk = 1 + data[1] % 97;
  const Bytes stream(data + 2, size - 2);

  constexpr std::size_t kGuard = 64, kBuf = 16384;
  std::vector<std::uint8_t> mem(kBuf + 2 * kGuard, 0xEE);
  std::uint8_t* buf = mem.data() + kGuard;
  std::uint64_t expect_off = 0;  // where the next C2HData of the simulated read must start

  RxFramer framer(p, 1024);  // small staging: exercises compaction and staging-full offers
  std::size_t off = 0;
  unsigned events = 0;
  while (off < stream.size()) {
    iovec iov[2];
    const std::size_t cnt = framer.rx_iov(iov);
    if (cnt == 0) std::abort();  // the framer always takes bytes while not failed
    std::size_t want = std::min(chunk, stream.size() - off);
    std::size_t got = 0;
    for (std::size_t i = 0; i < cnt && want > 0; ++i) {
      const auto* b = static_cast<std::uint8_t*>(iov[i].iov_base);
      const bool in_buf = b >= buf && b < buf + kBuf;
      if (in_buf && b + iov[i].iov_len > buf + kBuf) std::abort();  // offered past the buffer
      const std::size_t k = std::min(iov[i].iov_len, want);
      std::memcpy(iov[i].iov_base, stream.data() + off + got, k);
      got += k;
      want -= k;
    }
    off += got;
    framer.landed(got);
    for (;;) {
      auto ev = framer.next();
      if (!ev) {
        (void)ev.error().to_string();
        if (framer.next()) std::abort();  // sticky
        off = stream.size();
        break;
      }
      if (ev->kind == RxFramer::Kind::None) break;
      ++events;
      if (ev->kind == RxFramer::Kind::DataHeader) {
        const auto& h = ev->data;
        if (h.datal == 0 || h.datal != h.ch.plen - h.ch.pdo - (h.ddgst ? 4u : 0u)) std::abort();
        const std::uint64_t end = std::uint64_t{h.datao} + h.datal;
        if (end > kBuf) {
          off = stream.size();  // the queue pair fails here: nothing is placed
          break;
        }
        // Every third payload is dropped (an abandoned read), the others placed.
        framer.place(events % 3 == 0 ? nullptr : buf + h.datao);
        expect_off = end;
      } else if (ev->kind == RxFramer::Kind::DataEnd) {
        if (std::uint64_t{ev->data.datao} + ev->data.datal != expect_off) std::abort();
        if (events % 5 == 0) framer.drop_payload();  // harmless between payloads
      }
    }
    if (events % 7 == 6 && framer.payload_pending()) framer.drop_payload();  // abandoned mid-payload
  }
  for (std::size_t i = 0; i < kGuard; ++i) {
    if (mem[i] != 0xEE || mem[kGuard + kBuf + i] != 0xEE) std::abort();  // written outside the buffer
  }
  return 0;
}
