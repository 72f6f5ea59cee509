// Controller bring-up against the simulated target, read back with the initiator's parsers.
#include <catch2/catch.hpp>

#include "sim_support.h"
#include "wire/identify.h"
#include "wire/libnvme_types.h"
#include "wire/log_pages.h"
#include "wire/registers.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using nvmemp::test::bring_up;
using nvmemp::test::run;
using nvmemp::test::run_ok;

TEST_CASE("bring-up: CAP, VS, CC.EN, Identify, ANA log, namespaces, descriptors", "[sim]") {
  const bool digests = GENERATE(false, true);
  auto sim = test::start_sim();
  auto a = bring_up(sim->ports()[0], sim->nqn(), digests);
  CHECK(a.cntlid >= 1);
  CHECK(a.q.icresp().hdgst == digests);
  CHECK(a.q.icresp().ddgst == digests);
  CHECK(a.q.icresp().maxh2cdata == 4u << 20);

  const auto cap = property_value(run_ok(a.q, make_property_get(kRegCap, true)).cqe);
  CHECK(cap_mqes(cap) == 1023);
  CHECK(cap_to(cap) == 15);
  CHECK((cap_css(cap) & 1) == 1);
  const auto vs = run_ok(a.q, make_property_get(kRegVs, false)).cqe.dw0;
  CHECK(vs_major(vs) == 1);
  CHECK(vs_minor(vs) == 4);

  auto idc = parse_identify_controller(run_ok(a.q, make_identify(NVME_IDENTIFY_CNS_CTRL, 0)).data);
  REQUIRE(idc.has_value());
  CHECK(idc->cntlid == a.cntlid);
  CHECK(idc->cmic == 0xb);
  CHECK(idc->ana_supported());
  CHECK(idc->anacap == 0x1f);
  CHECK(idc->anagrpmax == 128);
  CHECK(idc->nanagrpid == 128);
  CHECK(idc->anatt > 0);
  CHECK(idc->mdts == 8);
  CHECK(idc->ioccsz == 1028);
  CHECK(idc->kas == 10);
  CHECK(idc->sgl_supported());
  CHECK(idc->subnqn == sim->nqn());
  CHECK(idc->nn == 128);
  CHECK(idc->mnan == 128);
  CHECK((idc->oaes & (1u << 8)) != 0);
  CHECK((idc->oaes & (1u << 11)) != 0);
  CHECK(idc->tbkas());
  CHECK(idc->aerl == 3);

  // Number of queues: 0's based in DW0.
  const auto nq = run_ok(a.q, make_set_features(0x07, (3u << 16) | 3u)).cqe.dw0;
  CHECK(nq == ((3u << 16) | 3u));

  auto ana = parse_ana_log(run_ok(a.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 0, 4096)).data);
  REQUIRE(ana.has_value());
  REQUIRE(ana->groups.size() == 2);
  for (std::uint32_t g = 1; g <= 2; ++g) {
    CHECK(ana->groups[g - 1].anagrpid == g);
    CHECK(ana->groups[g - 1].state == AnaState::Optimized);
    CHECK(ana->groups[g - 1].nsids == std::vector<std::uint32_t>{g});
  }

  auto list = parse_active_ns_list(run_ok(a.q, make_identify(NVME_IDENTIFY_CNS_NS_ACTIVE_LIST, 0)).data);
  REQUIRE(list.has_value());
  CHECK(*list == std::vector<std::uint32_t>{1, 2});
  for (const std::uint32_t nsid : *list) {
    auto ns = parse_identify_namespace(run_ok(a.q, make_identify(NVME_IDENTIFY_CNS_NS, nsid)).data);
    REQUIRE(ns.has_value());
    CHECK(ns->nsze == (8u << 20) / 512);
    CHECK(ns->lba_size() == 512);
    CHECK(ns->anagrpid == nsid);
    CHECK(ns->shared());
    CHECK(ns->has_nguid());
    auto d = parse_ns_id_descriptors(run_ok(a.q, make_identify(NVME_IDENTIFY_CNS_NS_DESC_LIST, nsid)).data);
    REQUIRE(d.has_value());
    REQUIRE(d->uuid.has_value());
    REQUIRE(d->nguid.has_value());
    CHECK(*d->nguid == ns->nguid);
    CHECK(d->csi == std::optional<std::uint8_t>(0));
    CHECK(format_uuid(*d->uuid) == "51a00000-0000-4000-8000-00000000000" + std::to_string(nsid));
  }
  // An inactive NSID reads as zeros; NSID 0 is invalid.
  auto inactive = parse_identify_namespace(run_ok(a.q, make_identify(NVME_IDENTIFY_CNS_NS, 7)).data);
  REQUIRE(inactive.has_value());
  CHECK_FALSE(inactive->active());
  CHECK(run(a.q, make_identify(NVME_IDENTIFY_CNS_NS, 0)).cqe.status.code() == 0x0B);

  // Keep Alive and Get Features KATO.
  run_ok(a.q, make_keep_alive());
  // Shutdown: CC.SHN = 01b -> CSTS.SHST = 10b.
  run_ok(a.q, make_property_set(kRegCc, cc_shutdown_value(cc_enable_value()), false));
  const auto csts = run_ok(a.q, make_property_get(kRegCsts, false)).cqe.dw0;
  CHECK(csts_shst(csts) == kShstComplete);
}

