// Fault injection (phase 2 of the simulated target): each fault through the C++ API or the
// control line, and what a host sees.
#include <catch2/catch.hpp>

#include <chrono>

#include "raw_host.h"
#include "sim_support.h"
#include "wire/libnvme_types.h"
#include "wire/log_pages.h"
#include "wire/registers.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using namespace std::chrono_literals;
using nvmemp::test::run;
using nvmemp::test::run_ok;

TEST_CASE("fault fail-next: the next K commands with that opcode get the status", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  REQUIRE(sim->fail_next(2, nvme_cmd_read, 0, 0x06).has_value());  // Internal Error
  CHECK(run(io, *make_read(1, 0, 1, 512)).cqe.status.code() == 0x006);
  run_ok(io, *make_write(1, 0, 1, 512, 16384), std::vector<std::uint8_t>(512));  // other opcodes pass
  CHECK(run(io, *make_read(1, 0, 1, 512)).cqe.status.code() == 0x006);
  run_ok(io, *make_read(1, 0, 1, 512));
  REQUIRE(sim->control("fail-next 1 0x01 3 0x02 dnr").has_value());  // ANA inaccessible, DNR
  auto st = run(io, *make_write(1, 0, 1, 512, 16384), std::vector<std::uint8_t>(512)).cqe.status;
  CHECK(st.code() == 0x302);
  CHECK(st.dnr());
  CHECK_FALSE(sim->control("fail-next 1 0x01 0 0").has_value());  // success is no failure
}

TEST_CASE("fault reset-ctrl and restart: queues close, namespace data stays", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  const auto data = test::pattern(4096, 11);
  run_ok(io, *make_write(2, 100, 8, 4096, 16384), data);
  REQUIRE(sim->reset_ctrl(a.cntlid).has_value());
  CHECK_FALSE(io.execute(*make_read(2, 100, 8, 4096)).has_value());
  CHECK_FALSE(a.q.execute(make_keep_alive()).has_value());
  CHECK_FALSE(sim->reset_ctrl(a.cntlid).has_value());  // gone

  auto b = test::bring_up(sim->ports()[1], sim->nqn());
  REQUIRE(sim->control("ana 1 1 inaccessible").has_value());
  REQUIRE(sim->restart().has_value());
  CHECK_FALSE(b.q.execute(make_keep_alive()).has_value());
  auto c = test::bring_up(sim->ports()[0], sim->nqn());
  auto io2 = test::open_io(sim->ports()[0], sim->nqn(), c.cntlid);
  CHECK(run_ok(io2, *make_read(2, 100, 8, 4096)).data == data);
  run_ok(io2, *make_read(1, 0, 1, 512));  // ANA back to optimized after the restart
}

TEST_CASE("fault aen ns-changed and discovery-changed update their logs", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  REQUIRE(sim->aen_ns_changed(2).has_value());
  auto aen = a.q.execute(make_async_event_request());
  REQUIRE(aen.has_value());
  CHECK(aen->cqe.dw0 == kAenNsAttrChanged);
  auto changed = parse_changed_ns_list(run_ok(a.q, *make_get_log_page(NVME_LOG_LID_CHANGED_NS, 0, 0, 4096)).data);
  REQUIRE(changed.has_value());
  CHECK(changed->nsids == std::vector<std::uint32_t>{2});
  CHECK_FALSE(sim->aen_ns_changed(9).has_value());

  auto d = test::bring_up(sim->ports()[1], sim::kDiscoveryNqn);
  const auto genctr = [&] {
    auto h = parse_discovery_log_header(run_ok(d.q, *make_get_log_page(NVME_LOG_LID_DISCOVER, 0, 0, 1024)).data);
    REQUIRE(h.has_value());
    return h->genctr;
  };
  const auto before = genctr();
  REQUIRE(sim->aen_discovery_changed().has_value());
  aen = d.q.execute(make_async_event_request());
  REQUIRE(aen.has_value());
  CHECK(aen->cqe.dw0 == kAenDiscoveryLogChange);
  CHECK(genctr() == before + 1);
}

