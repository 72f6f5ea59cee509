#include "topology_json.h"

#include <fmt/format.h>

namespace nvmemp::mpathd {

namespace {

const PathInfo* find_path(const TopologyInfo& t, std::uint16_t id) {
  for (const auto& p : t.paths) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

nlohmann::ordered_json path_counters(const PathCounters& c) {
  return {{"ios", c.ios},           {"bytes", c.bytes},     {"errors", c.errors}, {"failovers", c.failovers},
          {"retries", c.retries},   {"stalls", c.stalls},   {"outstanding", c.outstanding}};
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
                                  {"ios", p->counters.ios},     {"errors", p->counters.errors}};
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
        j.update({{"traddr", p->traddr}, {"trsvcid", p->trsvcid}, {"cntlid", p->cntlid}, {"ana_grpid", hp.ana_grpid}});
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
  return {{"heads", heads}};
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
    const auto& c = h.counters;
    heads.push_back({{"wwid", h.wwid}, {"nqn", h.subnqn}, {"nsid", h.nsid}, {"ios", c.ios}, {"bytes", c.bytes},
                     {"errors", c.errors}, {"failovers", c.failovers}, {"retries", c.retries}, {"held", c.held}});
  }
  return {{"paths", paths}, {"heads", heads}};
}

std::string stats_prometheus(const TopologyInfo& t) {
  std::string out;
  auto metric = [&out](const char* name, const char* help) {
    out += fmt::format("# HELP nvme_mpath_{} {}\n# TYPE nvme_mpath_{} counter\n", name, help, name);
  };
  // Label values are quoted; NQNs and addresses hold no '"' or '\\' (NVMe restricts NQN text).
  auto path_label = [](const PathInfo& p) {
    return fmt::format("nqn=\"{}\",traddr=\"{}\",trsvcid=\"{}\",cntlid=\"{}\"", p.subnqn, p.traddr, p.trsvcid, p.cntlid);
  };
  const std::pair<const char*, std::uint64_t PathCounters::*> pc[] = {
      {"path_ios_total", &PathCounters::ios},       {"path_bytes_total", &PathCounters::bytes},
      {"path_errors_total", &PathCounters::errors}, {"path_failovers_total", &PathCounters::failovers},
      {"path_retries_total", &PathCounters::retries}, {"path_stalls_total", &PathCounters::stalls}};
  for (const auto& [name, field] : pc) {
    metric(name, "per path, summed over I/O contexts");
    for (const auto& p : t.paths) out += fmt::format("nvme_mpath_{}{{{}}} {}\n", name, path_label(p), p.counters.*field);
  }
  const std::pair<const char*, std::uint64_t HeadCounters::*> hc[] = {
      {"head_ios_total", &HeadCounters::ios},         {"head_bytes_total", &HeadCounters::bytes},
      {"head_errors_total", &HeadCounters::errors},   {"head_failovers_total", &HeadCounters::failovers},
      {"head_retries_total", &HeadCounters::retries}, {"head_held_total", &HeadCounters::held}};
  for (const auto& [name, field] : hc) {
    metric(name, "per namespace head");
    for (const auto& h : t.heads) {
      out += fmt::format("nvme_mpath_{}{{wwid=\"{}\",nqn=\"{}\",nsid=\"{}\"}} {}\n", name, h.wwid, h.subnqn, h.nsid,
                         h.counters.*field);
    }
  }
  return out;
}

}  // namespace nvmemp::mpathd
