// The simulated target's authentication faults (`auth-fault ...`, tools/README.md): each one
// shows on the wire as it should, and the host's exchange (auth::DhchapHostExchange) reports
// it. Also: no secret in the target's verbose log, its status or its errors.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "auth/dhchap_messages.h"
#include "auth_support.h"
#include "sim_support.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace nvmemp::test;
using namespace std::chrono_literals;
using auth::AuthFailure;
using auth::DhchapHash;
using auth::DhGroup;
using Verdict = auth::DhchapStep::Verdict;

namespace {

struct AuthFaultFixture {
  std::unique_ptr<sim::SimTarget> sim;
  std::string nqn;
  HostKeys keys;
  AuthFaultFixture(DhchapHash h, DhGroup g, bool bidirectional, sim::SimConfig cfg = small_config())
      : sim(start_sim(cfg)), nqn(sim->nqn()), keys(host_keys(nqn, bidirectional)) {
    REQUIRE(sim->control(auth_host_line(h, g, bidirectional)));
  }
  AuthQueue admin() {
    AuthQueue a = AuthQueue::open(sim->ports()[0]);
    const RawCompletion c = connect_queue(a, nqn, 0, wire::kCntlidDynamic);
    REQUIRE(c.cqe.status.ok());
    REQUIRE(wire::connect_authreq_atr(c.cqe.dw0));
    enable_ctrl(a);
    return a;
  }
  ExchangeResult exchange(AuthQueue& a, std::uint16_t t_id, auth::DhchapHostConfig cfg) {
    auth::DhchapHostExchange x(std::move(cfg), t_id);
    return run_exchange(a, x);
  }
  ExchangeResult exchange(AuthQueue& a, std::uint16_t t_id) { return exchange(a, t_id, host_config(keys, nqn)); }
  // Arms `auth-fault FAULT` and runs an exchange on a new controller: the host refuses it with a
  // Failure2, which fails the controller (nvmet).
  ExchangeResult refused_by_host(const std::string& fault, std::uint16_t t_id, auth::DhchapHostConfig cfg) {
    REQUIRE(sim->control("auth-fault " + fault));
    AuthQueue a = admin();
    ExchangeResult r = exchange(a, t_id, std::move(cfg));
    CHECK(r.verdict == Verdict::Failed);
    CHECK(r.sent_failure2);
    CHECK(a.closed_within(3s));
    return r;
  }
  ExchangeResult refused_by_host(const std::string& fault, std::uint16_t t_id) {
    return refused_by_host(fault, t_id, host_config(keys, nqn));
  }
};

}  // namespace

TEST_CASE("auth faults: wrong-r2 / no-r2: the host refuses the controller with Failure2, one-shot", "[sim][auth]") {
  AuthFaultFixture f(DhchapHash::Sha384, DhGroup::Ffdhe2048, true);
  for (const char* fault : {"wrong-r2", "no-r2"}) {
    INFO(fault);
    const ExchangeResult r = f.refused_by_host(fault, 1);
    CHECK_THAT(r.error, Catch::Contains(std::string(fault) == "wrong-r2" ? "does not hold the controller key"
                                                                          : "no response (RVALID 0)"));
    auto s1 = auth::decode_success1(r.last);
    REQUIRE(s1.has_value());
    CHECK(s1->success.hl == 48);
    AuthQueue b = f.admin();     // one-shot: the next exchange is honest
    const ExchangeResult ok = f.exchange(b, 2);
    INFO(ok.error);
    CHECK(ok.verdict == Verdict::Done);
  }
}

