#include "daemon_cmds.h"

#include <cstdio>

#include <fmt/format.h>

#include "control_server.h"

namespace nvmemp::tools {

namespace {

std::string size_text(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.{}f} {}", v, u == 0 ? 0 : 1, units[u]);
}

// "ios 1 bytes 4096 errors 0 failovers 0 retries 0": the counts of a path, a head or a
// namespace on a path in the stats answer.
std::string io_counts(const nlohmann::json& j) {
  return fmt::format("ios {} bytes {} errors {} failovers {} retries {}", j.at("ios").get<std::uint64_t>(),
                     j.at("bytes").get<std::uint64_t>(), j.at("errors").get<std::uint64_t>(),
                     j.at("failovers").get<std::uint64_t>(), j.at("retries").get<std::uint64_t>());
}

}  // namespace

// As `multipath -ll` and `nvme list-subsys`: a head, then its paths.
std::string list_text(const nlohmann::json& list) {
  std::string out;
  for (const auto& h : list.at("heads")) {
    const bool scsi = h.value("transport", "nvme") == "scsi";
    if (scsi) {
      out += fmt::format("{} scsi size {} policy {}\n", h.at("wwid").get<std::string>(),
                         size_text(h.at("size_bytes").get<std::uint64_t>()), h.at("policy").get<std::string>());
    } else {
      out += fmt::format("{} {} nsid {} size {} policy {}\n", h.at("wwid").get<std::string>(),
                         h.at("nqn").get<std::string>(), h.at("nsid").get<std::uint32_t>(),
                         size_text(h.at("size_bytes").get<std::uint64_t>()), h.at("policy").get<std::string>());
    }
    for (const auto& e : h.at("exports")) out += fmt::format("  export {}\n", e.get<std::string>());
    const auto& paths = h.at("paths");
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const auto& p = paths[i];
      // As multipath -ll: "|- 2:0:0:0 sdb active/optimized" for SCSI, the address for NVMe.
      const std::string where =
          scsi ? fmt::format("{} {} tpg {} {}{}", p.at("hctl").get<std::string>(), p.at("dev").get<std::string>(),
                             p.at("tpg").get<int>(), p.at("access_state").get<std::string>(),
                             p.at("preferred").get<bool>() ? " preferred" : "")
               : fmt::format("{}:{} cntlid {}", p.at("traddr").get<std::string>(), p.at("trsvcid").get<int>(),
                             p.at("cntlid").get<int>());
      const bool tls = p.value("tls", "none") != "none";
      out += fmt::format("  {}- {} {} {}{}{} ios {} errors {}\n", i + 1 == paths.size() ? '`' : '|', where,
                         p.at("state").get<std::string>(), p.at("ana_state").get<std::string>(),
                         p.at("current").get<bool>() ? " current" : "", tls ? " tls" : "",
                         p.at("ios").get<std::uint64_t>(), p.at("errors").get<std::uint64_t>());
      if (p.contains("queue_error")) {
        out += fmt::format("  {}    {} I/O queue(s) refused: {}\n", i + 1 == paths.size() ? ' ' : '|',
                           p.at("queues_refused").get<int>(), p.at("queue_error").get<std::string>());
      }
    }
  }
  if (out.empty()) out = "no namespace heads\n";
  // A dead path (or one not connected yet) serves no namespace: listed apart, with why.
  const auto detached = list.value("paths_without_namespaces", nlohmann::json::array());
  if (!detached.empty()) out += "paths serving no namespace:\n";
  for (const auto& p : detached) {
    const std::string err = p.value("last_error", "");
    out += fmt::format("  path {} {} {}{}\n", p.at("id").get<int>(), p.at("name").get<std::string>(),
                       p.at("state").get<std::string>(), err.empty() ? "" : ": " + err);
  }
  return out;
}

std::string stats_text(const nlohmann::json& stats) {
  std::string out;
  for (const auto& p : stats.at("paths")) {
    out += fmt::format("path {} {}: {} stalls {} outstanding {} reconnects {}\n", p.at("name").get<std::string>(),
                       p.at("state").get<std::string>(), io_counts(p), p.at("stalls").get<std::uint64_t>(),
                       p.at("outstanding").get<std::uint64_t>(), p.at("reconnects").get<std::uint64_t>());
  }
  for (const auto& h : stats.at("heads")) {
    out += fmt::format("head {} ({} nsid {}): {} held {}\n", h.at("wwid").get<std::string>(),
                       h.at("nqn").get<std::string>(), h.at("nsid").get<std::uint32_t>(), io_counts(h),
                       h.at("held").get<std::uint64_t>());
    // This namespace's share of each path's totals above.
    for (const auto& p : h.value("paths", nlohmann::json::array())) {
      out += fmt::format("  path {}: {}\n", p.at("name").get<std::string>(), io_counts(p));
    }
  }
  return out;
}

int daemon_command(const std::string& socket, const nlohmann::json& request, bool json) {
  auto r = mpathd::control_request(socket, request, std::chrono::seconds(200));
  if (!r) {
    std::fprintf(stderr, "mpath-connect: %s\n", r.error().message.c_str());
    return 2;
  }
  if (r->contains("error")) {
    std::fprintf(stderr, "mpath-connect: %s\n", r->at("error").get<std::string>().c_str());
    return 1;
  }
  const std::string cmd = request.at("cmd").get<std::string>();
  try {
    if (json) {
      std::printf("%s\n", r->dump(2).c_str());
    } else if (cmd == "list") {
      std::fputs(list_text(*r).c_str(), stdout);
    } else if (cmd == "stats" && r->contains("text")) {
      std::fputs(r->at("text").get<std::string>().c_str(), stdout);
    } else if (cmd == "stats") {
      std::fputs(stats_text(*r).c_str(), stdout);
    } else if (cmd == "reauth") {
      for (const auto& p : r->at("paths")) {
        std::printf("path %d %s: %s\n", p.at("id").get<int>(), p.at("name").get<std::string>().c_str(),
                    p.at("auth").get<std::string>().c_str());
      }
    } else if (cmd == "reset") {
      for (const auto& p : r->at("paths")) {
        std::printf("path %d %s: %s again (authentication: %s)\n", p.at("id").get<int>(),
                    p.at("name").get<std::string>().c_str(), p.at("state").get<std::string>().c_str(),
                    p.at("auth").get<std::string>().c_str());
      }
    } else {
      std::printf("%s: done\n", cmd.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpath-connect: the daemon's answer to %s is not what this version expects (%s); "
                 "are mpath-connect and nvme-mpathd the same version?\n", cmd.c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace nvmemp::tools
