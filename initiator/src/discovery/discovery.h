// Discovery (NVMe over Fabrics 1.1, 5.3; nvme-facts.md section 6): connect to a discovery
// controller, read log page 0x70 completely and consistently, follow referrals to other
// discovery controllers (bounded depth, each address once) and return typed records.
//
// Runs on the control thread like Controller: start() returns at once, tick() advances it,
// `done` runs once with the result.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "controller/controller.h"
#include "wire/log_pages.h"

namespace nvmemp::discovery {

inline constexpr std::uint16_t kDefaultDiscoveryPort = 8009;

struct DiscoveryRecord {
  wire::DiscoveryLogEntry entry;
  std::string source;  // the discovery controller it came from: "127.0.0.1:8009"
};

struct DiscoveryResult {
  std::uint64_t genctr = 0;  // of the first discovery controller's log
  std::vector<DiscoveryRecord> records;
  std::vector<std::string> errors;  // referrals that could not be read (the first one fails the whole)
};

struct DiscoveryOptions {
  controller::ControllerOptions controller;  // endpoint, host identity, digests, timeouts
  bool follow_referrals = true;
  unsigned max_depth = 4;        // referral hops followed at most
  unsigned max_controllers = 32; // discovery controllers visited at most
  unsigned max_retries = 5;      // re-reads when GENCTR changes during the read
};

// Reads log 0x70 of a live discovery controller: header, all entries (in pieces of at most
// the controller's transfer size, with offsets), GENCTR re-checked; `done` gets the log.
void read_discovery_log(controller::Controller& dc, unsigned max_retries,
                        std::function<void(Result<wire::DiscoveryLog>)> done);

class Discovery {
 public:
  using DoneFn = std::function<void(Result<DiscoveryResult>)>;
  Discovery(transport::Reactor& reactor, const Clock& clock, DiscoveryOptions opts);
  ~Discovery();

  void start(DoneFn done);
  void tick();
  bool finished() const noexcept { return finished_; }

 private:
  struct Target {
    transport::TcpEndpoint endpoint;
    unsigned depth = 0;
  };
  void next();
  void visit_done(const Target& t, Result<wire::DiscoveryLog> log);
  void finish(Result<DiscoveryResult> r);

  transport::Reactor& reactor_;
  const Clock& clock_;
  DiscoveryOptions opts_;
  DoneFn done_;
  std::vector<Target> queue_;
  std::set<std::string> seen_;
  std::unique_ptr<controller::Controller> current_;
  std::vector<std::unique_ptr<controller::Controller>> closing_;
  DiscoveryResult result_;
  unsigned visited_ = 0;
  bool finished_ = false;
};

}  // namespace nvmemp::discovery
