// mpath-connect as a user runs it, against nvmet.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <set>
#include <sys/wait.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "real/real_target.h"
#include "support/sync_queue.h"
#include "support/tcp_client.h"

namespace {

struct Run {
  int exit_code = -1;
  std::string out;
};

// Runs mpath-connect with `args` (stderr folded into the output); bounded by its own timeouts.
Run mpath_connect(const std::string& args) {
  const std::string cmd = std::string(MPATH_CONNECT_BIN) + " " + args + " 2>&1";
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) r.out += buf.data();
  const int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string host() { return fmt::format(" -q {}", nvmemp::test::kTestHostNqn); }

nlohmann::json json_of(const std::string& out) {
  const auto brace = out.find('{');
  REQUIRE(brace != std::string::npos);
  return nlohmann::json::parse(out.substr(brace));
}

}  // namespace

TEST_CASE("mpath-connect discover -o json lists the subsystem on both ports", "[real][cli]") {
  const auto& rt = nvmemp::test::real_target();
  REQUIRE(nvmemp::test::real_target_ctl(rt, "reset").has_value());
  auto r = mpath_connect("discover -t tcp -a 127.0.0.1 -s " + std::to_string(rt.port1) + " -o json" + host());
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const auto j = json_of(r.out);
  std::set<std::string> ports;
  for (const auto& rec : j.at("records")) {
    if (rec.at("subtype") == "nvme subsystem") {
      CHECK(rec.at("subnqn") == rt.nqn);
      ports.insert(rec.at("trsvcid").get<std::string>());
    }
  }
  CHECK(ports == std::set<std::string>{std::to_string(rt.port1), std::to_string(rt.port2)});
}

TEST_CASE("mpath-connect bench -w verify against nvmet, 4k and 1m", "[real][cli]") {
  const auto& rt = nvmemp::test::real_target();
  for (const auto& [bs, min_ios] : {std::pair<std::string, int>{"4k", 1000}, {"1m", 20}}) {
    auto r = mpath_connect("bench -t tcp -a 127.0.0.1 -s " + std::to_string(rt.port1) + " -n " + rt.nqn +
                           " --nsid 1 -w verify --bs " + bs + " --time 3 -o json" + host());
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    const auto j = json_of(r.out);
    CHECK(j.at("errors") == 0);
    CHECK(j.at("verify_failures") == 0);
    CHECK(j.at("ios").get<int>() >= min_ios);
  }
}

TEST_CASE("mpath-connect: bad input gets one clear line and a non-zero exit", "[real][cli]") {
  const auto& rt = nvmemp::test::real_target();
  auto bad_bs = mpath_connect("bench -t tcp -a 127.0.0.1 -s 14420 -n x --bs 3q");
  CHECK(bad_bs.exit_code == 2);
  CHECK(bad_bs.out.find("--bs 3q") != std::string::npos);
  auto bad_w = mpath_connect("bench -t tcp -a 127.0.0.1 -s 14420 -n x -w sideways");
  CHECK(bad_w.exit_code == 2);
  CHECK(bad_w.out.find("sideways") != std::string::npos);
  auto no_addr = mpath_connect("discover -t tcp");
  CHECK(no_addr.exit_code == 2);
  const std::string closed = std::to_string(nvmemp::test::closed_port());
  auto refused = mpath_connect("discover -t tcp -a 127.0.0.1 -s " + closed + host());
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.find("127.0.0.1:" + closed) != std::string::npos);
  auto wrong_nqn = mpath_connect("bench -t tcp -a 127.0.0.1 -s " + std::to_string(rt.port1) +
                                 " -n nqn.2026-01.io.example:nope --time 1" + host());
  CHECK(wrong_nqn.exit_code == 1);
  CHECK(wrong_nqn.out.find("Connect rejected") != std::string::npos);
  CHECK(wrong_nqn.out.find("nqn.2026-01.io.example:nope") != std::string::npos);
}
