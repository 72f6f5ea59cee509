// The daemon's control requests against a Fabric connected to the simulated target.
#include <catch2/catch.hpp>

#include <sstream>

#include <fmt/format.h>

#include "control_handler.h"
#include "sim_support.h"

namespace nvmemp::test {

TEST_CASE("control requests: list, stats, connect, set-policy, disconnect, changes need root", "[control]") {
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

TEST_CASE("control requests: I/O on nsid 1 counts under nsid 1 only, path totals are the sums", "[control][counters]") {
  auto sim = start_sim();  // 2 ports, 2 namespaces
  FabricOptions fo;
  fo.hostnqn = kTestHostNqn;
  fo.max_io_contexts = 1;
  auto f = Fabric::start(fo);
  REQUIRE(f.has_value());
  for (auto port : sim->ports()) REQUIRE((*f)->connect(Endpoint{"127.0.0.1", port, "", ""}, sim->nqn()).has_value());
  auto head = (*f)->find_head(sim->nqn(), 1);
  REQUIRE(head.has_value());
  auto io = (*f)->create_io_context();
  REQUIRE(io.has_value());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(*io)->ready(head->id) && std::chrono::steady_clock::now() < deadline) {
    REQUIRE((*io)->poll(std::chrono::milliseconds(1)).has_value());
  }
  REQUIRE((*io)->ready(head->id));

  // 16 writes and 16 reads of 4 KiB on nsid 1; nothing on nsid 2.
  struct Done {
    int n = 0, failed = 0;
  } done;
  const IoCallback cb = [](void* arg, const IoResult& r) {
    auto* d = static_cast<Done*>(arg);
    ++d->n;
    if (!r.status.ok()) ++d->failed;
  };
  const std::uint32_t nlb = 4096 / head->block_size;
  std::vector<std::uint8_t> buf(16 * 4096, 0x5a);
  for (std::uint32_t i = 0; i < 16; ++i) {
    REQUIRE((*io)->write(head->id, i * nlb, nlb, std::span(buf).subspan(i * 4096, 4096), cb, &done).has_value());
  }
  while (done.n < 16 && std::chrono::steady_clock::now() < deadline + std::chrono::seconds(10)) {
    REQUIRE((*io)->poll(std::chrono::milliseconds(1)).has_value());
  }
  for (std::uint32_t i = 0; i < 16; ++i) {
    REQUIRE((*io)->read(head->id, i * nlb, nlb, std::span(buf).subspan(i * 4096, 4096), cb, &done).has_value());
  }
  while (done.n < 32 && std::chrono::steady_clock::now() < deadline + std::chrono::seconds(20)) {
    REQUIRE((*io)->poll(std::chrono::milliseconds(1)).has_value());
  }
  REQUIRE(done.n == 32);
  REQUIRE(done.failed == 0);

  mpathd::ControlContext ctx;
  ctx.fabric = f->get();
  const mpathd::Peer user{1, 1000, 1000};
  const auto list = mpathd::handle_control(ctx, {{"cmd", "list"}}, user);
  INFO(list.dump());
  REQUIRE(list.at("heads").size() == 2);
  std::uint64_t ns1_ios = 0;
  for (const auto& h : list.at("heads")) {
    REQUIRE(h.at("paths").size() == 2);
    for (const auto& p : h.at("paths")) {
      if (h.at("nsid") == 2) {
        CHECK(p.at("ios") == 0);
        CHECK(p.at("errors") == 0);
      } else {
        ns1_ios += p.at("ios").get<std::uint64_t>();
      }
    }
  }
  CHECK(ns1_ios == 32);

  // stats: each path's totals are the sums of its namespaces' counts.
  const auto stats = mpathd::handle_control(ctx, {{"cmd", "stats"}}, user);
  INFO(stats.dump());
  REQUIRE(stats.at("paths").size() == 2);
  std::uint64_t total_ios = 0;
  for (const auto& p : stats.at("paths")) {
    std::uint64_t ios = 0, bytes = 0;
    for (const auto& h : stats.at("heads")) {
      for (const auto& hp : h.at("paths")) {
        if (hp.at("name") != p.at("name")) continue;
        ios += hp.at("ios").get<std::uint64_t>();
        bytes += hp.at("bytes").get<std::uint64_t>();
        if (h.at("nsid") == 2) CHECK(hp.at("bytes") == 0);
      }
    }
    CHECK(p.at("ios") == ios);
    CHECK(p.at("bytes") == bytes);
    CHECK(p.at("outstanding") == 0);
    total_ios += ios;
  }
  CHECK(total_ios == 32);
  CHECK(stats.at("heads").at(0).at("ios") == 32);

  const auto prom = mpathd::handle_control(ctx, {{"cmd", "stats"}, {"format", "prometheus"}}, user).at("text").get<std::string>();
  // Prometheus: one series per (namespace, path) with an nsid label, nsid 2's all 0.
  std::size_t ns2_lines = 0;
  std::uint64_t ns1_prom_ios = 0;
  std::istringstream lines(prom);
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("nvme_mpath_ns_path_", 0) != 0) continue;
    const std::uint64_t v = std::stoull(l.substr(l.rfind(' ') + 1));
    if (l.find(",nsid=\"2\"}") != std::string::npos) {
      ++ns2_lines;
      CHECK(v == 0);
    } else if (l.rfind("nvme_mpath_ns_path_ios_total{", 0) == 0) {
      CHECK_THAT(l, Catch::Contains(",nsid=\"1\"}"));
      ns1_prom_ios += v;
    }
  }
  CHECK(ns2_lines == 5 * 2);  // ios, bytes, errors, failovers, retries on each path
  CHECK(ns1_prom_ios == 32);
}

}  // namespace nvmemp::test
