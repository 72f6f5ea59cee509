#include "auth_support.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "auth/dhchap_secret.h"
#include "sim_support.h"
#include "wire/registers.h"

using namespace std::chrono_literals;

namespace nvmemp::test {

using namespace wire;
using auth::DhchapStep;

auth::SecretBuf transformed(const char* secret, const std::string& nqn) {
  auto s = auth::parse_dhchap_secret(secret, "test key");
  REQUIRE(s.has_value());
  auto k = auth::transform_key(*s, nqn);
  REQUIRE(k.has_value());
  return std::move(*k);
}

HostKeys host_keys(const std::string& subnqn, bool bidirectional, const char* host_key) {
  HostKeys k;
  k.kh = transformed(host_key, kTestHostNqn);
  if (bidirectional) k.kc = transformed(kAuthCtrlKey, subnqn);
  return k;
}

auth::DhchapHostConfig host_config(const HostKeys& k, const std::string& subnqn) {
  auth::DhchapHostConfig c;
  c.hostnqn = kTestHostNqn;
  c.subnqn = subnqn;
  c.host_key = k.kh.bytes();
  c.ctrl_key = k.kc.bytes();
  return c;
}

std::string auth_host_line(auth::DhchapHash h, auth::DhGroup g, bool bidirectional) {
  return fmt::format("auth-host {} {} {} hmac({}) {}", kTestHostNqn, kAuthHostKey, bidirectional ? kAuthCtrlKey : "-",
                     auth::hash_name(h), auth::dh_group_name(g));
}

AuthQueue AuthQueue::open(std::uint16_t port) {
  auto h = RawHost::open(port, false);
  INFO((h ? std::string() : h.error().message));
  REQUIRE(h.has_value());
  return AuthQueue(std::move(*h));
}

Result<RawCompletion> AuthQueue::exec(const Sqe& sqe, std::vector<std::uint8_t> data, std::chrono::milliseconds quiet) {
  const std::uint16_t cid = cid_++;
  if (auto s = host_.submit(sqe, cid, std::move(data)); !s) {
    return tl::unexpected(s.error());
  }
  auto done = host_.collect(1, quiet);
  if (!done) {
    return tl::unexpected(done.error());
  }
  auto it = done->find(cid);
  if (it == done->end()) {
    return make_error(Errc::Protocol, fmt::format("a completion for another CID than {}", cid));
  }
  return std::move(it->second);
}

RawCompletion AuthQueue::exec_ok(const Sqe& sqe, std::vector<std::uint8_t> data) {
  RawCompletion c = must(exec(sqe, std::move(data)));
  INFO("opcode " << int(sqe.opcode()) << ": " << c.cqe.status.to_string());
  REQUIRE(c.cqe.status.ok());
  return c;
}

RawCompletion connect_queue(AuthQueue& q, const std::string& subnqn, std::uint16_t qid, std::uint16_t cntlid,
                            const std::string& hostnqn) {
  auto data = encode_connect_data(test_host_id(), cntlid, subnqn, hostnqn);
  REQUIRE(data.has_value());
  ConnectParams p;
  p.qid = qid;
  p.sqsize = 31;
  auto c = q.exec(make_connect(p), std::vector<std::uint8_t>(data->begin(), data->end()));
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.has_value());
  return std::move(*c);
}

void enable_ctrl(AuthQueue& q) {
  q.exec_ok(make_property_set(kRegCc, cc_enable_value(), false));
  REQUIRE(csts_rdy(q.exec_ok(make_property_get(kRegCsts, false)).cqe.dw0));
}

Result<RawCompletion> auth_send(AuthQueue& q, const std::vector<std::uint8_t>& msg) {
  return q.exec(make_auth_send(static_cast<std::uint32_t>(msg.size()), 8192), msg);
}

Result<RawCompletion> auth_receive(AuthQueue& q, std::uint32_t al, std::chrono::milliseconds quiet) {
  return q.exec(make_auth_receive(al), {}, quiet);
}

namespace {

std::vector<std::uint8_t> send_ok(AuthQueue& q, const std::vector<std::uint8_t>& msg, bool receive) {
  auto c = receive ? auth_receive(q) : auth_send(q, msg);
  INFO((receive ? "Authentication Receive: " : "Authentication Send: ")
       << (c ? c->cqe.status.to_string() : c.error().message));
  REQUIRE(c.has_value());
  REQUIRE(c->cqe.status.ok());
  return std::move(c->data);
}

}  // namespace

ExchangeResult run_exchange(AuthQueue& q, auth::DhchapHostExchange& x) {
  ExchangeResult out;
  send_ok(q, x.negotiate(), false);
  out.last = send_ok(q, {}, true);
  DhchapStep s = x.on_challenge(out.last);
  if (s.verdict == DhchapStep::Verdict::Continue) {
    send_ok(q, s.send, false);
    out.last = send_ok(q, {}, true);
    s = x.on_success1(out.last);
  }
  if (!s.send.empty()) {  // Success2, or a Failure2
    out.sent_failure2 = s.verdict == DhchapStep::Verdict::Failed;
    send_ok(q, s.send, false);
  }
  out.verdict = s.verdict;
  out.error = s.error.message;
  out.negotiated = x.negotiated();
  return out;
}

RawCompletion must(Result<RawCompletion> c) {
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.has_value());
  return std::move(*c);
}

bool auth_required_status(const RawCompletion& c) {
  return c.cqe.status.sct() == Status::kSctCommandSpecific && c.cqe.status.sc() == 0x91 && c.cqe.status.dnr();
}

}  // namespace nvmemp::test
