// decide_disposition: the failover table.
#include <catch2/catch.hpp>

#include "multipath/disposition.h"

using namespace nvmemp;
using namespace nvmemp::multipath;
using namespace std::chrono_literals;

namespace {

PathFacts path_facts(TimePoint last_alive) {
  PathFacts p;
  p.crdt_100ms = {1, 5, 30};
  p.kato = 5s;
  p.cqt = 1s;
  p.last_alive = last_alive;
  return p;
}

}  // namespace

TEST_CASE("decide_disposition table", "[disposition]") {
  const TimePoint now = TimePoint{} + 100s;
  const PathFacts path = path_facts(now - 2s);  // last heard 2 s ago
  const FailoverPolicy policy;
  struct Row {
    const char* what;
    Status st;
    bool write;
    bool reached;
    unsigned attempts;
    Action action;
    Nanos delay;
    bool reread_ana;
  };
  const Row rows[] = {
      {"success", Status::success(), false, true, 0, Action::Complete, 0ns, false},
      {"generic error, DNR", Status::from_parts(0, 0x02, true), false, true, 0, Action::Complete, 0ns, false},
      {"ANA inaccessible with DNR completes (even SCT 3)", Status::from_parts(3, 0x02, true), false, true, 0,
       Action::Complete, 0ns, false},
      {"ANA inaccessible", Status::from_parts(3, 0x02), true, true, 0, Action::Failover, 0ns, true},
      {"ANA transition", Status::from_parts(3, 0x03), false, true, 0, Action::Failover, 0ns, true},
      {"ANA persistent loss", Status::from_parts(3, 0x01), false, true, 0, Action::Failover, 0ns, true},
      {"internal path error (namespace disabled)", Status::from_parts(3, 0x00), true, true, 0, Action::Failover,
       0ns, false},
      {"controller path error", Status::from_parts(3, 0x60), false, true, 0, Action::Failover, 0ns, false},
      {"read lost with the connection", Status::aborted_by_host(), false, true, 0, Action::Failover, 0ns, false},
      {"write never sent", Status::host_path_error(), true, false, 0, Action::Failover, 0ns, false},
      // KATO 5 s + CQT 1 s after the last sign of life 2 s ago: 4 s to wait.
      {"write that may have reached the controller", Status::aborted_by_host(), true, true, 0, Action::Failover,
       4s, false},
      {"retryable, no CRD", Status::from_parts(0, 0x06), false, true, 0, Action::RetrySamePath, 0ns, false},
      {"retryable, CRD 2 = CRDT2 x 100 ms", Status::from_parts(0, 0x06, false, false, 2), false, true, 0,
       Action::RetrySamePath, 500ms, false},
      {"transient transport error (data digest)", Status::from_parts(0, 0x22), false, true, 0,
       Action::RetrySamePath, 0ns, false},
      {"retries spent", Status::from_parts(0, 0x06), false, true, 5, Action::Fail, 0ns, false},
      {"failovers spent", Status::from_parts(3, 0x02), false, true, 5, Action::Fail, 0ns, false},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    const Decision d = decide_disposition(r.st, RequestFacts{r.write, r.reached, r.attempts}, path, policy, now);
    CHECK(action_name(d.action) == std::string(action_name(r.action)));
    CHECK(d.delay == r.delay);
    CHECK(d.reread_ana == r.reread_ana);
    CHECK(d.path_failed == (r.action == Action::Failover));
  }
}

TEST_CASE("Writes lost with a connection wait until the old controller cannot execute them", "[disposition]") {
  const TimePoint now = TimePoint{} + 100s;
  FailoverPolicy policy;
  const RequestFacts write{true, true, 0};
  SECTION("the safe wait shrinks with the time since the last sign of life") {
    CHECK(decide_disposition(Status::aborted_by_host(), write, path_facts(now), policy, now).delay == 6s);
    CHECK(decide_disposition(Status::aborted_by_host(), write, path_facts(now - 6s), policy, now).delay == 0s);
    CHECK(decide_disposition(Status::aborted_by_host(), write, path_facts(now - 60s), policy, now).delay == 0s);
  }
  SECTION("write_failover_delay overrides it; 0 is the kernel's unsafe immediate failover") {
    policy.write_failover_delay = 0s;
    CHECK(decide_disposition(Status::aborted_by_host(), write, path_facts(now), policy, now).delay == 0s);
    policy.write_failover_delay = 2s;
    CHECK(decide_disposition(Status::aborted_by_host(), write, path_facts(now), policy, now).delay == 2s);
  }
  SECTION("a read is never held back") {
    CHECK(decide_disposition(Status::aborted_by_host(), RequestFacts{false, true, 0}, path_facts(now), policy, now)
              .delay == 0s);
  }
}

TEST_CASE("A CRD retry delay of hours is cut to max_crd_delay", "[disposition]") {
  const TimePoint now = TimePoint{} + 100s;
  PathFacts path = path_facts(now);
  path.crdt_100ms = {65535, 20, 0};  // CRDT1 = 6553.5 s, CRDT2 = 2 s
  FailoverPolicy policy;
  const RequestFacts read{false, true, 0};
  CHECK(decide_disposition(Status::from_parts(0, 0x06, false, false, 1), read, path, policy, now).delay == 5s);
  CHECK(decide_disposition(Status::from_parts(0, 0x06, false, false, 2), read, path, policy, now).delay == 2s);
  policy.max_crd_delay = 1s;
  CHECK(decide_disposition(Status::from_parts(0, 0x06, false, false, 2), read, path, policy, now).delay == 1s);
}