TEST_CASE("auth faults: failure1 REASON in place of the Challenge, every reason code", "[sim][auth]") {
  AuthFaultFixture f(DhchapHash::Sha256, DhGroup::Null, false);
  for (std::uint8_t rce = 1; rce <= 7; ++rce) {
    INFO("reason " << int(rce));
    REQUIRE(f.sim->control(fmt::format("auth-fault failure1 {}", rce)));
    AuthQueue a = f.admin();
    const ExchangeResult r = f.exchange(a, rce);
    CHECK(r.verdict == Verdict::Failed);
    CHECK_FALSE(r.sent_failure2);
    CHECK(r.last.size() == 4096);  // the whole AL buffer
    REQUIRE(r.last.size() >= 8);
    CHECK((r.last[0] == 0x00 && r.last[1] == 0xF1 && r.last[6] == 0x01 && r.last[7] == rce));
    CHECK((r.last[4] | r.last[5] << 8) == rce);  // the Negotiate's T_ID
    CHECK_THAT(r.error, Catch::Contains("refused the Negotiate") && Catch::Contains(auth::auth_failure_text(rce)));
    CHECK(a.closed_within(3s));
  }
  REQUIRE(f.sim->control("auth-fault failure1 dhgroup-unusable"));  // by name
  AuthQueue a = f.admin();
  CHECK(f.exchange(a, 9).last[7] == 5);
}

TEST_CASE("auth faults: no-challenge: the Receive after the Negotiate never completes", "[sim][auth]") {
  AuthFaultFixture f(DhchapHash::Sha256, DhGroup::Ffdhe2048, false);
  REQUIRE(f.sim->control("auth-fault no-challenge"));
  AuthQueue a = f.admin();
  auth::DhchapHostExchange x(host_config(f.keys, f.nqn), 5);
  REQUIRE(must(auth_send(a, x.negotiate())).cqe.status.ok());
  auto r = auth_receive(a, wire::kAuthReceiveLen, 600ms);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Timeout);
  // One-shot: a new connection's exchange gets its Challenge.
  AuthQueue b = f.admin();
  const ExchangeResult ok = f.exchange(b, 6);
  INFO(ok.error);
  CHECK(ok.verdict == Verdict::Done);
}

TEST_CASE("auth faults: wrong-tid and group-not-offered: the host answers Failure2 with the matching reason",
          "[sim][auth]") {
  AuthFaultFixture f(DhchapHash::Sha512, DhGroup::Ffdhe2048, false);
  SECTION("wrong-tid") {
    CHECK_THAT(f.refused_by_host("wrong-tid", 70).error, Catch::Contains("T_ID 71, the Negotiate sent 70"));
  }
  SECTION("group-not-offered, the host offering null and ffdhe2048: the Challenge names ffdhe3072") {
    auth::DhchapHostConfig cfg = host_config(f.keys, f.nqn);
    cfg.groups = {DhGroup::Null, DhGroup::Ffdhe2048};
    const ExchangeResult r = f.refused_by_host("group-not-offered", 71, cfg);
    CHECK_THAT(r.error, Catch::Contains("DH group ffdhe3072, which was not offered"));
    auto ch = auth::decode_challenge(r.last);
    REQUIRE(ch.has_value());
    CHECK(ch->challenge.dh_value.size() == 384);  // a real ffdhe3072 value, padded
  }
  SECTION("group-not-offered, the host offering all six: DHGID 6, no such group") {
    const ExchangeResult r = f.refused_by_host("group-not-offered", 72);
    CHECK(r.last.at(9) == 6);
    CHECK_THAT(r.error, Catch::Contains("DHGID 6"));
  }
}

