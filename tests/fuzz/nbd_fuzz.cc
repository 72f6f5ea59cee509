// Fuzz target: the NBD server codec (tools/nvme-mpathd/nbd_proto.*), which reads what any
// local client sends. The input is the client's side of one connection from its first byte
// (the client flags), through the handshake into transmission. It is fed whole, in chunks
// whose sizes derive from the input, and (when short) one byte at a time: all three must end
// the same way (same bytes out, same requests, same error, same phase), and every decoded
// request must respect what the codec promises (a WRITE carries exactly its payload; a request
// without error is in range, within max_block, and aligned when the client agreed to block
// sizes). Memory stays bounded: option data is capped at 8 KiB and a WRITE at max_block.
// Corpus: tests/fuzz/corpus/nbd/ (the streams libnbd and qemu send for GO + I/O + DISC, the
// EXPORT_NAME fallback, LIST/INFO/ABORT, refused options and requests, broken headers).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "nbd_proto.h"

namespace {

namespace nbd = nvmemp::nbd;

std::vector<nbd::ExportInfo> fuzz_exports() {
  nbd::ExportInfo ns1;
  ns1.name = "ns1";
  ns1.description = "nvme-mpath ns1";
  ns1.size = 1 << 20;
  ns1.can_flush = ns1.can_fua = ns1.can_trim = ns1.can_write_zeroes = ns1.can_multi_conn = true;
  ns1.min_block = 512;
  ns1.pref_block = 4096;
  ns1.max_block = 16 * 1024;  // small, so a seed can exceed it cheaply
  nbd::ExportInfo ro;
  ro.name = "ro";
  ro.size = 64 * 1024;
  ro.read_only = true;
  ro.can_flush = true;
  return {ns1, ro};
}

struct Outcome {
  std::vector<std::uint8_t> out;
  std::vector<nbd::Request> requests;
  bool failed = false;
  std::string message;
  nbd::Phase phase = nbd::Phase::Handshake;
};

void check_request(const nbd::ServerSession& s, const nbd::Request& r) {
  const nbd::ExportInfo* e = s.selected_export();
  if (e == nullptr) {
    std::abort();  // requests only exist in transmission
  }
  if (r.type == nbd::kCmdWrite && r.error == 0) {
    if (r.data.size() != r.length) {
      std::abort();
    }
  } else if (!r.data.empty()) {
    std::abort();
  }
  switch (r.error) {
    case 0:
      break;
    case nbd::kEPerm:
    case nbd::kEInval:
    case nbd::kENoSpc:
      if (r.unaligned) {
        std::abort();  // a refused request is not also passed on for read-modify-write
      }
      return;
    default:
      std::abort();
  }
  if (r.type != nbd::kCmdRead && r.type != nbd::kCmdWrite && r.type != nbd::kCmdFlush && r.type != nbd::kCmdTrim &&
      r.type != nbd::kCmdWriteZeroes) {
    std::abort();
  }
  if (r.offset > e->size || r.length > e->size - r.offset) {
    std::abort();
  }
  if ((r.type == nbd::kCmdRead || r.type == nbd::kCmdWrite) && r.length > e->max_block) {
    std::abort();
  }
  const bool aligned = r.offset % e->min_block == 0 && r.length % e->min_block == 0;
  if (r.unaligned == aligned || (r.unaligned && s.block_sizes_negotiated())) {
    std::abort();
  }
}

template <class NextChunk>
Outcome run(std::span<const std::uint8_t> in, NextChunk next_chunk) {
  nbd::ServerSession s(fuzz_exports());
  Outcome o;
  std::size_t at = 0;
  while (at < in.size()) {
    const std::size_t n = std::min(next_chunk(), in.size() - at);
    const std::size_t before = o.requests.size();
    auto r = s.feed(in.subspan(at, n), o.out, o.requests);
    at += n;
    for (std::size_t i = before; i < o.requests.size(); ++i) {
      check_request(s, o.requests[i]);
    }
    if (!r) {
      if (s.phase() != nbd::Phase::Closed || r.error().message.empty()) {
        std::abort();
      }
      // Sticky: nothing more comes out.
      const std::size_t out_size = o.out.size();
      auto again = s.feed(in.subspan(at), o.out, o.requests);
      if (again || again.error().message != r.error().message || o.out.size() != out_size) {
        std::abort();
      }
      o.failed = true;
      o.message = r.error().message;
      break;
    }
  }
  // Option replies are bounded per option and options are bounded per connection.
  if (o.out.size() > (nbd::kMaxOptions + 1) * (nbd::kMaxStringLen + 64)) {
    std::abort();
  }
  if (s.consumed() > in.size()) {
    std::abort();
  }
  o.phase = s.phase();
  return o;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.out == b.out && a.requests == b.requests && a.failed == b.failed && a.message == b.message &&
         a.phase == b.phase;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  const Outcome whole = run(in, [size] { return std::max<std::size_t>(size, 1); });

  // Chunk sizes from an FNV-1a hash of the input driving xorshift: deterministic per input,
  // different across inputs, mostly small with an occasional large one.
  std::uint64_t x = 1469598103934665603ULL;
  for (std::uint8_t b : in) {
    x = (x ^ b) * 1099511628211ULL;
  }
  x |= 1;
  const Outcome chunked = run(in, [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<std::size_t>((x & 7) == 0 ? 1 + (x >> 8) % 4096 : 1 + (x >> 8) % 40);
  });
  if (!same(whole, chunked)) {
    std::abort();
  }
  if (size <= 65536) {
    const Outcome bytewise = run(in, [] { return std::size_t{1}; });
    if (!same(whole, bytewise)) {
      std::abort();
    }
  }
  return 0;
}