TEST_CASE("fault drop-after: the connection closes after N PDUs sent", "[sim]") {
  auto sim = test::start_sim();
  REQUIRE(sim->drop_after(1, 3).has_value());
  auto q = test::SyncQueue::open(sim->ports()[0], false);  // ICResp: PDU 1
  REQUIRE(q.has_value());
  auto c = test::connect_raw(*q, sim->nqn(), 0, kCntlidDynamic, 0);  // CapsuleResp: PDU 2
  REQUIRE(c.has_value());
  REQUIRE(run(*q, make_property_get(kRegCap, true)).cqe.status.ok());  // PDU 3, then the close
  CHECK_FALSE(q->execute(make_property_get(kRegVs, false)).has_value());
  // Disarmed after it fired: a new connection works.
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  run_ok(a.q, make_keep_alive());
}

TEST_CASE("fault corrupt-digest: the host sees a digest error on the next PDU only", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn(), true);
  auto b = test::bring_up(sim->ports()[1], sim->nqn(), true);
  REQUIRE(sim->corrupt_digest(1).has_value());
  auto r = a.q.execute(make_keep_alive());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::DigestMismatch);
  run_ok(b.q, make_keep_alive());  // other port, other connection: untouched
  auto c = test::bring_up(sim->ports()[0], sim->nqn(), true);
  run_ok(c.q, make_keep_alive());  // used up
}

TEST_CASE("fault latency: responses on that port wait, the other port does not", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto b = test::bring_up(sim->ports()[1], sim->nqn());
  REQUIRE(sim->set_latency(1, 150).has_value());
  const auto timed = [](test::SyncQueue& q) {
    const auto t0 = std::chrono::steady_clock::now();
    run_ok(q, make_keep_alive());
    return std::chrono::steady_clock::now() - t0;
  };
  CHECK(timed(a.q) >= 140ms);
  CHECK(timed(b.q) < 100ms);
  REQUIRE(sim->set_latency(1, 0).has_value());
  CHECK(timed(a.q) < 100ms);
}

TEST_CASE("fault blackhole: no answers, TCP open, held writes applied late", "[sim]") {
  auto sim = test::start_sim();
  auto a1 = test::bring_up(sim->ports()[0], sim->nqn());
  auto a2 = test::bring_up(sim->ports()[1], sim->nqn());
  auto io2 = test::open_io(sim->ports()[1], sim->nqn(), a2.cntlid);
  auto h = test::RawHost::open(sim->ports()[0], false);
  REQUIRE(h.has_value());
  {
    auto data = encode_connect_data(test::test_host_id(), a1.cntlid, sim->nqn(), test::kTestHostNqn);
    ConnectParams p;
    p.qid = 1;
    p.sqsize = 31;
    REQUIRE(h->submit(make_connect(p), 1, std::vector<std::uint8_t>(data->begin(), data->end())).has_value());
    auto c = h->collect(1);
    REQUIRE(c.has_value());
    REQUIRE(c->at(1).cqe.status.ok());
  }
  const auto old_data = test::pattern(4096, 1);
  const auto new_data = test::pattern(4096, 2);
  REQUIRE(sim->blackhole(1, true).has_value());
  REQUIRE(h->submit(*make_write(1, 0, 8, 4096, 16384), 2, old_data).has_value());
  auto none = h->collect(1, 300ms);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == Errc::Timeout);  // no answer, but not closed either
  run_ok(io2, *make_write(1, 0, 8, 4096, 16384), new_data);  // the host failed over
  CHECK(run_ok(io2, *make_read(1, 0, 8, 4096)).data == new_data);
  auto applied = sim->apply_held(1);
  REQUIRE(applied.has_value());
  CHECK(*applied == "applied 1 held write(s)\n");
  // The late write landed over the newer data: what a host must never let happen.
  CHECK(run_ok(io2, *make_read(1, 0, 8, 4096)).data == old_data);
  REQUIRE(sim->blackhole(1, false).has_value());
  CHECK(*sim->drop_held(1) == "dropped 0 held write(s)\n");
  // After the blackhole the connection answers again.
  REQUIRE(h->submit(*make_read(1, 0, 8, 4096), 3).has_value());
  auto back = h->collect(1);
  REQUIRE(back.has_value());
  CHECK(back->at(3).data == old_data);
}

