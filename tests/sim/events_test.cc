// Asynchronous events, ANA enforcement, namespace changes and the keep-alive timeout.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "sim_support.h"
#include "wire/libnvme_types.h"
#include "wire/identify.h"
#include "wire/log_pages.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using namespace std::chrono_literals;
using nvmemp::test::run;
using nvmemp::test::run_ok;

namespace {

// SyncQueue runs one command at a time: an AER blocks until its event (bounded: 10 s).
Result<test::Completion> wait_aer(test::SyncQueue& q) { return q.execute(make_async_event_request()); }

}  // namespace

TEST_CASE("AEN: ANA change completes an outstanding AER on that port only", "[sim]") {
  auto sim = test::start_sim();
  auto a1 = test::bring_up(sim->ports()[0], sim->nqn());
  auto a2 = test::bring_up(sim->ports()[1], sim->nqn());
  run_ok(a1.q, make_set_features(kFidAsyncEventConfig, kAecAna | kAecNsAttr));
  const auto before = parse_ana_log(run_ok(a1.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 0, 4096)).data);
  REQUIRE(before.has_value());

  // The control line runs on another thread once the AER is (very likely) outstanding; the
  // AER completes either way: an event raised before the AER arrives is kept pending.
  std::thread flip([&] {
    std::this_thread::sleep_for(100ms);
    CHECK(sim->control("ana 1 1 inaccessible").has_value());
  });
  auto aen = wait_aer(a1.q);
  flip.join();
  REQUIRE(aen.has_value());
  CHECK(aen->cqe.status.ok());
  CHECK(aen->cqe.dw0 == kAenAnaChange);
  const auto after = parse_ana_log(run_ok(a1.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 0, 4096)).data);
  REQUIRE(after.has_value());
  CHECK(after->chgcnt == before->chgcnt + 1);
  CHECK(after->groups[0].state == AnaState::Inaccessible);
  CHECK(after->groups[1].state == AnaState::Optimized);

  // I/O on group 1 through port 1 is refused with the ANA status; group 2 still works.
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a1.cntlid);
  auto st = run(io, *make_read(1, 0, 1, 512)).cqe.status;
  CHECK(st.code() == 0x302);
  CHECK_FALSE(st.dnr());
  run_ok(io, *make_read(2, 0, 1, 512));
  REQUIRE(sim->control("ana 1 1 change").has_value());
  CHECK(run(io, *make_read(1, 0, 1, 512)).cqe.status.code() == 0x303);
  REQUIRE(sim->control("ana 1 1 persistent-loss").has_value());
  CHECK(run(io, *make_read(1, 0, 1, 512)).cqe.status.code() == 0x301);
  // Port 2 (its own state per group) is unaffected.
  auto io2 = test::open_io(sim->ports()[1], sim->nqn(), a2.cntlid);
  run_ok(io2, *make_read(1, 0, 1, 512));

  REQUIRE(sim->control("reset").has_value());
  run_ok(io, *make_read(1, 0, 1, 512));
}

TEST_CASE("AEN: namespace attribute change, changed namespace list, disabled namespace", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  REQUIRE(sim->control("ns-down 2").has_value());  // before the AER: kept pending
  auto aen = wait_aer(a.q);
  REQUIRE(aen.has_value());
  CHECK(aen->cqe.dw0 == kAenNsAttrChanged);
  auto changed = parse_changed_ns_list(run_ok(a.q, *make_get_log_page(NVME_LOG_LID_CHANGED_NS, 0, 0, 4096)).data);
  REQUIRE(changed.has_value());
  CHECK(changed->nsids == std::vector<std::uint32_t>{2});
  // Read with RAE 0: cleared.
  changed = parse_changed_ns_list(run_ok(a.q, *make_get_log_page(NVME_LOG_LID_CHANGED_NS, 0, 0, 4096)).data);
  REQUIRE(changed.has_value());
  CHECK(changed->nsids.empty());
  // A disabled namespace: gone from the active list, I/O gets Internal Path Error like nvmet.
  auto list = parse_active_ns_list(run_ok(a.q, make_identify(NVME_IDENTIFY_CNS_NS_ACTIVE_LIST, 0)).data);
  REQUIRE(list.has_value());
  CHECK(*list == std::vector<std::uint32_t>{1});
  CHECK(run(io, *make_read(2, 0, 1, 512)).cqe.status.code() == 0x300);
  // Data survives ns-down / ns-up.
  const auto data = test::pattern(512, 77);
  run_ok(io, *make_write(1, 5, 1, 512, 16384), data);
  REQUIRE(sim->control("ns-down 1").has_value());
  REQUIRE(sim->control("ns-up 1").has_value());
  CHECK(run_ok(io, *make_read(1, 5, 1, 512)).data == data);

  // ns-grp moves the namespace: the ANA log lists it in its new group.
  REQUIRE(sim->control("ns-up 2").has_value());
  REQUIRE(sim->control("ns-grp 2 1").has_value());
  auto ana = parse_ana_log(run_ok(a.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 0, 4096)).data);
  REQUIRE(ana.has_value());
  REQUIRE_FALSE(ana->groups.empty());
  CHECK(ana->groups[0].nsids == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("Keep-alive timeout deletes an idle controller and closes its queues", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn(), false, 1000);
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  // Traffic keeps it alive (TBKAS: any command counts).
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(300ms);
    run_ok(io, *make_read(1, 0, 1, 512));
  }
  // Idle for 1.5 x KATO: both queues are closed by the target.
  std::this_thread::sleep_for(1500ms);
  auto r = a.q.execute(make_keep_alive());
  CHECK_FALSE(r.has_value());
  auto r2 = io.execute(*make_read(1, 0, 1, 512));
  CHECK_FALSE(r2.has_value());
  auto st = sim->control("status");
  REQUIRE(st.has_value());
  CHECK(st->find("ctrl ") == std::string::npos);
}
