#include "topology_json.h"

#include <algorithm>

#include <fmt/format.h>

namespace nvmemp::mpathd {

namespace {

const PathInfo* find_path(const TopologyInfo& t, std::uint16_t id) {
  for (const auto& p : t.paths) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// The counts every level keeps (PathCounters, HeadPathCounters, HeadCounters).
template <class C>
nlohmann::ordered_json io_counters(const C& c) {
  return {{"ios", c.ios}, {"bytes", c.bytes}, {"errors", c.errors}, {"failovers", c.failovers}, {"retries", c.retries}};
}

nlohmann::ordered_json path_counters(const PathCounters& c) {
  auto j = io_counters(c);
  j.update({{"stalls", c.stalls}, {"outstanding", c.outstanding}});
  return j;
}

nlohmann::ordered_json head_counters(const HeadCounters& c) {
  auto j = io_counters(c);
  j["held"] = c.held;
  return j;
}

// Label values are quoted; NQNs and addresses hold no '"' or '\\' (NVMe restricts NQN text).
std::string path_label(const PathInfo& p) {
  return fmt::format("nqn=\"{}\",traddr=\"{}\",trsvcid=\"{}\",cntlid=\"{}\"", p.subnqn, p.traddr, p.trsvcid, p.cntlid);
}

// One sample: its labels and its counters (as the JSON above).
using Sample = std::pair<std::string, nlohmann::ordered_json>;

// A counter family per key of `fields` ("ios" → nvme_mpath_<prefix>_ios_total) but
// "outstanding" (a gauge, not a counter), each with one line per sample.
void families(std::string& out, const std::string& prefix, const char* help, const nlohmann::ordered_json& fields,
              const std::vector<Sample>& samples) {
  for (const auto& [key, unused] : fields.items()) {
    if (key == "outstanding") continue;
    const std::string name = fmt::format("nvme_mpath_{}_{}_total", prefix, key);
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const auto& [labels, c] : samples) out += fmt::format("{}{{{}}} {}\n", name, labels, c.at(key).get<std::uint64_t>());
  }
}

}  // namespace

nlohmann::ordered_json list_json(const TopologyInfo& t, const std::map<std::uint32_t, std::vector<std::string>>& exports) {
  nlohmann::ordered_json heads = nlohmann::ordered_json::array();
  for (const auto& h : t.heads) {
    nlohmann::ordered_json paths = nlohmann::ordered_json::array();
    for (const auto& hp : h.paths) {
      const PathInfo* p = find_path(t, hp.path_id);
      if (p == nullptr) continue;
      nlohmann::ordered_json j = {{"name", p->name},          {"state", p->state},
                                  {"ana_state", hp.ana_state},  {"current", hp.current},
                                  {"ios", hp.counters.ios},     {"errors", hp.counters.errors}};
      if (p->transport == "scsi") {
        j.update({{"dev", p->dev},
                  {"hctl", p->hctl},
                  {"tpg", p->tpg},
                  {"access_state", p->access_state},
                  {"preferred", p->preferred},
                  {"vendor", p->vendor},
                  {"model", p->model},
                  {"rev", p->rev},
                  {"serial", p->serial},
                  {"last_error", p->last_error}});
      } else {
        j.update({{"traddr", p->traddr}, {"trsvcid", p->trsvcid}, {"cntlid", p->cntlid}, {"ana_grpid", hp.ana_grpid},
                  {"auth", p->auth}, {"tls", p->tls}});
        if (p->tls != "none") j["tls_identity"] = p->tls_identity;  // NVMe1R...: names, no key material
        // Some I/O contexts have no queue on this path: the controller refused their Connect.
        if (p->queues_refused != 0) j.update({{"queues_refused", p->queues_refused}, {"queue_error", p->queue_error}});
      }
      paths.push_back(std::move(j));
    }
    auto it = exports.find(h.id);
    const auto ex = it == exports.end() ? nlohmann::ordered_json::array() : nlohmann::ordered_json(it->second);
    if (h.transport == "scsi") {
      // A SCSI logical unit: the wwid is its identity; ALUA groups stand in for ANA groups.
      heads.push_back({{"wwid", h.wwid},
                       {"transport", "scsi"},
                       {"size_bytes", h.blocks * h.block_size},
                       {"block_size", h.block_size},
                       {"policy", io_policy_name(h.policy)},
                       {"exports", ex},
                       {"paths", paths}});
      continue;
    }
    heads.push_back({{"wwid", h.wwid},
                     {"transport", "nvme"},
                     {"nqn", h.subnqn},
                     {"nsid", h.nsid},
                     {"size_bytes", h.blocks * h.block_size},
                     {"block_size", h.block_size},
                     {"policy", io_policy_name(h.policy)},
                     {"exports", ex},
                     {"paths", paths}});
  }
  // Paths under no head: a controller that gave up (dead), or one not connected yet, serves no
  // namespace, and would otherwise vanish from the list (multipath -ll shows failed paths too).
  nlohmann::ordered_json detached = nlohmann::ordered_json::array();
  for (const auto& p : t.paths) {
    const bool in_a_head = std::any_of(t.heads.begin(), t.heads.end(), [&](const HeadInfo& h) {
      return std::any_of(h.paths.begin(), h.paths.end(), [&](const HeadPathInfo& hp) { return hp.path_id == p.id; });
    });
    if (in_a_head) continue;
    nlohmann::ordered_json j = {{"id", p.id}, {"name", p.name}, {"transport", p.transport}, {"state", p.state},
                                {"reconnects", p.reconnects}, {"last_error", p.last_error}};
    if (p.transport != "scsi") {
      j.update({{"nqn", p.subnqn}, {"traddr", p.traddr}, {"trsvcid", p.trsvcid}, {"tls", p.tls}});
    }
    detached.push_back(std::move(j));
  }
  return {{"heads", heads}, {"paths_without_namespaces", detached}};
}

nlohmann::ordered_json stats_json(const TopologyInfo& t) {
  nlohmann::ordered_json paths = nlohmann::ordered_json::array();
  for (const auto& p : t.paths) {
    auto j = nlohmann::ordered_json{{"name", p.name}, {"state", p.state}, {"reconnects", p.reconnects}};
    j.update(path_counters(p.counters));
    if (p.transport != "scsi") {
      j.update({{"io_queues", p.io_queues}, {"queue_size", p.queue_size}, {"queues_refused", p.queues_refused}});
    }
    paths.push_back(std::move(j));
  }
  nlohmann::ordered_json heads = nlohmann::ordered_json::array();
  for (const auto& h : t.heads) {
    auto j = nlohmann::ordered_json{{"wwid", h.wwid}, {"nqn", h.subnqn}, {"nsid", h.nsid}};
    j.update(head_counters(h.counters));
    nlohmann::ordered_json hpaths = nlohmann::ordered_json::array();
    for (const auto& hp : h.paths) {
      const PathInfo* p = find_path(t, hp.path_id);
      auto pj = nlohmann::ordered_json{{"name", p != nullptr ? p->name : fmt::format("path {}", hp.path_id)}};
      pj.update(io_counters(hp.counters));
      hpaths.push_back(std::move(pj));
    }
    j["paths"] = std::move(hpaths);
    heads.push_back(std::move(j));
  }
  return {{"paths", paths}, {"heads", heads}};
}

std::string stats_prometheus(const TopologyInfo& t) {
  std::vector<Sample> paths, ns_paths, heads;
  for (const auto& p : t.paths) paths.emplace_back(path_label(p), path_counters(p.counters));
  for (const auto& h : t.heads) {
    heads.emplace_back(fmt::format("wwid=\"{}\",nqn=\"{}\",nsid=\"{}\"", h.wwid, h.subnqn, h.nsid),
                       head_counters(h.counters));
    for (const auto& hp : h.paths) {
      if (const PathInfo* p = find_path(t, hp.path_id)) {
        ns_paths.emplace_back(fmt::format("{},nsid=\"{}\"", path_label(*p), h.nsid), io_counters(hp.counters));
      }
    }
  }
  std::string out;
  families(out, "path", "per path: the controller's totals over its namespaces, summed over I/O contexts",
           path_counters({}), paths);
  families(out, "ns_path", "per namespace (nsid) on each path, summed over I/O contexts", io_counters(HeadPathCounters{}),
           ns_paths);
  families(out, "head", "per namespace head", head_counters({}), heads);
  return out;
}

}  // namespace nvmemp::mpathd
