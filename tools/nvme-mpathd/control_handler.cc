#include "control_handler.h"

#include <fmt/format.h>

#include "topology_json.h"

namespace nvmemp::mpathd {

namespace {

nlohmann::json err(const std::string& what) { return nlohmann::json{{"error", what}}; }
nlohmann::json ok() { return nlohmann::json{{"ok", true}}; }

nlohmann::json path_json(const PathInfo& p) {
  return nlohmann::json{{"id", p.id}, {"name", p.name}, {"state", p.state}, {"cntlid", p.cntlid}, {"tls", p.tls}};
}

Endpoint endpoint_of(const nlohmann::json& req) {
  Endpoint ep;
  ep.traddr = req.at("traddr").get<std::string>();
  ep.trsvcid = req.at("trsvcid").get<std::uint16_t>();
  if (req.contains("host_traddr")) ep.host_traddr = req["host_traddr"].get<std::string>();
  if (req.contains("host_iface")) ep.host_iface = req["host_iface"].get<std::string>();
  return ep;
}

// The request's "path", or every path of its "nqn".
tl::expected<std::vector<std::uint16_t>, std::string> path_ids(Fabric& f, const nlohmann::json& req) {
  std::vector<std::uint16_t> ids;
  if (req.contains("path")) {
    ids.push_back(req["path"].get<std::uint16_t>());
    return ids;
  }
  const std::string nqn = req.at("nqn").get<std::string>();
  for (const auto& p : f.topology().paths) {
    if (p.subnqn == nqn) ids.push_back(p.id);
  }
  if (ids.empty()) return tl::unexpected(fmt::format("no path of {} is connected", nqn));
  return ids;
}

}  // namespace

nlohmann::json handle_control(ControlContext& ctx, const nlohmann::json& req, const Peer& peer) {
  const std::string cmd = req.at("cmd").get<std::string>();
  Fabric& f = *ctx.fabric;
  if (cmd == "list") return list_json(f.topology(), ctx.exports);
  if (cmd == "stats") {
    if (req.value("format", "json") == "prometheus") return nlohmann::json{{"text", stats_prometheus(f.topology())}};
    return stats_json(f.topology());
  }
  static const char* const kChanges[] = {"connect", "connect-all", "disconnect", "set-policy",
                                         "reload",  "reauth",      "reset"};
  bool known = false;
  for (const char* c : kChanges) known = known || cmd == c;
  if (!known) {
    return err(fmt::format("unknown command \"{}\": list, stats, connect, connect-all, disconnect, set-policy, "
                           "reload, reauth, reset", cmd));
  }
  if (!peer.is_root()) {
    return err(fmt::format("\"{}\" changes the topology and needs root (your uid is {}); list and stats do not",
                           cmd, peer.uid));
  }
  const auto nqn = [&] { return req.at("nqn").get<std::string>(); };
  if (cmd == "connect") {
    auto r = ctx.knobs ? f.connect(endpoint_of(req), nqn(), ctx.knobs(nqn())) : f.connect(endpoint_of(req), nqn());
    if (!r) return err(r.error().message);
    auto a = ok();
    a["path"] = path_json(*r);
    return a;
  }
  if (cmd == "connect-all") {
    auto r = ctx.knobs ? f.connect_all(endpoint_of(req), nqn(), ctx.knobs(nqn()))
                       : f.connect_all(endpoint_of(req), nqn());
    if (!r) return err(r.error().message);
    auto a = ok();
    a["paths"] = nlohmann::json::array();
    for (const auto& p : *r) a["paths"].push_back(path_json(p));
    return a;
  }
  // reauth and reset: every path named is tried in turn; the first error is reported, with each
  // path's outcome listed.
  auto per_path = [&](auto&& one) -> nlohmann::json {
    auto ids = path_ids(f, req);
    if (!ids) return err(ids.error());
    nlohmann::json paths = nlohmann::json::array();
    std::string first_error;
    for (auto id : *ids) {
      auto r = one(id);
      if (r) {
        paths.push_back({{"id", id}, {"name", r->name}, {"auth", r->auth}, {"state", r->state}});
      } else {
        paths.push_back({{"id", id}, {"error", r.error().message}});
        if (first_error.empty()) first_error = r.error().message;
      }
    }
    auto a = first_error.empty() ? ok() : err(first_error);
    a["paths"] = std::move(paths);
    return a;
  };
  if (cmd == "reauth") return per_path([&](std::uint16_t id) { return f.reauthenticate(id); });
  if (cmd == "reset") return per_path([&](std::uint16_t id) { return f.reset(id); });
  if (cmd == "disconnect") {
    auto ids = path_ids(f, req);
    if (!ids) return err(ids.error());
    for (auto id : *ids) {
      if (auto r = f.disconnect(id); !r) return err(r.error().message);
    }
    auto a = ok();
    a["disconnected"] = *ids;
    return a;
  }
  if (cmd == "set-policy") {
    auto pol = parse_io_policy(req.at("policy").get<std::string>());
    if (!pol) return err(pol.error().message);
    if (auto r = f.set_policy(req.at("nqn").get<std::string>(), *pol); !r) return err(r.error().message);
    return ok();
  }
  // reload
  if (!ctx.reload) return err("reload: this daemon was started without a configuration file");
  if (auto r = ctx.reload(); !r) return err(fmt::format("reload refused, the running configuration stays: {}",
                                                        r.error().message));
  return ok();
}

}  // namespace nvmemp::mpathd
