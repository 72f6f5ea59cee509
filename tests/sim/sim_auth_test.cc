// In-band authentication (DH-HMAC-CHAP) on the simulated target (tools/sim-target/sim_auth*.cc),
// driven by the initiator's host exchange (auth::DhchapHostExchange) over raw NVMe/TCP: the
// control lines, every hash x DH group pair on admin and I/O queues, nvmet's choices and
// refusals, malformed messages. The faults are in sim_auth_fault_test.cc; an independent host
// (probe.py) runs against the binary in probe_auth_test.sh.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <functional>
#include <optional>

#include "auth_support.h"
#include "common/bytes.h"
#include "sim_support.h"
#include "wire/registers.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace nvmemp::test;
using namespace std::chrono_literals;
using auth::AuthFailure;
using auth::DhchapHash;
using auth::DhGroup;
using Verdict = auth::DhchapStep::Verdict;

namespace {

constexpr DhchapHash kHashes[] = {DhchapHash::Sha256, DhchapHash::Sha384, DhchapHash::Sha512};
constexpr DhGroup kGroups[] = {DhGroup::Null,      DhGroup::Ffdhe2048, DhGroup::Ffdhe3072,
                               DhGroup::Ffdhe4096, DhGroup::Ffdhe6144, DhGroup::Ffdhe8192};
constexpr const char* kOtherHost = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000face";

bool has_status(const RawCompletion& c, std::uint8_t sct, std::uint8_t sc, bool dnr) {
  return c.cqe.status.sct() == sct && c.cqe.status.sc() == sc && c.cqe.status.dnr() == dnr;
}

wire::Sqe identify() { return wire::make_identify(1, 0); }
wire::Sqe read_block() { return *wire::make_read(1, 0, 1, 512); }

// Admin Connect (ATR expected) and CC.EN; returns the cntlid.
std::uint16_t admin_with_atr(AuthQueue& q, const std::string& nqn) {
  const RawCompletion c = connect_queue(q, nqn, 0, wire::kCntlidDynamic);
  INFO("Connect " << c.cqe.status.to_string());
  REQUIRE(c.cqe.status.ok());
  CHECK(wire::connect_authreq_atr(c.cqe.dw0));
  enable_ctrl(q);
  return wire::connect_cntlid(c.cqe.dw0);
}

// The reason code of the AUTH_Failure1 in a Receive's data (0 when it is no Failure1).
std::uint8_t failure1_rce(const std::vector<std::uint8_t>& m) {
  return m.size() >= 8 && m[0] == 0x00 && m[1] == 0xF1 ? m[7] : 0;
}

std::uint64_t discovery_numrec(AuthQueue& q) {
  const RawCompletion log = q.exec_ok(*wire::make_get_log_page(0x70, 0, 0, 4096));
  return load_le64(log.data, 8);
}

}  // namespace

