// The daemon's control requests against a Fabric connected to the simulated target.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "control_handler.h"
#include "sim_support.h"

namespace nvmemp::test {

TEST_CASE("control requests: list, stats, connect, set-policy, disconnect; changes need root", "[control]") {
  auto sim = start_sim();
  FabricOptions fo;
  fo.hostnqn = kTestHostNqn;
  auto f = Fabric::start(fo);
  REQUIRE(f.has_value());
  mpathd::ControlContext ctx;
  ctx.fabric = f->get();
  const mpathd::Peer root{1, 0, 0};
  const mpathd::Peer user{1, 1000, 1000};
  auto req = [&](const nlohmann::json& r, const mpathd::Peer& p) { return mpathd::handle_control(ctx, r, p); };

  for (auto port : sim->ports()) {
    const nlohmann::json c = {{"cmd", "connect"}, {"traddr", "127.0.0.1"}, {"trsvcid", port}, {"nqn", sim->nqn()}};
    auto denied = req(c, user);
    CHECK_THAT(denied.at("error").get<std::string>(), Catch::Contains("needs root"));
    auto a = req(c, root);
    INFO(a.dump());
    REQUIRE(a.value("ok", false));
  }
  auto dup = req({{"cmd", "connect"}, {"traddr", "127.0.0.1"}, {"trsvcid", sim->ports()[0]}, {"nqn", sim->nqn()}}, root);
  CHECK_THAT(dup.at("error").get<std::string>(), Catch::Contains("already"));

  auto list = req({{"cmd", "list"}}, user);
  REQUIRE(list.at("heads").size() == 2);
  const auto& h = list.at("heads").at(0);
  CHECK(h.at("nqn") == sim->nqn());
  CHECK(h.at("paths").size() == 2);
  CHECK(h.at("paths").at(0).at("ana_state") == "optimized");
  CHECK(h.at("paths").at(1).at("ana_state") == "non-optimized");
  CHECK(h.at("paths").at(0).at("current") == true);
  CHECK(h.at("paths").at(1).at("current") == false);

  CHECK(req({{"cmd", "stats"}}, user).at("paths").size() == 2);
  CHECK_THAT(req({{"cmd", "stats"}, {"format", "prometheus"}}, user).at("text").get<std::string>(),
             Catch::Contains("nvme_mpath_path_ios_total"));

  CHECK(req({{"cmd", "set-policy"}, {"nqn", sim->nqn()}, {"policy", "numa"}}, root).value("ok", false));
  CHECK(req({{"cmd", "list"}}, user).at("heads").at(0).at("policy") == "numa");
  CHECK_THAT(req({{"cmd", "set-policy"}, {"nqn", sim->nqn()}, {"policy", "fastest"}}, root).at("error").get<std::string>(),
             Catch::Contains("numa, round-robin or queue-depth"));
  CHECK_THAT(req({{"cmd", "frobnicate"}}, root).at("error").get<std::string>(), Catch::Contains("unknown command"));
  CHECK_THAT(req({{"cmd", "reload"}}, root).at("error").get<std::string>(), Catch::Contains("without a configuration"));

  auto d = req({{"cmd", "disconnect"}, {"nqn", sim->nqn()}}, root);
  INFO(d.dump());
  CHECK(d.value("ok", false));
  CHECK(req({{"cmd", "list"}}, user).at("heads").empty());
}

}  // namespace nvmemp::test
