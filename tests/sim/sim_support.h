// Helpers for the sim tests: start the simulated target in-process, bring up a controller
// with SyncQueue, run commands and check their status.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nvmemp/mpath.h"
#include "sim_target.h"
#include "support/sync_queue.h"
#include "wire/sqe.h"

namespace nvmemp::tools {
struct BenchTarget;
}

namespace nvmemp::test {

// Starts a target (REQUIREs success). Small namespaces keep the tests light.
sim::SimConfig small_config();  // 2 ports, 2 namespaces of 8 MiB
std::unique_ptr<sim::SimTarget> start_sim(sim::SimConfig cfg = small_config());

// Connect with every Connect field chosen by the caller (SyncQueue's connect_queue fixes them).
Result<Completion> connect_raw(SyncQueue& q, const std::string& subnqn, std::uint16_t qid, std::uint16_t cntlid,
                               std::uint32_t kato_ms, const std::string& hostnqn = kTestHostNqn,
                               std::uint8_t cattr = 0);

struct AdminQueue {
  SyncQueue q;
  std::uint16_t cntlid = 0;
};

// ICReq, Connect (admin), CC.EN = 1 and CSTS.RDY: a live controller. REQUIREs each step.
AdminQueue bring_up(std::uint16_t port, const std::string& subnqn, bool digests = false, std::uint32_t kato_ms = 0,
                    const std::string& hostnqn = kTestHostNqn);
// ICReq + Connect of I/O queue `qid` of controller `cntlid`. REQUIREs each step.
SyncQueue open_io(std::uint16_t port, const std::string& subnqn, std::uint16_t cntlid, std::uint16_t qid = 1,
                  bool digests = false, std::uint8_t cattr = 0, const std::string& hostnqn = kTestHostNqn);

// Executes and REQUIREs transport success; returns the completion (status not checked).
Completion run(SyncQueue& q, const wire::Sqe& sqe, const std::vector<std::uint8_t>& data = {});
// Executes and REQUIREs status success.
Completion run_ok(SyncQueue& q, const wire::Sqe& sqe, const std::vector<std::uint8_t>& data = {});

std::vector<std::uint8_t> pattern(std::size_t len, std::uint32_t seed);

// Fabric options for tests that lose paths on purpose: the test host NQN, keep-alive 2 s,
// reconnect every 1 s, ctrl_loss_tmo 60 s.
FabricOptions fast_options();

// A bench target (tools/mpath-connect/bench.h) with a path to each of `sim`'s ports.
tools::BenchTarget both_ports_target(const sim::SimTarget& sim);

}  // namespace nvmemp::test