TEST_CASE("auth: auth-host, auth-off, auth-fault and status, keys checked and never shown", "[sim][auth]") {
  auto sim = start_sim();
  auto st = sim->control("status");
  REQUIRE(st.has_value());
  CHECK_THAT(*st, Catch::Contains("auth supported=1 allow_any_host=1\n"));
  const std::string good = kAuthHostKey;
  const std::string body = good.substr(10, 40);
  std::string bad_crc = good;
  bad_crc[12] = bad_crc[12] == 'A' ? 'B' : 'A';
  for (const std::string& k : {bad_crc, "DHHC-1:05:" + good.substr(10), std::string("DHHC-1:01:QUJD:"),
                               std::string("password")}) {
    auto r = sim->control("auth-host nqn.2026-01.io.example:h " + k);
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().message);
    CHECK(r.error().message.rfind("KEY: not a usable DH-HMAC-CHAP secret", 0) == 0);
    CHECK(r.error().message.find(k) == std::string::npos);
    CHECK(r.error().message.find(body.substr(0, 12)) == std::string::npos);
  }
  auto r = sim->control("auth-host nqn.2026-01.io.example:h " + good + " " + bad_crc);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.rfind("CTRLKEY: ", 0) == 0);
  CHECK(r.error().message.find(body.substr(0, 12)) == std::string::npos);
  r = sim->control("auth-host nqn.2026-01.io.example:h " + good + " - md5");
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::StartsWith("HASH 'md5' is not hmac(sha256)"));
  r = sim->control("auth-host nqn.2026-01.io.example:h " + good + " - sha256 ffdhe1024");
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::StartsWith("DHGROUP 'ffdhe1024' is not null|ffdhe2048"));
  CHECK_FALSE(sim->control("auth-host nqn.2026-01.io.example:h").has_value());  // no KEY

  REQUIRE(sim->control(fmt::format("auth-host {} {} {} sha384 ffdhe2048", kTestHostNqn, kAuthHostKey, kAuthCtrlKey)));
  REQUIRE(sim->control(fmt::format("auth-host {} {}", kOtherHost, kAuthOtherKey)));
  st = sim->control("status");
  REQUIRE(st.has_value());
  CHECK_THAT(*st, Catch::Contains("auth supported=1 allow_any_host=0\n"));
  CHECK_THAT(*st, Catch::Contains(fmt::format("host {} allowed=1 key=DHHC-1:01 ctrl_key=DHHC-1:02 hash=hmac(sha384) "
                                              "dhgroup=ffdhe2048\n",
                                              kTestHostNqn)));
  CHECK_THAT(*st, Catch::Contains(fmt::format("host {} allowed=1 key=DHHC-1:00 ctrl_key=- hash=hmac(sha256) dhgroup=null\n",
                                              kOtherHost)));
  for (const std::string k : {kAuthHostKey, kAuthCtrlKey, kAuthOtherKey}) {
    CHECK(st->find(k.substr(10, 16)) == std::string::npos);
  }

  REQUIRE(sim->control("auth-fault wrong-r2"));
  REQUIRE(sim->control("auth-fault failure1 hash-unusable"));
  REQUIRE(sim->control("auth-fault refuse-reauth"));
  st = sim->control("status");
  CHECK_THAT(*st, Catch::Contains("auth-fault wrong-r2 failure1=4 refuse-reauth\n"));
  REQUIRE(sim->control("auth-fault failure1 0x21"));
  CHECK_THAT(*sim->control("status"), Catch::Contains("failure1=33"));
  auto bogus = sim->control("auth-fault bogus");
  REQUIRE_FALSE(bogus.has_value());
  CHECK_THAT(bogus.error().message, Catch::Contains("unknown fault 'bogus'"));
  CHECK_FALSE(sim->control("auth-fault failure1").has_value());
  CHECK_FALSE(sim->control("auth-fault failure1 0").has_value());
  CHECK_FALSE(sim->control("auth-fault failure1 256").has_value());
  CHECK_FALSE(sim->control("auth-fault wrong-r2 now").has_value());
  REQUIRE(sim->control("auth-fault off"));
  CHECK_THAT(*sim->control("status"), !Catch::Contains("auth-fault"));

  REQUIRE(sim->control("auth-off"));
  st = sim->control("status");
  CHECK_THAT(*st, Catch::Contains("allow_any_host=1") && !Catch::Contains("host nqn."));
  REQUIRE(sim->control(fmt::format("auth-host {} {}", kTestHostNqn, kAuthHostKey)));
  REQUIRE(sim->control("reset"));  // like the real target's: authentication off
  CHECK_THAT(*sim->control("status"), Catch::Contains("allow_any_host=1") && !Catch::Contains("host nqn."));
}

TEST_CASE("auth: every hash x DH group on an admin and an I/O queue, bidirectional", "[sim][auth]") {
  auto sim = start_sim();
  const std::string nqn = sim->nqn();
  const HostKeys keys = host_keys(nqn, true);
  std::uint16_t t_id = 1;
  for (const DhchapHash h : kHashes) {
    for (const DhGroup g : kGroups) {
      INFO(auth::hash_name(h) << " " << auth::dh_group_name(g));
      REQUIRE(sim->control(auth_host_line(h, g, true)));
      AuthQueue admin = AuthQueue::open(sim->ports()[0]);
      const RawCompletion c = connect_queue(admin, nqn, 0, wire::kCntlidDynamic);
      REQUIRE(c.cqe.status.ok());
      CHECK(wire::connect_authreq_atr(c.cqe.dw0));
      const std::uint16_t cntlid = wire::connect_cntlid(c.cqe.dw0);
      // Property Get/Set work before authentication; Identify: Command Sequence Error before
      // CC.EN = 1, Authentication Required + DNR after (as the real target answers).
      admin.exec_ok(wire::make_property_get(wire::kRegCap, true));
      CHECK(has_status(must(admin.exec(identify())), 0, 0x0C, true));
      enable_ctrl(admin);
      CHECK(auth_required_status(must(admin.exec(identify()))));
      CHECK(auth_required_status(must(admin.exec(wire::make_keep_alive()))));
      auth::DhchapHostExchange x(host_config(keys, nqn), t_id++);
      ExchangeResult r = run_exchange(admin, x);
      INFO(r.error);
      REQUIRE(r.verdict == Verdict::Done);
      CHECK(r.negotiated == fmt::format("dhchap {} {}", auth::hash_name(h), auth::dh_group_name(g)));
      admin.exec_ok(identify());

      AuthQueue io = AuthQueue::open(sim->ports()[0]);
      const RawCompletion ioc = connect_queue(io, nqn, 1, cntlid);
      REQUIRE(ioc.cqe.status.ok());
      CHECK(wire::connect_authreq_atr(ioc.cqe.dw0));
      CHECK(auth_required_status(must(io.exec(read_block()))));
      auth::DhchapHostExchange y(host_config(keys, nqn), t_id++);
      r = run_exchange(io, y);
      INFO(r.error);
      REQUIRE(r.verdict == Verdict::Done);
      io.exec_ok(read_block());
    }
  }
}

