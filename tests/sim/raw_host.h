// A pipelined NVMe/TCP host for the sim tests: many commands in flight on one connection,
// R2Ts answered from the write's buffer, completions collected by CID. Built from the codec
// and TcpClient like SyncQueue, which runs one command at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "nvmemp/result.h"
#include "support/tcp_client.h"
#include "wire/pdu_codec.h"
#include "wire/rx_parser.h"
#include "wire/sqe.h"

namespace nvmemp::test {

struct RawCompletion {
  wire::Cqe cqe;
  std::vector<std::uint8_t> data;
};

class RawHost {
 public:
  // TCP connect + ICReq (MAXR2T as given, 0's based) / ICResp.
  static Result<RawHost> open(std::uint16_t port, bool digests, std::uint32_t maxr2t = 0);

  // Sends a command; data goes in the capsule or, for a transport SGL, waits for R2Ts.
  Result<void> submit(wire::Sqe sqe, std::uint16_t cid, std::vector<std::uint8_t> data = {});
  // Receives until `n` completions are in (or `quiet` without progress: Timeout).
  Result<std::map<std::uint16_t, RawCompletion>> collect(std::size_t n,
                                                         std::chrono::milliseconds quiet = std::chrono::seconds(10));

  Result<void> send_raw(const std::vector<std::uint8_t>& bytes);
  // The next PDU received, copied (for TermReq checks); empty optional on EOF.
  Result<std::optional<std::vector<std::uint8_t>>> next_pdu(std::chrono::milliseconds timeout);
  // True when the peer closes within `timeout` (reads and drops anything before EOF).
  bool closed_within(std::chrono::milliseconds timeout);

  const wire::TxParams& tx() const { return tx_; }
  const wire::IcResp& icresp() const { return icresp_; }

 private:
  RawHost(TcpClient c) : conn_(std::move(c)), parser_(wire::RxParams{}) {}
  Result<void> on_pdu(const wire::Pdu& p);

  TcpClient conn_;
  wire::RxParser parser_;
  wire::TxParams tx_;
  wire::IcResp icresp_;
  std::map<std::uint16_t, std::vector<std::uint8_t>> writes_;  // by CID: data awaiting R2Ts
  std::map<std::uint16_t, RawCompletion> done_;
  std::map<std::uint16_t, std::vector<std::uint8_t>> reads_;  // C2HData gathered by CID
  std::vector<std::vector<std::uint8_t>> stash_;               // whole PDUs for next_pdu()
};

}  // namespace nvmemp::test