TEST_CASE("auth faults: refuse-reauth (Failure1, the queue kept) and refuse-reauth-cse persist until auth-fault off",
          "[sim][auth]") {
  AuthFaultFixture f(DhchapHash::Sha256, DhGroup::Ffdhe2048, true);
  AuthQueue a = f.admin();
  REQUIRE(f.exchange(a, 1).verdict == Verdict::Done);
  REQUIRE(f.sim->control("auth-fault refuse-reauth"));
  for (std::uint16_t t = 2; t < 4; ++t) {  // persistent
    const ExchangeResult r = f.exchange(a, t);
    CHECK(r.verdict == Verdict::Failed);
    CHECK(r.last.at(1) == 0xF1);
    CHECK(r.last.at(7) == static_cast<std::uint8_t>(AuthFailure::IncorrectProtocolMessage));
    CHECK((r.last[4] | r.last[5] << 8) == t);
    a.exec_ok(wire::make_identify(1, 0));  // still authenticated, still open
  }
  // A first authentication is not a re-authentication: a new controller authenticates.
  AuthQueue b = f.admin();
  CHECK(f.exchange(b, 9).verdict == Verdict::Done);

  REQUIRE(f.sim->control("auth-fault refuse-reauth-cse"));
  auth::DhchapHostExchange x(host_config(f.keys, f.nqn), 10);
  const RawCompletion neg = must(auth_send(a, x.negotiate()));
  CHECK(neg.cqe.status.sct() == 0);
  CHECK(neg.cqe.status.sc() == 0x0C);  // Command Sequence Error, as SPDK's target
  CHECK_FALSE(neg.cqe.status.dnr());
  a.exec_ok(wire::make_identify(1, 0));

  REQUIRE(f.sim->control("auth-fault off"));
  const ExchangeResult again = f.exchange(a, 11);
  INFO(again.error);
  CHECK(again.verdict == Verdict::Done);
  a.exec_ok(wire::make_identify(1, 0));
}

namespace {

// fd 2 into a file while alive (the target's verbose log goes to stderr).
class StderrCapture {
 public:
  StderrCapture() : path_(fmt::format("/tmp/sim-auth-log-{}-XXXXXX", ::getpid())) {
    fd_ = ::mkstemp(path_.data());
    REQUIRE(fd_ >= 0);
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(fd_, 2);
  }
  ~StderrCapture() { finish(); }
  std::string finish() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, 2);
      ::close(saved_);
      ::close(fd_);
      saved_ = -1;
      std::ifstream in(path_);
      std::stringstream ss;
      ss << in.rdbuf();
      text_ = ss.str();
      ::unlink(path_.c_str());
    }
    return text_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  int saved_ = -1;
  std::string text_;
};

std::string hex(const auth::SecretBuf& b) {
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) s += fmt::format("{:02x}", b.data()[i]);
  return s;
}

}  // namespace

TEST_CASE("auth: no secret in the verbose log, the status or an error", "[sim][auth]") {
  StderrCapture cap;
  {
    sim::SimConfig cfg = small_config();
    cfg.verbose = true;
    AuthFaultFixture f(DhchapHash::Sha384, DhGroup::Ffdhe2048, true, cfg);
    AuthQueue a = f.admin();
    REQUIRE(f.exchange(a, 1).verdict == Verdict::Done);
    HostKeys wrong = host_keys(f.nqn, false, kAuthOtherKey);
    AuthQueue b = f.admin();
    CHECK(f.exchange(b, 2, host_config(wrong, f.nqn)).verdict == Verdict::Failed);
    REQUIRE(f.sim->control("auth-fault wrong-r2"));
    AuthQueue c = f.admin();
    CHECK(f.exchange(c, 3).verdict == Verdict::Failed);
    const std::string status = *f.sim->control("status");
    const std::string key = kAuthHostKey;
    auto err = f.sim->control("auth-host nqn.2026-01.io.example:h " + key.substr(0, key.size() - 3) + "AA:");
    REQUIRE_FALSE(err.has_value());
    const std::string log = cap.finish();
    CHECK_THAT(log, Catch::Contains("DH-HMAC-CHAP") && Catch::Contains("host response mismatch"));
    const std::string kh = hex(f.keys.kh), kc = hex(f.keys.kc);
    for (const std::string& text : {log, status, err.error().message}) {
      for (const std::string secret : {kAuthHostKey, kAuthCtrlKey, kAuthOtherKey}) {
        CHECK(text.find(secret.substr(10, 16)) == std::string::npos);
      }
      CHECK(text.find(kh.substr(0, 16)) == std::string::npos);
      CHECK(text.find(kc.substr(0, 16)) == std::string::npos);
    }
  }
}
