// CRC32C throughput: ISA-L's dispatched crc32_iscsi (what the codec uses) against ISA-L's
// portable baseline, over buffer sizes typical of NVMe/TCP (a 24-byte header to 1 MiB of data).
// Run: build/bench/crc32c_bench [seconds-per-size, default 0.2]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <isa-l/crc.h>

#include "wire/crc32c.h"

namespace {

template <class F>
double gib_per_s(F&& f, std::size_t size, double seconds) {
  using Clock = std::chrono::steady_clock;
  std::uint64_t bytes = 0;
  volatile std::uint32_t sink = 0;
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  auto now = start;
  // Bounded: checks the clock every 64 calls and stops at the deadline.
  while (now < stop) {
    for (int i = 0; i < 64; ++i) {
      sink = sink + f();
      bytes += size;
    }
    now = Clock::now();
  }
  (void)sink;
  const double elapsed = std::chrono::duration<double>(now - start).count();
  return static_cast<double>(bytes) / elapsed / (1024.0 * 1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.2;
  if (!(seconds > 0.0) || seconds > 10.0) {
    std::fprintf(stderr, "usage: crc32c_bench [seconds-per-size in (0, 10]]\n");
    return 2;
  }
  const std::size_t sizes[] = {24, 72, 512, 4096, 65536, 1 << 20};
  std::vector<std::uint8_t> buf(1 << 20);
  for (std::size_t i = 0; i < buf.size(); ++i) {
    buf[i] = static_cast<std::uint8_t>(i * 131 + 7);
  }
  std::printf("%-10s %22s %22s\n", "size", "isa-l crc32_iscsi GiB/s", "isa-l base GiB/s");
  for (std::size_t size : sizes) {
    const nvmemp::Bytes span(buf.data(), size);
    const double fast = gib_per_s([&] { return nvmemp::wire::crc32c(span); }, size, seconds);
    const double base = gib_per_s(
        [&] { return ~crc32_iscsi_base(buf.data(), static_cast<int>(size), ~0u); }, size, seconds);
    std::printf("%-10zu %22.2f %22.2f\n", size, fast, base);
  }
  return 0;
}
