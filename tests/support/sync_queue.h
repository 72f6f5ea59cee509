// A blocking, one-command-at-a-time NVMe/TCP queue built only from the wire codec, for tests
// (real and sim): it proves the codec against a target nobody here wrote. The library's queue
// pair (io_uring, many commands in flight) is another thing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nvmemp/result.h"
#include "support/tcp_client.h"
#include "wire/pdu_codec.h"
#include "wire/rx_parser.h"
#include "wire/sqe.h"

namespace nvmemp::test {

struct Completion {
  wire::Cqe cqe;
  std::vector<std::uint8_t> data;  // what C2HData brought
  bool by_success_flag = false;    // ended by C2HData SUCCESS, no CapsuleResp
};

class SyncQueue {
 public:
  // TCP connect + ICReq/ICResp with the digests asked for.
  static Result<SyncQueue> open(std::uint16_t port, bool digests);

  // Sends one command (with its data: in the capsule or through R2T/H2CData, as the SQE's
  // SGL says) and waits for its completion. Bounded: 10 s per read, 1000 PDUs.
  Result<Completion> execute(wire::Sqe sqe, const std::vector<std::uint8_t>& data = {});

  const wire::IcResp& icresp() const { return icresp_; }

 private:
  SyncQueue(TcpClient conn, wire::RxParser parser) : conn_(std::move(conn)), parser_(parser) {}

  TcpClient conn_;
  wire::RxParser parser_;
  wire::TxParams tx_;
  wire::IcResp icresp_;
  std::uint16_t next_cid_ = 1;
};

// The host identity the real tests use (fixed, so the target's logs are readable).
inline constexpr const char* kTestHostNqn =
    "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-0000000c0de0";
wire::HostId test_host_id();

// Connect on `q` (admin when qid 0) to `subnqn`; returns the cntlid.
Result<std::uint16_t> connect_queue(SyncQueue& q, const std::string& subnqn, std::uint16_t qid,
                                    std::uint16_t cntlid, std::uint32_t kato_ms);

}  // namespace nvmemp::test
