#include "discover_cmd.h"

#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nvmemp::tools {

using namespace std::chrono_literals;

std::string subtype_text(std::uint8_t subtype) {
  switch (subtype) {
    case 1: return "discovery subsystem referral";
    case 2: return "nvme subsystem";
    case 3: return "current discovery subsystem";
    default: return fmt::format("unrecognized ({})", subtype);
  }
}

std::string treq_text(std::uint8_t treq) {
  std::string s;
  switch (treq & 0x3) {
    case 0: s = "not specified"; break;
    case 1: s = "required"; break;
    case 2: s = "not required"; break;
    default: s = "reserved"; break;
  }
  if ((treq & 0x4) != 0) s += ", sq flow control disable supported";
  return s;
}

std::string adrfam_text(std::uint8_t adrfam) {
  switch (adrfam) {
    case 1: return "ipv4";
    case 2: return "ipv6";
    case 3: return "infiniband";
    case 4: return "fibre-channel";
    case 254: return "loop";
    default: return fmt::format("unrecognized ({})", adrfam);
  }
}

std::string trtype_text(std::uint8_t trtype) {
  switch (trtype) {
    case 1: return "rdma";
    case 2: return "fc";
    case 3: return "tcp";
    case 254: return "loop";
    default: return fmt::format("unrecognized ({})", trtype);
  }
}

std::string sectype_text(std::uint8_t sectype) {
  switch (sectype) {
    case 0: return "none";
    case 1: return "tls1.2";
    case 2: return "tls1.3";
    default: return fmt::format("reserved ({})", sectype);
  }
}

Result<discovery::DiscoveryResult> discover(const discovery::DiscoveryOptions& opts) {
  SteadyClock clock;
  auto reactor = transport::Reactor::create(clock);
  if (!reactor) return tl::unexpected(reactor.error());
  discovery::Discovery d(**reactor, clock, opts);
  std::optional<Result<discovery::DiscoveryResult>> got;
  d.start([&](Result<discovery::DiscoveryResult> r) { got = std::move(r); });
  // Every step has its own timeout; this bound only guards against a bug.
  const auto deadline = std::chrono::steady_clock::now() + opts.controller.connect_timeout * opts.max_controllers +
                        opts.controller.admin_timeout;
  while (!got && std::chrono::steady_clock::now() < deadline) {
    (void)(*reactor)->poll(10ms);
    d.tick();
  }
  if (!got) return make_error(Errc::Timeout, "discovery did not finish");
  // Let the discovery controllers shut down cleanly (bounded).
  const auto drain = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < drain && (*reactor)->connections() > 0) {
    (void)(*reactor)->poll(10ms);
    d.tick();
  }
  return std::move(*got);
}

std::string discovery_json(const discovery::DiscoveryResult& r) {
  nlohmann::ordered_json j;
  j["genctr"] = r.genctr;
  j["records"] = nlohmann::ordered_json::array();
  for (const auto& rec : r.records) {
    const auto& e = rec.entry;
    j["records"].push_back({{"trtype", trtype_text(e.trtype)},
                            {"adrfam", adrfam_text(e.adrfam)},
                            {"subtype", subtype_text(e.subtype)},
                            {"treq", treq_text(e.treq)},
                            {"sectype", e.is_tcp() ? sectype_text(e.sectype) : "none"},
                            {"tls", discovery::tls_need_name(discovery::tls_need(e))},
                            {"portid", e.portid},
                            {"trsvcid", e.trsvcid},
                            {"traddr", e.traddr},
                            {"subnqn", e.subnqn},
                            {"source", rec.source}});
  }
  if (!r.errors.empty()) j["errors"] = r.errors;
  return j.dump(2);
}

std::string discovery_text(const discovery::DiscoveryResult& r) {
  std::string s = fmt::format("Discovery Log Number of Records {}, Generation counter {}\n", r.records.size(), r.genctr);
  for (std::size_t i = 0; i < r.records.size(); ++i) {
    const auto& e = r.records[i].entry;
    s += fmt::format(
        "=====Discovery Log Entry {}======\n"
        "trtype:  {}\nadrfam:  {}\nsubtype: {}\ntreq:    {}\nportid:  {}\ntrsvcid: {}\n"
        "subnqn:  {}\ntraddr:  {}\nsectype: {}\ntls:     {}\nsource:  {}\n",
        i, trtype_text(e.trtype), adrfam_text(e.adrfam), subtype_text(e.subtype), treq_text(e.treq), e.portid,
        e.trsvcid, e.subnqn, e.traddr, e.is_tcp() ? sectype_text(e.sectype) : "none",
        discovery::tls_need_name(discovery::tls_need(e)), r.records[i].source);
  }
  for (const auto& err : r.errors) s += fmt::format("warning: {}\n", err);
  return s;
}

}  // namespace nvmemp::tools
