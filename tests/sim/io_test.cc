// I/O of every size class through the simulated target: in-capsule writes, R2T writes with
// several R2Ts and a small MAXH2CDATA, chunked C2HData, CPDA != 0, digests on and off.
#include <catch2/catch.hpp>

#include "sim_support.h"
#include "wire/libnvme_types.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using nvmemp::test::run;
using nvmemp::test::run_ok;

namespace {

struct IoCase {
  const char* name;
  std::uint32_t maxh2cdata;
  std::uint32_t r2t_chunk;
  std::uint32_t c2h_chunk;
  std::uint8_t cpda;
  std::uint32_t ioccsz;
};

}  // namespace

TEST_CASE("I/O: every size class reads back what was written", "[sim]") {
  const IoCase ioc = GENERATE(IoCase{"defaults", 4u << 20, 0, 0, 0, 1028},
                              IoCase{"small maxh2cdata, several R2Ts", 4096, 16384, 0, 0, 260},
                              IoCase{"chunked C2HData", 4u << 20, 0, 4096, 0, 260},
                              IoCase{"CPDA 3 (16-byte data alignment)", 8192, 8192, 8192, 3, 1028});
  const bool digests = GENERATE(false, true);
  INFO(ioc.name << (digests ? ", digests" : ""));
  sim::SimConfig cfg = test::small_config();
  cfg.maxh2cdata = ioc.maxh2cdata;
  cfg.r2t_chunk = ioc.r2t_chunk;
  cfg.c2h_chunk = ioc.c2h_chunk;
  cfg.cpda = ioc.cpda;
  cfg.ioccsz = ioc.ioccsz;
  auto sim = test::start_sim(cfg);
  auto a = test::bring_up(sim->ports()[0], sim->nqn(), digests);
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid, 1, digests);
  CHECK(io.icresp().cpda == ioc.cpda);
  CHECK(io.icresp().maxh2cdata == ioc.maxh2cdata);
  const std::uint32_t max_icd = max_in_capsule_data(ioc.ioccsz);
  std::uint64_t slba = 0;
  std::uint32_t seed = 1;
  for (const std::uint32_t len : {512u, 4096u, max_icd, max_icd + 512, 65536u, 1u << 20}) {
    INFO("length " << len);
    const auto data = test::pattern(len, seed++);
    const std::uint32_t nlb = len / 512;
    run_ok(io, *make_write(1, slba, nlb, len, max_icd), data);
    const auto back = run_ok(io, *make_read(1, slba, nlb, len));
    CHECK(back.data == data);
    CHECK_FALSE(back.by_success_flag);
    slba += nlb;
  }
  // The other port reads the same bytes (shared namespace).
  auto a2 = test::bring_up(sim->ports()[1], sim->nqn(), digests);
  auto io2 = test::open_io(sim->ports()[1], sim->nqn(), a2.cntlid, 1, digests);
  CHECK(run_ok(io2, *make_read(1, 0, 1, 512)).data == test::pattern(512, 1));
}

TEST_CASE("I/O: SUCCESS flag only when the host disabled SQ flow control", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto q = test::SyncQueue::open(sim->ports()[0], false);
  REQUIRE(q.has_value());
  auto c = test::connect_raw(*q, sim->nqn(), 1, a.cntlid, 0, test::kTestHostNqn, kCattrDisableSqFlowControl);
  REQUIRE(c.has_value());
  REQUIRE(c->cqe.status.ok());
  CHECK(c->cqe.sqhd == 0xFFFF);  // as nvmet and SPDK (captures/README.md)
  const auto data = test::pattern(8192, 9);
  const auto w = run_ok(*q, *make_write(2, 16, 16, 8192, max_in_capsule_data(1028)), data);
  CHECK(w.cqe.sqhd == 0);
  const auto r = run_ok(*q, *make_read(2, 16, 16, 8192));
  CHECK(r.by_success_flag);
  CHECK(r.data == data);
  // Without CATTR bit 2: a CapsuleResp.
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid, 2);
  const auto r2 = run_ok(io, *make_read(2, 16, 16, 8192));
  CHECK_FALSE(r2.by_success_flag);
  CHECK(r2.data == data);
}

TEST_CASE("I/O: Flush, Write Zeroes, Dataset Management, 4096-byte LBAs", "[sim]") {
  sim::SimConfig cfg = test::small_config();
  cfg.lba_size = 4096;
  auto sim = test::start_sim(cfg);
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  const std::uint32_t icd = max_in_capsule_data(1028);
  const auto data = test::pattern(4 * 4096, 3);
  run_ok(io, *make_write(1, 10, 4, 4 * 4096, icd), data);
  run_ok(io, make_flush(1));
  run_ok(io, *make_write_zeroes(1, 11, 1));
  auto back = run_ok(io, *make_read(1, 10, 4, 4 * 4096)).data;
  CHECK(std::equal(back.begin(), back.begin() + 4096, data.begin()));
  CHECK(std::all_of(back.begin() + 4096, back.begin() + 8192, [](std::uint8_t b) { return b == 0; }));
  CHECK(std::equal(back.begin() + 8192, back.end(), data.begin() + 8192));
  const DsmRange ranges[] = {{12, 2}};
  run_ok(io, *make_dataset_management_deallocate(1, 1, icd), encode_dsm_ranges(ranges));
  back = run_ok(io, *make_read(1, 10, 4, 4 * 4096)).data;
  CHECK(std::all_of(back.begin() + 8192, back.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST_CASE("I/O: LBA range, opcode, namespace and length errors", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  const std::uint64_t nsze = (8u << 20) / 512;
  auto st = run(io, *make_read(1, nsze - 1, 2, 1024)).cqe.status;
  CHECK(st.code() == 0x080);  // LBA Out of Range
  CHECK(st.dnr());
  st = run(io, *make_write(1, nsze, 1, 512, 16384), std::vector<std::uint8_t>(512)).cqe.status;
  CHECK(st.code() == 0x080);
  CHECK(run(io, Sqe::with_opcode(0x7E, 1)).cqe.status.code() == 0x001);  // Invalid Opcode
  CHECK(run(io, *make_read(9, 0, 1, 512)).cqe.status.code() == 0x00B);   // Invalid Namespace
  CHECK(run(io, *make_read(1, 0, 2, 512)).cqe.status.code() == 0x00F);   // SGL length != NLB
  // Beyond MDTS (1 MiB).
  CHECK(run(io, *make_read(1, 0, 4096, 2u << 20)).cqe.status.code() == 0x002);
  // The queue still works.
  run_ok(io, *make_read(1, 0, 1, 512));
}