TEST_CASE("auth: one-way, other hosts refused at Connect and left out of discovery, earlier and discovery "
          "controllers unaffected",
          "[sim][auth]") {
  auto sim = start_sim();
  const std::string nqn = sim->nqn();
  AuthQueue early = AuthQueue::open(sim->ports()[0]);  // connected before auth-host: stays usable
  const RawCompletion c0 = connect_queue(early, nqn, 0, wire::kCntlidDynamic);
  REQUIRE(c0.cqe.status.ok());
  CHECK_FALSE(wire::connect_authreq_atr(c0.cqe.dw0));
  enable_ctrl(early);
  REQUIRE(sim->control(auth_host_line(DhchapHash::Sha256, DhGroup::Null, false)));
  early.exec_ok(identify());

  AuthQueue a = AuthQueue::open(sim->ports()[1]);
  admin_with_atr(a, nqn);
  const HostKeys k = host_keys(nqn, false);
  auth::DhchapHostExchange x(host_config(k, nqn), 9);
  const ExchangeResult r = run_exchange(a, x);
  INFO(r.error);
  REQUIRE(r.verdict == Verdict::Done);
  CHECK_FALSE(r.sent_failure2);
  auto s1 = auth::decode_success1(r.last);  // one-way: RVALID 0, HL still set (nvmet)
  REQUIRE(s1.has_value());
  CHECK_FALSE(s1->failed);
  CHECK(s1->success.hl == 32);
  CHECK_FALSE(s1->success.rvalid);
  a.exec_ok(identify());

  AuthQueue o = AuthQueue::open(sim->ports()[0]);
  const RawCompletion refused = connect_queue(o, nqn, 0, wire::kCntlidDynamic, kOtherHost);
  CHECK(has_status(refused, 1, 0x84, true));  // Connect Invalid Host
  CHECK(refused.cqe.dw0 == (512u | 1u << 16));  // HOSTNQN, in the Connect data

  // Discovery controllers never authenticate; only an allowed host sees the subsystem's entry
  // (2 ports: current discovery subsystem, the subsystem, a referral).
  for (const std::string& host : {std::string(kTestHostNqn), std::string(kOtherHost)}) {
    INFO(host);
    AuthQueue d = AuthQueue::open(sim->ports()[0]);
    const RawCompletion dc = connect_queue(d, sim::kDiscoveryNqn, 0, wire::kCntlidDynamic, host);
    REQUIRE(dc.cqe.status.ok());
    CHECK_FALSE(wire::connect_authreq_atr(dc.cqe.dw0));
    enable_ctrl(d);
    CHECK(discovery_numrec(d) == (host == kTestHostNqn ? 3u : 2u));
  }
  REQUIRE(sim->control("auth-off"));  // any host again, no authentication for new controllers
  AuthQueue o2 = AuthQueue::open(sim->ports()[0]);
  const RawCompletion c2 = connect_queue(o2, nqn, 0, wire::kCntlidDynamic, kOtherHost);
  REQUIRE(c2.cqe.status.ok());
  CHECK_FALSE(wire::connect_authreq_atr(c2.cqe.dw0));
}

