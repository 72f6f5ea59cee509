// SimConfig checks, size parsing, and the memory-backed namespace store.
#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "tls/tls_psk.h"

#include "sim_core.h"
#include "wire/sqe.h"

namespace nvmemp::sim {

Result<std::uint64_t> parse_size(std::string_view text) {
  if (text.empty()) {
    return make_error(Errc::InvalidArgument, "size is empty");
  }
  std::uint64_t mult = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 'K': case 'k': mult = 1ull << 10; digits.remove_suffix(1); break;
    case 'M': case 'm': mult = 1ull << 20; digits.remove_suffix(1); break;
    case 'G': case 'g': mult = 1ull << 30; digits.remove_suffix(1); break;
    default: break;
  }
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("size '{}' is not a number with an optional K/M/G suffix", text));
  }
  if (v > (1ull << 40) / mult) {
    return make_error(Errc::InvalidArgument, fmt::format("size '{}' is larger than 1 TiB", text));
  }
  return v * mult;
}

Result<void> validate_config(const SimConfig& c) {
  const auto bad = [](std::string msg) { return make_error(Errc::InvalidArgument, std::move(msg)); };
  if (!c.tls_key.empty()) {
    if (auto k = tls::parse_tls_key(c.tls_key, "--tls-key"); !k) return tl::unexpected(k.error());
  } else if (c.tls_required) {
    return bad("--tls-required needs --tls-key");
  }
  if (c.ports.empty() || c.ports.size() > 16) {
    return bad(fmt::format("--port: {} ports given, need 1 to 16", c.ports.size()));
  }
  if (c.nqn.empty() || c.nqn.size() > wire::kNqnMaxLen || c.nqn == kDiscoveryNqn) {
    return bad(fmt::format("--nqn '{}': must be 1..{} bytes and not the discovery NQN", c.nqn, wire::kNqnMaxLen));
  }
  if (c.namespaces == 0 || c.namespaces > 128) {
    return bad(fmt::format("--namespaces {}: must be 1..128 (one ANA group each)", c.namespaces));
  }
  if (c.lba_size != 512 && c.lba_size != 4096) {
    return bad(fmt::format("--lba-size {}: must be 512 or 4096", c.lba_size));
  }
  if (c.ns_size_bytes == 0 || c.ns_size_bytes % c.lba_size != 0) {
    return bad(fmt::format("--ns-size {}: must be a non-zero multiple of the LBA size {}", c.ns_size_bytes,
                           c.lba_size));
  }
  // ICResp MAXH2CDATA: at least 4096 and a multiple of 4 (NVMe/TCP 1.0, 3.6.2.3; the kernel host checks it).
  if (c.maxh2cdata < 4096 || c.maxh2cdata % 4 != 0 || c.maxh2cdata > (16u << 20)) {
    return bad(fmt::format("--maxh2cdata {}: must be a multiple of 4 in 4096..16M", c.maxh2cdata));
  }
  if (c.cpda > 31) {
    return bad(fmt::format("--cpda {}: must be 0..31", c.cpda));
  }
  if (c.c2h_chunk != 0 && (c.c2h_chunk < 512 || c.c2h_chunk % 4 != 0)) {
    return bad(fmt::format("--c2h-chunk {}: must be 0 (whole) or a multiple of 4, at least 512", c.c2h_chunk));
  }
  if (c.r2t_chunk != 0 && (c.r2t_chunk < 512 || c.r2t_chunk % 4 != 0)) {
    return bad(fmt::format("--r2t-chunk {}: must be 0 (whole) or a multiple of 4, at least 512", c.r2t_chunk));
  }
  // IOCCSZ is at least 4 (the 64-byte SQE alone) and, here, at most 1 MiB of capsule.
  if (c.ioccsz < 4 || c.ioccsz > 65536) {
    return bad(fmt::format("--ioccsz {}: must be 4..65536 (16-byte units)", c.ioccsz));
  }
  if (c.mqes == 0) {
    return bad("--mqes 0: must be 1..65535 (CAP.MQES, 0's based)");
  }
  return {};
}

NamespaceStore::NamespaceStore(std::uint64_t size_bytes)
    : size_(size_bytes), chunks_((size_bytes + kChunk - 1) / kChunk) {}

void NamespaceStore::read(std::uint64_t off, MutBytes out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t pos = off + done;
    const std::size_t ci = pos / kChunk;
    const std::size_t in = pos % kChunk;
    const std::size_t n = std::min(out.size() - done, kChunk - in);
    if (chunks_[ci]) {
      std::memcpy(out.data() + done, chunks_[ci].get() + in, n);
    } else {
      std::memset(out.data() + done, 0, n);
    }
    done += n;
  }
}

void NamespaceStore::write(std::uint64_t off, Bytes in) {
  std::size_t done = 0;
  while (done < in.size()) {
    const std::uint64_t pos = off + done;
    const std::size_t ci = pos / kChunk;
    const std::size_t at = pos % kChunk;
    const std::size_t n = std::min(in.size() - done, kChunk - at);
    if (!chunks_[ci]) {
      chunks_[ci] = std::make_unique<std::uint8_t[]>(kChunk);  // value-initialized: zeros
    }
    std::memcpy(chunks_[ci].get() + at, in.data() + done, n);
    done += n;
  }
}

void NamespaceStore::zero(std::uint64_t off, std::uint64_t len) {
  std::uint64_t done = 0;
  while (done < len) {
    const std::uint64_t pos = off + done;
    const std::size_t ci = pos / kChunk;
    const std::size_t at = pos % kChunk;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len - done, kChunk - at));
    if (chunks_[ci]) {
      if (at == 0 && n == kChunk) {
        chunks_[ci].reset();
      } else {
        std::memset(chunks_[ci].get() + at, 0, n);
      }
    }
    done += n;
  }
}

}  // namespace nvmemp::sim
