// The hostile-target suite (issue 12, item 6): the simulated target misbehaves on purpose, one
// way per row, and the library must end in an error that names what was wrong, within its
// timeout, or recover within a bound; never crash, hang or trip a sanitizer. The misbehaviours
// come from the NVMe/TCP 1.0 rules and the kernel host's checks (drivers/nvme/host/tcp.c);
// the target's side is tools/sim-target/sim_hostile.cc, the commands tools/README.md.
//
// One TEST_CASE per row, so ctest runs them in parallel (each is its own ctest test).
#include <catch2/catch.hpp>

#include <chrono>

#include "hostile_support.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace std::chrono_literals;
using test::expect_bring_up_error;

// ---- lies in the initial connection exchange (ICResp; kernel: nvme_tcp_init_connection) ----

TEST_CASE("hostile: ICResp PFV 1", "[sim][hostile]") { expect_bring_up_error("hostile 1 icresp-pfv", {"ICResp", "pfv=1"}); }

TEST_CASE("hostile: ICResp CPDA 255", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 icresp-cpda", {"ICResp", "cpda=255"});
}

TEST_CASE("hostile: ICResp DGST with a reserved bit", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 icresp-dgst-reserved", {"ICResp", "dgst", "reserved"});
}

TEST_CASE("hostile: ICResp enables digests the host did not ask for", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 icresp-digests", {"ICResp digests"});
}

TEST_CASE("hostile: ICResp MAXH2CDATA below 4096", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 icresp-maxh2cdata", {"maxh2cdata=1024"});
}

// ---- lying length and type fields, CIDs no command owns (nvme_tcp_recv_pdu, handle_comp) ----

TEST_CASE("hostile: CapsuleResp PLEN shorter than its header", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-plen-short", {"CapsuleResp", "plen=16"});
}

TEST_CASE("hostile: CapsuleResp PLEN of 1 GiB", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-plen-huge", {"CapsuleResp", "plen=1073741824"});
}

TEST_CASE("hostile: CapsuleResp HLEN 28", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-hlen", {"CapsuleResp", "hlen=28"});
}

TEST_CASE("hostile: unknown PDU type", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-type-unknown", {"pdu-type=0xb", "unknown PDU type"});
}

TEST_CASE("hostile: a PDU type only a host sends", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-type-host", {"pdu-type=0x4"});
}

TEST_CASE("hostile: CapsuleResp for a CID no command owns", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-cid", {"CapsuleResp", "cid 0xfffe", "not in flight"});
}

TEST_CASE("hostile: the same CapsuleResp twice", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-twice", {"CapsuleResp", "not in flight"});
}

TEST_CASE("hostile: CQE status with a reserved status code type", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 resp-sct-reserved", {"Connect rejected", "sct 0x5"});
}

// ---- data PDUs outside their command (nvme_tcp_handle_c2h_data, nvme_tcp_recv_data) ----

TEST_CASE("hostile: C2HData for a CID no command owns", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-cid", {"C2HData", "cid 0xfffe", "not in flight"});
}

TEST_CASE("hostile: C2HData PDO inside its header", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-pdo", {"C2HData", "pdo=8"});
}

TEST_CASE("hostile: C2HData DATAO past the command's data", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-datao", {"C2HData", "DATAO 4096"});
}

TEST_CASE("hostile: C2HData DATAL larger than the data it carries", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-datal", {"C2HData", "datal=4100"});
}

TEST_CASE("hostile: C2HData with more data than the command asked for", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-overrun", {"C2HData", "DATAL 4608"});
}

TEST_CASE("hostile: truncated data, then a successful CapsuleResp", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-truncated", {"completed with 2048 of 4096 data bytes"});
}

TEST_CASE("hostile: C2HData SUCCESS without LAST_PDU", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-success-no-last", {"C2HData", "flags", "SUCCESS"});
}

TEST_CASE("hostile: C2HData for a command that reads nothing", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 c2h-unasked", {"C2HData", "expects no data"});
}

// ---- the target ends the connection ----

TEST_CASE("hostile: C2HTermReq from the target", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 termreq", {"terminated", "FES 0x1"});
}

TEST_CASE("hostile: connection closed in the middle of a PDU", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 cut-pdu", {"closed"});
}

// ---- commands never completed, one per bring-up step (the admin timeout bounds each) ----

TEST_CASE("hostile: never an ICResp", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 icresp", {"ICResp"}, "never-complete 1 off");
}

TEST_CASE("hostile: Connect never completed", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 connect", {"Connect", "timed out"}, "never-complete 1 off");
}

TEST_CASE("hostile: Property Get CAP never completed", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 cap", {"CAP", "timed out"}, "never-complete 1 off");
}

TEST_CASE("hostile: Property Set CC never completed", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 cc", {"CC", "timed out"}, "never-complete 1 off");
}

TEST_CASE("hostile: CSTS.RDY never set", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 csts-rdy", {"CSTS.RDY", "CAP.TO"}, "never-complete 1 off");
}

TEST_CASE("hostile: Identify Controller never completed", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 id-ctrl", {"Identify Controller", "timed out"}, "never-complete 1 off");
}

TEST_CASE("hostile: Set Features Number of Queues never completed", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 num-queues", {"Number of Queues", "timed out"}, "never-complete 1 off");
}

TEST_CASE("hostile: ANA log read never completed", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 ana-log", {"ANA", "timed out"}, "never-complete 1 off");
}

TEST_CASE("hostile: Identify active namespace list never completed", "[sim][hostile]") {
  expect_bring_up_error("never-complete 1 id-ns-list", {"active namespaces", "timed out"}, "never-complete 1 off");
}

// ---- lying count fields and reserved values in log pages ----

TEST_CASE("hostile: ANA log NGRPS larger than its groups", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 ana-ngrps", {"ANA log", "group descriptor [2]"});
}

TEST_CASE("hostile: ANA log with a reserved ANA state", "[sim][hostile]") {
  expect_bring_up_error("hostile 1 ana-state-reserved", {"ANA log", "ANA state 0x7 is undefined"});
}