TEST_CASE("auth: wrong keys: Failure1 'failed' after the Reply, or R2 refused by the host, then the controller fails",
          "[sim][auth]") {
  auto sim = start_sim();
  const std::string nqn = sim->nqn();
  SECTION("the host key is not the target's") {
    REQUIRE(sim->control(auth_host_line(DhchapHash::Sha256, DhGroup::Ffdhe2048, false)));
    AuthQueue a = AuthQueue::open(sim->ports()[0]);
    admin_with_atr(a, nqn);
    const HostKeys k = host_keys(nqn, false, kAuthOtherKey);
    auth::DhchapHostExchange x(host_config(k, nqn), 3);
    const ExchangeResult r = run_exchange(a, x);
    CHECK(r.verdict == Verdict::Failed);
    CHECK(failure1_rce(r.last) == 1);
    CHECK_THAT(r.error, Catch::Contains("host key (dhchap_secret)"));
    CHECK(a.closed_within(3s));  // nvmet_ctrl_fatal_error
  }
  SECTION("the controller key is not the host's: the host sends Failure2") {
    REQUIRE(sim->control(auth_host_line(DhchapHash::Sha512, DhGroup::Null, true)));
    AuthQueue a = AuthQueue::open(sim->ports()[0]);
    admin_with_atr(a, nqn);
    HostKeys k = host_keys(nqn, false);
    k.kc = transformed(kAuthOtherKey, nqn);
    auth::DhchapHostExchange x(host_config(k, nqn), 4);
    const ExchangeResult r = run_exchange(a, x);
    CHECK(r.verdict == Verdict::Failed);
    CHECK(r.sent_failure2);
    CHECK_THAT(r.error, Catch::Contains("does not hold the controller key"));
    CHECK(a.closed_within(3s));
  }
  SECTION("the host asks for R2 and the target has no controller key: Failure1 'failed'") {
    REQUIRE(sim->control(auth_host_line(DhchapHash::Sha384, DhGroup::Null, false)));
    AuthQueue a = AuthQueue::open(sim->ports()[0]);
    admin_with_atr(a, nqn);
    const HostKeys k = host_keys(nqn, true);
    auth::DhchapHostExchange x(host_config(k, nqn), 5);
    const ExchangeResult r = run_exchange(a, x);
    CHECK(r.verdict == Verdict::Failed);
    CHECK(failure1_rce(r.last) == 1);
    CHECK(a.closed_within(3s));
  }
}

TEST_CASE("auth: negotiation as nvmet: the configured hash if offered, else the host's first, the configured "
          "group or Failure1",
          "[sim][auth]") {
  auto sim = start_sim();
  const std::string nqn = sim->nqn();
  REQUIRE(sim->control(auth_host_line(DhchapHash::Sha512, DhGroup::Ffdhe3072, false)));
  const HostKeys k = host_keys(nqn, false);
  using Hashes = std::optional<std::vector<DhchapHash>>;
  using Groups = std::optional<std::vector<DhGroup>>;
  const auto attempt = [&](Hashes hashes, Groups groups) {  // nullopt: offer them all
    AuthQueue a = AuthQueue::open(sim->ports()[0]);
    admin_with_atr(a, nqn);
    auth::DhchapHostConfig cfg = host_config(k, nqn);
    if (hashes) cfg.hashes = std::move(*hashes);
    if (groups) cfg.groups = std::move(*groups);
    auth::DhchapHostExchange x(cfg, 11);
    return run_exchange(a, x);
  };
  ExchangeResult r = attempt(std::vector{DhchapHash::Sha384, DhchapHash::Sha256}, std::nullopt);
  INFO(r.error);
  CHECK(r.verdict == Verdict::Done);
  CHECK(r.negotiated == "dhchap sha384 ffdhe3072");
  r = attempt(std::vector{DhchapHash::Sha256, DhchapHash::Sha512}, std::nullopt);
  CHECK(r.negotiated == "dhchap sha512 ffdhe3072");
  r = attempt(std::nullopt, std::vector{DhGroup::Null, DhGroup::Ffdhe2048});
  CHECK(r.verdict == Verdict::Failed);
  CHECK(failure1_rce(r.last) == static_cast<std::uint8_t>(AuthFailure::DhGroupUnusable));
  CHECK_THAT(r.error, Catch::Contains("DH group unusable"));
  r = attempt(std::vector<DhchapHash>{}, std::nullopt);  // HALEN 0: no hash at all
  CHECK(failure1_rce(r.last) == static_cast<std::uint8_t>(AuthFailure::HashUnusable));
}

