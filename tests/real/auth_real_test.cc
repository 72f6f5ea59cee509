// In-band authentication (DH-HMAC-CHAP) against nvmet 6.12, a controller side nobody here
// wrote: `ctl.sh auth-host` gives the test's host NQN fresh keys, a hash and a DH group, then
// `mpath-connect bench -w verify` connects with the keys from files (admin queue and two I/O
// queues, each authenticated) and must see 0 errors and the negotiated hash and group. Every
// output of these runs is searched for the keys (text, base64 body, hex, transformed in hex).
// Re-authentication on request (Fabric::reauthenticate) renews the admin and I/O queues of both
// paths under I/O, with the hash and group nvmet was given in the meantime.
//
// Needs the 6.12 VM (RT_KERNEL=6.12, `./build.sh test` boots it): on 6.1, which has no
// CONFIG_NVME_TARGET_AUTH, these tests skip (exit 77), and fail with CI=true.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/dhchap_secret.h"
#include "nvmemp/mpath.h"
#include "real/real_target.h"
#include "support/dhchap_keygen.h"
#include "support/log_capture.h"
#include "support/polled_reader.h"
#include "support/shell.h"
#include "support/sync_queue.h"

namespace {

using namespace std::chrono_literals;
using nvmemp::test::find_key_leak;
using nvmemp::test::make_test_dhchap_key;
using nvmemp::test::real_target;
using nvmemp::test::real_target_ctl;
using nvmemp::test::TestDhchapKey;

// The VM must run a kernel with nvmet authentication; otherwise the test cannot run here.
void require_auth_target() {
  auto st = real_target_ctl(real_target(), "status");
  if (st && st->find("auth supported=1") != std::string::npos) return;
  const char* ci = std::getenv("CI");
  const bool in_ci = ci != nullptr && std::strcmp(ci, "true") == 0;
  std::fprintf(stderr, "real test %s: the real-target VM has no in-band authentication (%s); start it with "
               "RT_KERNEL=6.12\n", in_ci ? "FAILED (CI=true)" : "skipped",
               st ? "status says auth supported=0" : st.error().message.c_str());
  std::exit(in_ci ? 1 : 77);
}

// A key written to a file only its owner reads (or, with `mode`, another mode).
struct KeyFile {
  explicit KeyFile(const TestDhchapKey& k, mode_t mode = 0600) {
    char tmpl[] = "/tmp/nvmemp-auth-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
    const std::string line = k.text + "\n";
    REQUIRE(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    ::fchmod(fd, mode);
    ::close(fd);
  }
  ~KeyFile() { ::unlink(path.c_str()); }
  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;
  std::string path;
};

// The transformed key the host uses (what a leak of the key in use would show).
std::vector<unsigned char> transformed(const TestDhchapKey& k, const std::string& nqn) {
  auto s = nvmemp::auth::parse_dhchap_secret(k.text, "test key");
  REQUIRE(s.has_value());
  auto t = nvmemp::auth::transform_key(*s, nqn);
  REQUIRE(t.has_value());
  return {t->bytes().begin(), t->bytes().end()};
}

void check_no_leak(const std::string& out, const TestDhchapKey& k, const std::string& nqn) {
  const std::string leak = find_key_leak(out, k, transformed(k, nqn));
  INFO("the output holds " << leak);
  CHECK(leak.empty());
}

struct TimedRun {
  int status = -1;
  std::string out;
  double seconds = 0;
};

TimedRun mpath_connect_timed(const std::string& args) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string cmd = MPATH_CONNECT_BIN;
  cmd.append(" ").append(args);
  auto r = nvmemp::test::shell(cmd, 120, true);
  return TimedRun{r.status, r.out, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

std::string bench_args(const std::string& keys, double secs, const std::string& where) {
  const auto& rt = real_target();
  return fmt::format("bench {} -n {} -q {} --nsid 1 -w verify --time {} --iodepth 4 --threads 2 -o json {}", where,
                     rt.nqn, nvmemp::test::kTestHostNqn, secs, keys);
}

nlohmann::json bench_json_of(const TimedRun& r) {
  INFO(r.out);
  const auto brace = r.out.find('{');
  REQUIRE(brace != std::string::npos);
  return nlohmann::json::parse(r.out.substr(brace));
}

struct Combo {
  const char* hash;   // as nvmet's dhchap_hash spells it and as we report it
  const char* group;
  bool bidirectional;
};

}  // namespace

TEST_CASE("DH-HMAC-CHAP on nvmet: every hash, null/ffdhe2048/ffdhe4096, uni- and bidirectional, verify I/O",
          "[real][auth]") {
  require_auth_target();
  const auto& rt = real_target();
  // Every hash with every group; each hash both ways, each group both ways.
  const Combo combos[] = {{"sha256", "null", false},      {"sha256", "ffdhe2048", true}, {"sha256", "ffdhe4096", false},
                          {"sha384", "null", true},       {"sha384", "ffdhe2048", false}, {"sha384", "ffdhe4096", true},
                          {"sha512", "null", false},      {"sha512", "ffdhe2048", true}, {"sha512", "ffdhe4096", true}};
  int xx = 0;
  for (const Combo& c : combos) {
    const TestDhchapKey host = make_test_dhchap_key(xx++ % 4);
    const TestDhchapKey ctrl = make_test_dhchap_key(xx % 4);
    REQUIRE(real_target_ctl(rt, "reset").has_value());
    const std::string cmd = fmt::format("auth-host {} {} {} hmac({}) {}", nvmemp::test::kTestHostNqn, host.text,
                                        c.bidirectional ? ctrl.text : "-", c.hash, c.group);
    REQUIRE(real_target_ctl(rt, cmd).has_value());
    KeyFile hf(host);
    KeyFile cf(ctrl);
    std::string keys = "--dhchap-secret-file " + hf.path;
    if (c.bidirectional) keys += " --dhchap-ctrl-secret-file " + cf.path;
    const TimedRun r = mpath_connect_timed(bench_args(keys, 1, fmt::format("-a 127.0.0.1 -s {}", rt.port1)));
    const std::string want = fmt::format("dhchap {} {}", c.hash, c.group);
    std::printf("%-26s %-14s: %s in %.1f s\n", want.c_str(), c.bidirectional ? "bidirectional" : "unidirectional",
                r.status == 0 ? "verify OK" : "FAILED", r.seconds);
    INFO(want << (c.bidirectional ? " bidirectional" : " unidirectional") << "\n" << r.out);
    REQUIRE(r.status == 0);
    const auto j = bench_json_of(r);
    CHECK(j.at("errors") == 0);
    CHECK(j.at("verify_failures") == 0);
    CHECK(j.at("ios").get<std::uint64_t>() > 0);  // I/O queues authenticated too: nvmet refuses I/O otherwise
    CHECK(j.at("paths").at(0).at("auth") == want);
    check_no_leak(r.out, host, nvmemp::test::kTestHostNqn);
    check_no_leak(r.out, ctrl, rt.nqn);
  }
  REQUIRE(real_target_ctl(rt, "reset").has_value());
}

TEST_CASE("DH-HMAC-CHAP on nvmet: a wrong host key, a wrong controller key and no key fail within 5 s, reason named",
          "[real][auth]") {
  require_auth_target();
  const auto& rt = real_target();
  const TestDhchapKey host = make_test_dhchap_key(1);
  const TestDhchapKey ctrl = make_test_dhchap_key(2);
  const TestDhchapKey wrong = make_test_dhchap_key(1);
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  REQUIRE(real_target_ctl(rt, fmt::format("auth-host {} {} {} hmac(sha256) ffdhe2048", nvmemp::test::kTestHostNqn,
                                          host.text, ctrl.text))
              .has_value());
  KeyFile hf(host);
  KeyFile wf(wrong);
  const std::string where = fmt::format("-a 127.0.0.1 -s {}", rt.port1);
  struct Case {
    std::string keys;
    const char* reason;  // what the error must say
    const char* or_reason = nullptr;
  } cases[] = {
      // nvmet tears the controller down on a rejected Reply, at times before its Failure1 left.
      {"--dhchap-secret-file " + wf.path, "the host key (dhchap_secret) is not the one the controller holds",
       "the connection before its AUTH_Failure1 arrives: if this repeats, check the host key (dhchap_secret)"},
      {"--dhchap-secret-file " + hf.path + " --dhchap-ctrl-secret-file " + wf.path,
       "does not hold the controller key (dhchap_ctrl_secret)"},
      {"", "requires in-band authentication (DH-HMAC-CHAP) and no host key is configured"},
  };
  for (const Case& c : cases) {
    const TimedRun r = mpath_connect_timed(bench_args(c.keys, 1, where));
    std::printf("refused in %.2f s: %s", r.seconds, r.out.c_str());
    INFO(r.out);
    CHECK(r.status != 0);
    CHECK(r.seconds < 5.0);
    CHECK((r.out.find(c.reason) != std::string::npos ||
           (c.or_reason != nullptr && r.out.find(c.or_reason) != std::string::npos)));
    check_no_leak(r.out, host, nvmemp::test::kTestHostNqn);
    check_no_leak(r.out, wrong, nvmemp::test::kTestHostNqn);
    check_no_leak(r.out, ctrl, rt.nqn);
  }
  REQUIRE(real_target_ctl(rt, "reset").has_value());
}

TEST_CASE("DH-HMAC-CHAP on nvmet: port down and up, the path reconnects and authenticates again, 0 errors",
          "[real][auth]") {
  require_auth_target();
  const auto& rt = real_target();
  const TestDhchapKey host = make_test_dhchap_key(2);
  const TestDhchapKey ctrl = make_test_dhchap_key(3);
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  REQUIRE(real_target_ctl(rt, fmt::format("auth-host {} {} {} hmac(sha384) ffdhe2048", nvmemp::test::kTestHostNqn,
                                          host.text, ctrl.text))
              .has_value());
  KeyFile hf(host);
  KeyFile cf(ctrl, 0644);  // readable by every user: the warning must name the file, not the key
  const std::string keys = fmt::format("--dhchap-secret-file {} --dhchap-ctrl-secret-file {} --reconnect-delay 1",
                                       hf.path, cf.path);
  const std::string where = fmt::format("--connect-all -a 127.0.0.1 -s {}", rt.port1);
  auto fut = std::async(std::launch::async, [&] { return mpath_connect_timed(bench_args(keys, 12, where)); });
  std::this_thread::sleep_for(3s);
  CHECK(real_target_ctl(rt, "port-down 1").has_value());
  std::this_thread::sleep_for(3s);
  CHECK(real_target_ctl(rt, "port-up 1").has_value());
  const TimedRun r = fut.get();
  INFO(r.out);
  REQUIRE(r.status == 0);
  const auto j = bench_json_of(r);
  CHECK(j.at("errors") == 0);
  CHECK(j.at("verify_failures") == 0);
  bool saw_port1 = false;
  for (const auto& p : j.at("paths")) {
    INFO(p.dump());
    CHECK(p.at("auth") == "dhchap sha384 ffdhe2048");
    CHECK(p.at("state") == "live");
    if (p.at("trsvcid") == rt.port1) {
      saw_port1 = true;
      CHECK(p.at("reconnects").get<std::uint64_t>() >= 1);
    }
  }
  CHECK(saw_port1);
  CHECK(r.out.find(cf.path) != std::string::npos);       // the warning names the file
  CHECK(r.out.find("readable by every user") != std::string::npos);
  std::printf("port down/up with authentication: ios %llu, failovers %llu, max stall %.0f ms\n",
              j.at("ios").get<unsigned long long>(), j.at("failovers").get<unsigned long long>(),
              j.at("max_stall_ms").get<double>());
  check_no_leak(r.out, host, nvmemp::test::kTestHostNqn);
  check_no_leak(r.out, ctrl, rt.nqn);
  REQUIRE(real_target_ctl(rt, "reset").has_value());
}

TEST_CASE("DH-HMAC-CHAP on nvmet: reauthenticate and a controller reset renew the admin and I/O queues under I/O, "
          "0 errors",
          "[real][auth]") {
  require_auth_target();
  const auto& rt = real_target();
  const TestDhchapKey host = make_test_dhchap_key(2);
  const TestDhchapKey ctrl = make_test_dhchap_key(3);
  auto auth_host = [&](const char* hash, const char* group) {
    REQUIRE(real_target_ctl(rt, fmt::format("auth-host {} {} {} hmac({}) {}", nvmemp::test::kTestHostNqn, host.text,
                                            ctrl.text, hash, group))
                .has_value());
  };
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  auth_host("sha256", "ffdhe2048");
  nvmemp::test::LogCapture logs;
  nvmemp::FabricOptions fo;
  fo.hostnqn = nvmemp::test::kTestHostNqn;
  auto hk = nvmemp::parse_dhchap_key(host.text, "test host key");
  auto ck = nvmemp::parse_dhchap_key(ctrl.text, "test controller key");
  REQUIRE(hk.has_value());
  REQUIRE(ck.has_value());
  fo.dhchap_secret = *hk;
  fo.dhchap_ctrl_secret = *ck;
  auto f = nvmemp::Fabric::start(fo);
  REQUIRE(f.has_value());
  std::vector<std::uint16_t> ids;
  for (auto port : {rt.port1, rt.port2}) {
    auto p = (*f)->connect(nvmemp::Endpoint{"127.0.0.1", port, "", ""}, rt.nqn);
    INFO((p ? std::string() : p.error().message));
    REQUIRE(p.has_value());
    CHECK(p->auth == "dhchap sha256 ffdhe2048");
    ids.push_back(p->id);
  }
  auto h = (*f)->find_head(rt.nqn, 1);
  REQUIRE(h.has_value());
  {
    nvmemp::test::PolledReader reader(**f, h->id, h->block_size, true);  // write, read back, compare
    for (const auto until = std::chrono::steady_clock::now() + 20s;
         reader.done() < 20 && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(20ms);
    }
    REQUIRE(reader.done() >= 20);
    auth_host("sha512", "ffdhe4096");  // nvmet takes them at the next Negotiate on the admin queue
    for (auto id : ids) {
      auto r = (*f)->reauthenticate(id);
      INFO((r ? r->auth : r.error().message));
      REQUIRE(r.has_value());
      CHECK(r->auth == "dhchap sha512 ffdhe4096");
    }
    const std::uint64_t before = reader.done();
    for (const auto until = std::chrono::steady_clock::now() + 20s;
         reader.done() < before + 20 && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(20ms);
    }
    CHECK(reader.done() >= before + 20);
    // A controller reset (nvme reset): path 1 reconnects at once, every queue authenticates
    // with what nvmet asks now, and its I/O queue carries reads again.
    auth_host("sha384", "ffdhe3072");
    auto ios_on = [&](std::uint16_t id) {
      for (const auto& p : (*f)->topology().paths) {
        if (p.id == id) return p.counters.ios;
      }
      return std::uint64_t{0};
    };
    auto reset = (*f)->reset(ids[0]);
    INFO((reset ? reset->auth : reset.error().message));
    REQUIRE(reset.has_value());
    CHECK(reset->state == "live");
    CHECK(reset->auth == "dhchap sha384 ffdhe3072");
    const std::uint64_t ios_before = ios_on(ids[0]);
    for (const auto until = std::chrono::steady_clock::now() + 20s;
         ios_on(ids[0]) < ios_before + 20 && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(20ms);
    }
    CHECK(ios_on(ids[0]) >= ios_before + 20);
    CHECK(reader.failed() == 0);
    CHECK(reader.mismatches() == 0);
    std::printf("re-authentication and reset on nvmet under verify I/O: %llu commands, %llu failed, %llu blocks "
                "differed\n",
                static_cast<unsigned long long>(reader.done()), static_cast<unsigned long long>(reader.failed()),
                static_cast<unsigned long long>(reader.mismatches()));
  }
  const std::string text = logs.text();
  INFO(text);
  // Each path: the admin queue and the reader's I/O queue renewed.
  CHECK(logs.count("re-authenticated (dhchap sha512 ffdhe4096): the admin queue and 1 I/O queue(s)") == 2);
  for (const auto& p : (*f)->topology().paths) CHECK(p.state == "live");
  check_no_leak(text, host, nvmemp::test::kTestHostNqn);
  check_no_leak(text, ctrl, rt.nqn);
  f->reset();
  REQUIRE(real_target_ctl(rt, "reset").has_value());
}