TEST_CASE("bring-up: second port reports non-optimized, cntlids are distinct", "[sim]") {
  auto sim = test::start_sim();
  auto a1 = bring_up(sim->ports()[0], sim->nqn());
  auto a2 = bring_up(sim->ports()[1], sim->nqn());
  CHECK(a1.cntlid != a2.cntlid);
  auto ana = parse_ana_log(run_ok(a2.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 0, 4096)).data);
  REQUIRE(ana.has_value());
  REQUIRE(ana->groups.size() == 2);
  CHECK(ana->groups[0].state == AnaState::NonOptimized);
  CHECK(ana->groups[1].state == AnaState::NonOptimized);
  // Offset and length are honoured: the second group descriptor alone (16-byte header +
  // 36-byte first group).
  const auto part = run_ok(a2.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 16 + 36, 36)).data;
  REQUIRE(part.size() == 36);
  CHECK(load_le32(part, 0) == 2);  // ANAGRPID
  CHECK(part[16] == 2);            // non-optimized
  // Return Groups Only (LSP bit 0): no NSID lists.
  auto rgo = parse_ana_log(run_ok(a2.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 0, 4096, 1)).data,
                           AnaLogForm::GroupsOnly);
  REQUIRE(rgo.has_value());
  CHECK(rgo->groups.size() == 2);
}

TEST_CASE("Connect: rejections name the bad field", "[sim]") {
  auto sim = test::start_sim();
  const std::uint16_t port = sim->ports()[0];
  {
    auto q = test::SyncQueue::open(port, false);
    REQUIRE(q.has_value());
    auto c = test::connect_raw(*q, "nqn.2026-01.io.example:nope", 0, kCntlidDynamic, 0);
    REQUIRE(c.has_value());
    CHECK(c->cqe.status.code() == 0x182);  // Connect Invalid Parameters
    CHECK(c->cqe.dw0 == ((1u << 16) | 256u));  // IATTR data, IPO SUBNQN
  }
  auto a = bring_up(port, sim->nqn());
  run_ok(a.q, make_set_features(0x07, (1u << 16) | 1u));  // 2 I/O queues granted
  {
    auto q = test::SyncQueue::open(port, false);
    REQUIRE(q.has_value());
    auto c = test::connect_raw(*q, sim->nqn(), 1, static_cast<std::uint16_t>(a.cntlid + 40), 0);
    REQUIRE(c.has_value());
    CHECK(c->cqe.status.code() == 0x182);  // no such controller
  }
  {
    auto q = test::SyncQueue::open(port, false);
    REQUIRE(q.has_value());
    auto c = test::connect_raw(*q, sim->nqn(), 1, a.cntlid, 0, "nqn.2014-08.org.nvmexpress:uuid:other");
    REQUIRE(c.has_value());
    CHECK(c->cqe.status.code() == 0x182);  // controller of another host
  }
  {
    auto q = test::SyncQueue::open(port, false);
    REQUIRE(q.has_value());
    auto c = test::connect_raw(*q, sim->nqn(), 3, a.cntlid, 0);
    REQUIRE(c.has_value());
    CHECK(c->cqe.status.code() == 0x182);  // qid beyond the 2 granted
  }
  auto io = test::open_io(port, sim->nqn(), a.cntlid, 2);
  // Admin commands before CC.EN are refused: Command Sequence Error.
  auto q = test::SyncQueue::open(port, false);
  REQUIRE(q.has_value());
  auto c = test::connect_raw(*q, sim->nqn(), 0, kCntlidDynamic, 0);
  REQUIRE(c.has_value());
  CHECK(run(*q, make_identify(NVME_IDENTIFY_CNS_CTRL, 0)).cqe.status.code() == 0x0C);
  CHECK(run(*q, make_property_get(0x40, false)).cqe.status.code() == 0x02);  // no such property
}