TEST_CASE("auth: re-authentication on an authenticated admin or I/O queue, which works meanwhile",
          "[sim][auth]") {
  auto sim = start_sim();
  const std::string nqn = sim->nqn();
  REQUIRE(sim->control(auth_host_line(DhchapHash::Sha384, DhGroup::Ffdhe2048, true)));
  const HostKeys k = host_keys(nqn, true);
  AuthQueue a = AuthQueue::open(sim->ports()[0]);
  const std::uint16_t cntlid = admin_with_atr(a, nqn);
  for (std::uint16_t t = 20; t < 23; ++t) {
    auth::DhchapHostExchange x(host_config(k, nqn), t);
    REQUIRE(must(auth_send(a, x.negotiate())).cqe.status.ok());
    if (t > 20) a.exec_ok(identify());  // authenticated already: a new exchange does not stop it
    auto ch = must(auth_receive(a));
    auto s = x.on_challenge(ch.data);
    REQUIRE(s.verdict == Verdict::Continue);
    REQUIRE(must(auth_send(a, s.send)).cqe.status.ok());
    s = x.on_success1(must(auth_receive(a)).data);
    INFO(s.error.message);
    REQUIRE(s.verdict == Verdict::Done);
    REQUIRE(must(auth_send(a, s.send)).cqe.status.ok());
    a.exec_ok(identify());
  }
  AuthQueue io = AuthQueue::open(sim->ports()[0]);
  REQUIRE(connect_queue(io, nqn, 1, cntlid).cqe.status.ok());
  for (std::uint16_t t = 30; t < 32; ++t) {
    auth::DhchapHostExchange x(host_config(k, nqn), t);
    const ExchangeResult r = run_exchange(io, x);
    INFO(r.error);
    REQUIRE(r.verdict == Verdict::Done);
    io.exec_ok(read_block());
  }
}