namespace {

// An admin queue on a RawHost (many commands in flight): ICReq, Connect, CC.EN = 1.
test::RawHost raw_admin(std::uint16_t port, const std::string& subnqn) {
  auto h = test::RawHost::open(port, false);
  REQUIRE(h.has_value());
  auto data = encode_connect_data(test::test_host_id(), kCntlidDynamic, subnqn, test::kTestHostNqn);
  REQUIRE(data.has_value());
  ConnectParams p;
  p.sqsize = 31;
  REQUIRE(h->submit(make_connect(p), 1, std::vector<std::uint8_t>(data->begin(), data->end())).has_value());
  REQUIRE(h->submit(make_property_set(kRegCc, 0x460001, false), 2).has_value());
  auto c = h->collect(2);
  REQUIRE(c.has_value());
  REQUIRE(c->at(1).cqe.status.ok());
  REQUIRE(c->at(2).cqe.status.ok());
  return std::move(*h);
}

}  // namespace

TEST_CASE("fault ka-ignore / never-complete: those admin commands are accepted, never completed", "[sim]") {
  auto sim = test::start_sim();
  auto h = raw_admin(sim->ports()[0], sim->nqn());
  auto other = raw_admin(sim->ports()[1], sim->nqn());
  REQUIRE(sim->ka_ignore(1, true).has_value());
  REQUIRE(h.submit(make_keep_alive(), 3).has_value());
  REQUIRE(h.submit(make_property_get(kRegCap, true), 4).has_value());
  auto c = h.collect(1);  // everything else still works, and the KA stays unanswered
  REQUIRE(c.has_value());
  CHECK(c->count(4) == 1);
  CHECK(c->count(3) == 0);
  auto none = h.collect(1, 300ms);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == Errc::Timeout);
  REQUIRE(other.submit(make_keep_alive(), 3).has_value());  // other port: untouched
  REQUIRE(other.collect(1).has_value());

  REQUIRE(sim->ka_ignore(1, false).has_value());
  REQUIRE(sim->never_complete(1, nvme_admin_identify).has_value());
  REQUIRE(h.submit(make_identify(NVME_IDENTIFY_CNS_CTRL, 0), 5).has_value());
  REQUIRE(h.submit(make_keep_alive(), 6).has_value());
  c = h.collect(1);
  REQUIRE(c.has_value());
  CHECK(c->count(6) == 1);
  CHECK(c->count(5) == 0);
  REQUIRE(sim->control("never-complete 1 off").has_value());
  REQUIRE(h.submit(make_identify(NVME_IDENTIFY_CNS_CTRL, 0), 7).has_value());
  c = h.collect(1);
  REQUIRE(c.has_value());
  CHECK(c->count(7) == 1);
  CHECK_FALSE(sim->control("ka-ignore 1 maybe").has_value());
  CHECK_FALSE(sim->control("never-complete 1 0x100").has_value());
}

TEST_CASE("fault --mqes option: CAP.MQES reports it and a larger I/O SQSIZE is refused naming SQSIZE", "[sim]") {
  auto cfg = test::small_config();
  cfg.mqes = 31;
  auto sim = test::start_sim(cfg);
  auto a = test::bring_up(sim->ports()[0], sim->nqn());  // admin SQSIZE 127 > MQES: allowed
  CHECK((run_ok(a.q, make_property_get(kRegCap, true)).cqe.dw0 & 0xFFFF) == 31);
  const auto connect_io = [&](std::uint16_t sqsize) {
    auto q = test::SyncQueue::open(sim->ports()[0], false);
    REQUIRE(q.has_value());
    auto data = encode_connect_data(test::test_host_id(), a.cntlid, sim->nqn(), test::kTestHostNqn);
    ConnectParams p;
    p.qid = 1;
    p.sqsize = sqsize;
    return run(*q, make_connect(p), std::vector<std::uint8_t>(data->begin(), data->end())).cqe;
  };
  const auto refused = connect_io(32);
  CHECK(refused.status.code() == 0x182);  // Connect Invalid Parameters
  CHECK(refused.dw0 == 44);               // IATTR 0 (SQE), IPO 44: SQSIZE
  CHECK(connect_io(31).status.ok());
  cfg.mqes = 0;
  CHECK_FALSE(sim::SimTarget::start(cfg).has_value());
}