TEST_CASE("auth: malformed Authentication commands and messages get an error status or a Failure1", "[sim][auth]") {
  auto sim = start_sim();
  const std::string nqn = sim->nqn();
  REQUIRE(sim->control(auth_host_line(DhchapHash::Sha256, DhGroup::Ffdhe2048, false)));
  const HostKeys k = host_keys(nqn, false);
  const auto fresh = [&] {
    AuthQueue a = AuthQueue::open(sim->ports()[0]);
    admin_with_atr(a, nqn);
    return a;
  };
  auth::DhchapHostExchange x(host_config(k, nqn), 40);
  const std::vector<std::uint8_t> neg = x.negotiate();
  const auto set_le32 = [](wire::Sqe& sqe, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) sqe.bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };

  SECTION("SECP, SPSP, TL and AL are checked (Invalid Field / SGL Length Invalid, DNR); the exchange goes on") {
    AuthQueue a = fresh();
    wire::Sqe bad = wire::make_auth_send(static_cast<std::uint32_t>(neg.size()), 8192);
    bad.bytes[43] = 0xEA;  // SECP
    CHECK(has_status(must(a.exec(bad, neg)), 0, 0x02, true));
    bad = wire::make_auth_send(static_cast<std::uint32_t>(neg.size()), 8192);
    bad.bytes[42] = 0x00;  // SPSP1
    CHECK(has_status(must(a.exec(bad, neg)), 0, 0x02, true));
    bad = wire::make_auth_send(static_cast<std::uint32_t>(neg.size()), 8192);
    set_le32(bad, 44, static_cast<std::uint32_t>(neg.size() - 1));  // TL is not the data's length
    CHECK(has_status(must(a.exec(bad, neg)), 0, 0x0F, true));
    CHECK(has_status(must(auth_receive(a, 0)), 0, 0x02, true));  // AL 0
    wire::Sqe rcv = wire::make_auth_receive(4096);
    set_le32(rcv, 44, 2048);  // AL is not the SGL's length
    CHECK(has_status(must(a.exec(rcv)), 0, 0x0F, true));
    const ExchangeResult r = run_exchange(a, x);
    INFO(r.error);
    CHECK(r.verdict == Verdict::Done);
  }
  SECTION("an Authentication Send whose data comes by R2T is taken") {
    AuthQueue a = fresh();
    REQUIRE(must(a.exec(wire::make_auth_send(static_cast<std::uint32_t>(neg.size()), 0), neg)).cqe.status.ok());
    auto s = x.on_challenge(must(auth_receive(a)).data);
    REQUIRE(s.verdict == Verdict::Continue);
    REQUIRE(must(a.exec(wire::make_auth_send(static_cast<std::uint32_t>(s.send.size()), 0), s.send)).cqe.status.ok());
    s = x.on_success1(must(auth_receive(a)).data);
    INFO(s.error.message);
    CHECK(s.verdict == Verdict::Done);
    a.exec_ok(identify());
  }
  SECTION("AL too small: Internal Error for the Challenge (the step stays), Invalid Field for the Success1") {
    AuthQueue a = fresh();
    REQUIRE(must(auth_send(a, neg)).cqe.status.ok());
    CHECK(has_status(must(auth_receive(a, 64)), 0, 0x06, false));  // 16 + 32 + 256 needed
    auto s = x.on_challenge(must(auth_receive(a)).data);
    REQUIRE(s.verdict == Verdict::Continue);
    REQUIRE(must(auth_send(a, s.send)).cqe.status.ok());
    CHECK(has_status(must(auth_receive(a, 8)), 0, 0x02, true));
    s = x.on_success1(must(auth_receive(a)).data);
    INFO(s.error.message);
    CHECK(s.verdict == Verdict::Done);
  }
  SECTION("messages out of order or malformed: Failure1 with nvmet's reason code, then the controller fails") {
    struct Row {
      const char* what;
      bool after_challenge;  // sent in place of the Reply (`reply` is the good one), else first
      std::function<std::vector<std::uint8_t>(std::vector<std::uint8_t> reply)> make;
      AuthFailure why;
    };
    auth::Reply early_reply;
    early_reply.t_id = 40;
    early_reply.r1.assign(32, 0);
    early_reply.c2.assign(32, 0);
    const std::vector<Row> rows = {
        {"a Reply before any Negotiate", false, [&](auto) { return auth::encode_reply(early_reply); },
         AuthFailure::IncorrectProtocolMessage},
        {"3 bytes", false, [](auto) { return std::vector<std::uint8_t>{0, 0, 0}; }, AuthFailure::IncorrectPayload},
        {"AUTH_TYPE 2", false, [&](auto) { auto m = neg; m[0] = 2; return m; }, AuthFailure::IncorrectProtocolMessage},
        {"SC_C 1 (secure channel concatenation)", false, [&](auto) { auto m = neg; m[6] = 1; return m; },
         AuthFailure::ConcatMismatch},
        {"NAPD 2", false,
         [&](auto) {
           auto m = neg;
           m.insert(m.end(), neg.begin() + 8, neg.end());
           m[7] = 2;
           return m;
         },
         AuthFailure::HashUnusable},
        {"AUTHID 2 (not DH-HMAC-CHAP)", false, [&](auto) { auto m = neg; m[8] = 2; return m; },
         AuthFailure::IncorrectPayload},
        {"a Reply with another T_ID", true, [](auto m) { m[4] ^= 1; return m; }, AuthFailure::IncorrectPayload},
        {"a Reply one byte short", true, [](auto m) { m.pop_back(); return m; }, AuthFailure::IncorrectPayload},
        {"a Reply without the DH value", true, [](auto m) { m.resize(16 + 64); m[10] = m[11] = 0; return m; },
         AuthFailure::IncorrectPayload},
        {"a Negotiate in place of the Reply, then no Challenge", true,
         [&](auto) { auto m = neg; m[10] = 0; return m; }, AuthFailure::HashUnusable},
    };
    for (const Row& row : rows) {
      INFO(row.what);
      AuthQueue a = fresh();
      std::vector<std::uint8_t> reply;
      if (row.after_challenge) {
        auth::DhchapHostExchange y(host_config(k, nqn), 40);
        REQUIRE(must(auth_send(a, neg)).cqe.status.ok());
        auto s = y.on_challenge(must(auth_receive(a)).data);
        REQUIRE(s.verdict == Verdict::Continue);
        reply = s.send;
      }
      REQUIRE(must(auth_send(a, row.make(reply))).cqe.status.ok());  // the Send itself succeeds
      CHECK(failure1_rce(must(auth_receive(a)).data) == static_cast<std::uint8_t>(row.why));
      CHECK(a.closed_within(3s));
    }
  }
  SECTION("a Receive with no message due: Failure1 'failed'") {
    AuthQueue a = fresh();
    CHECK(failure1_rce(must(auth_receive(a)).data) == 1);
    CHECK(a.closed_within(3s));
  }
}
