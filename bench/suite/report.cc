#include "suite/report.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace nvmemp::bench {

namespace {

struct Figure {
  const char* title;
  double RunRecord::*field;
  double scale;  // printed value = value * scale
  int decimals;
  const char* json_key;
};

constexpr Figure kFigures[] = {
    {"IOPS (K)", &RunRecord::iops, 1e-3, 1, "iops"},
    {"avg us", &RunRecord::lat_avg_us, 1, 1, "lat_avg_us"},
    {"p50 us", &RunRecord::lat_p50_us, 1, 1, "lat_p50_us"},
    {"p99 us", &RunRecord::lat_p99_us, 1, 1, "lat_p99_us"},
    {"CPU s/M I/O", &RunRecord::cpu_s_per_mio, 1, 2, "cpu_s_per_million_ios"},
};

std::string num(double v, const Figure& f, bool disturbed) {
  return fmt::format("{:.{}f}{}", v * f.scale, f.decimals, disturbed ? "*" : "");
}

std::string stat_text(const Stat& s, const Figure& f) {
  if (s.n == 0) {
    return "-";
  }
  return fmt::format("{} [{}..{}]", num(s.median, f, s.median_disturbed), num(s.min, f, s.min_disturbed),
                     num(s.max, f, s.max_disturbed));
}

void print_rows(std::FILE* out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += fmt::format("{:<{}}", r[i], width[i] + (i + 1 < r.size() ? 2 : 0));
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    std::fprintf(out, "%s\n", line.c_str());
  }
}

// The cell of binary b with the same coordinates as `a`, or nullptr.
const CellResult* partner(const std::vector<CellResult>& results, const Cell& a, int b) {
  for (const auto& r : results) {
    const Cell& c = r.cell;
    if (c.binary == b && c.mode == a.mode && c.workload == a.workload && c.qd == a.qd && c.digest == a.digest &&
        c.paths == a.paths) {
      return &r;
    }
  }
  return nullptr;
}

double ratio(const Stat& b, const Stat& a) { return a.n == 0 || b.n == 0 || a.median == 0 ? 0 : b.median / a.median; }

// The one-path cell a two-path cell is compared with: same binary and other coordinates.
const CellResult* one_path_partner(const std::vector<CellResult>& results, const Cell& two) {
  for (const auto& r : results) {
    const Cell& c = r.cell;
    if (c.paths == 1 && c.binary == two.binary && c.mode == two.mode && c.workload == two.workload &&
        c.qd == two.qd && c.digest == two.digest) {
      return &r;
    }
  }
  return nullptr;
}

// Ratios of runs made in the same round (cells are alternated within a round), one per round where
// both runs succeeded: a slow spell of the machine touches both sides of a ratio alike, where the
// ratio of two medians mixes rounds. Summarized as median [min..max]; disturbed when either run was.
Stat paired_ratio(const CellResult& b, const CellResult& a, double RunRecord::*field) {
  std::vector<RunRecord> q;
  for (const auto& rb : b.runs) {
    for (const auto& ra : a.runs) {
      if (ra.rep == rb.rep && ra.ok && rb.ok && ra.*field > 0 && rb.*field >= 0) {
        RunRecord r;
        r.ok = true;
        r.disturbed = ra.disturbed || rb.disturbed;
        r.iops = rb.*field / ra.*field;
        q.push_back(r);
      }
    }
  }
  return summarize(q, &RunRecord::iops);
}

}  // namespace

Stat summarize(const std::vector<RunRecord>& runs, double RunRecord::*field) {
  std::vector<std::pair<double, bool>> v;
  for (const auto& r : runs) {
    if (r.ok && r.*field >= 0) {
      v.emplace_back(r.*field, r.disturbed);
    }
  }
  Stat s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) {
    return s;
  }
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  if (v.size() % 2 == 1) {
    s.median = v[m].first;
    s.median_disturbed = v[m].second;
  } else {
    s.median = (v[m - 1].first + v[m].first) / 2;
    s.median_disturbed = v[m - 1].second || v[m].second;
  }
  s.min = v.front().first;
  s.min_disturbed = v.front().second;
  s.max = v.back().first;
  s.max_disturbed = v.back().second;
  return s;
}

std::vector<std::pair<double, double>> median_percentiles(const std::vector<RunRecord>& runs) {
  std::vector<std::pair<double, double>> curve;
  const RunRecord* first = nullptr;
  for (const auto& r : runs) {
    if (r.ok && !r.percentiles_us.empty()) {
      first = &r;
      break;
    }
  }
  if (first == nullptr) {
    return curve;
  }
  for (std::size_t i = 0; i < first->percentiles_us.size(); ++i) {
    std::vector<double> v;
    for (const auto& r : runs) {
      if (r.ok && r.percentiles_us.size() == first->percentiles_us.size()) {
        v.push_back(r.percentiles_us[i].second);
      }
    }
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    curve.emplace_back(first->percentiles_us[i].first, v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2);
  }
  return curve;
}

void print_table(std::FILE* out, const SuiteOptions& o, const std::vector<CellResult>& results) {
  const bool compare = o.benches.size() > 1;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"cell"};
  for (const auto& f : kFigures) {
    head.emplace_back(f.title);
  }
  head.emplace_back("runs ok/disturbed");
  rows.push_back(head);
  for (const auto& cr : results) {
    std::vector<std::string> row{cr.cell.name(compare)};
    for (const auto& f : kFigures) {
      row.push_back(stat_text(summarize(cr.runs, f.field), f));
    }
    const auto ok = std::count_if(cr.runs.begin(), cr.runs.end(), [](const RunRecord& r) { return r.ok; });
    const auto dist = std::count_if(cr.runs.begin(), cr.runs.end(), [](const RunRecord& r) { return r.disturbed; });
    row.push_back(fmt::format("{}/{} {}", ok, cr.runs.size(), dist));
    rows.push_back(std::move(row));
  }
  std::fprintf(out, "median [min..max] of each cell's runs; * = from a run another process disturbed\n");
  print_rows(out, rows);

  if (compare) {
    std::vector<std::vector<std::string>> rr{{"ratio b/a (medians)", "IOPS", "avg", "p99", "CPU/M I/O"}};
    for (const auto& cr : results) {
      const CellResult* b = cr.cell.binary == 0 ? partner(results, cr.cell, 1) : nullptr;
      if (b == nullptr) {
        continue;
      }
      std::vector<std::string> row{cr.cell.name(false)};
      for (std::size_t i : {0u, 1u, 3u, 4u}) {
        const double q = ratio(summarize(b->runs, kFigures[i].field), summarize(cr.runs, kFigures[i].field));
        row.push_back(q == 0 ? "-" : fmt::format("{:.3f}", q));
      }
      rr.push_back(std::move(row));
    }
    std::fprintf(out, "\na = %s\nb = %s\n", o.benches[0].c_str(), o.benches[1].c_str());
    print_rows(out, rr);
  }

  std::vector<std::vector<std::string>> pr{{"two paths / one, paired by round", "IOPS", "CPU/M I/O"}};
  for (const auto& cr : results) {
    const CellResult* one = cr.cell.paths == 2 ? one_path_partner(results, cr.cell) : nullptr;
    if (one == nullptr) {
      continue;
    }
    std::vector<std::string> row{cr.cell.name(compare)};
    for (const auto field : {&RunRecord::iops, &RunRecord::cpu_s_per_mio}) {
      const Stat q = paired_ratio(cr, *one, field);
      row.push_back(q.n == 0 ? "-"
                             : fmt::format("{:.3f}{} [{:.3f}..{:.3f}] n={}", q.median, q.median_disturbed ? "*" : "",
                                           q.min, q.max, q.n));
    }
    pr.push_back(std::move(row));
  }
  if (pr.size() > 1) {
    std::fprintf(out, "\n");
    print_rows(out, pr);
  }

  bool header = false;
  for (const auto& cr : results) {
    for (const auto& r : cr.runs) {
      if (!r.disturbed && r.ok) {
        continue;
      }
      if (!header) {
        std::fprintf(out, "\nruns disturbed (others > %.0f%% of a core) or failed:\n", o.disturb_pct);
        header = true;
      }
      std::fprintf(out, "  %s run %d: %s%s\n", cr.cell.name(compare).c_str(), r.rep,
                   r.ok ? "" : fmt::format("FAILED ({}) ", r.error).c_str(),
                   r.disturbed ? fmt::format("others used {:.0f}% of a core{} ({})", r.dist.others_cores * 100,
                                             r.dist.steal_cores > 0.005
                                                 ? fmt::format(", steal {:.0f}%", r.dist.steal_cores * 100)
                                                 : "",
                                             r.dist.culprits)
                                       .c_str()
                                 : "");
    }
  }
}

nlohmann::ordered_json results_json(const SuiteOptions& o, const std::vector<CellResult>& results,
                                    const nlohmann::ordered_json& machine) {
  nlohmann::ordered_json cells = nlohmann::ordered_json::array();
  for (const auto& cr : results) {
    const Cell& c = cr.cell;
    nlohmann::ordered_json j = {{"mode", c.mode},       {"workload", c.workload}, {"qd", c.qd},
                                {"digest", c.digest},   {"paths", c.paths},
                                {"bench", o.benches[static_cast<std::size_t>(c.binary)]}};
    for (const auto& f : kFigures) {
      const Stat s = summarize(cr.runs, f.field);
      j[f.json_key] = {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"n", s.n},
                       {"disturbed", s.median_disturbed || s.min_disturbed || s.max_disturbed}};
    }
    j["lat_percentiles_us"] = median_percentiles(cr.runs);
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    for (const auto& r : cr.runs) {
      nlohmann::ordered_json jr = {{"rep", r.rep}, {"ok", r.ok}};
      if (!r.ok) {
        jr["error"] = r.error;
      }
      jr.update({{"iops", r.iops}, {"ios", r.ios}, {"lat_avg_us", r.lat_avg_us}, {"lat_p50_us", r.lat_p50_us},
                 {"lat_p99_us", r.lat_p99_us}, {"cpu_s", r.cpu_s}, {"cpu_s_per_million_ios", r.cpu_s_per_mio},
                 {"disturbed", r.disturbed}, {"others_cores", r.dist.others_cores},
                 {"steal_cores", r.dist.steal_cores}, {"others", r.dist.culprits},
                 {"max_stall_ms", r.max_stall_ms}, {"path_ios", r.path_ios},
                 {"lat_percentiles_us", r.percentiles_us}});
      runs.push_back(std::move(jr));
    }
    j["runs"] = std::move(runs);
    cells.push_back(std::move(j));
  }
  return {{"machine", machine},
          {"options",
           {{"target", o.target}, {"benches", o.benches}, {"modes", o.modes}, {"workloads", o.workloads},
            {"qd", o.qds}, {"digest", o.digests}, {"paths", o.paths}, {"runs", o.runs}, {"time_s", o.seconds},
            {"target_cpu", o.target_cpu}, {"bench_cpu", o.bench_cpu}, {"disturb_pct", o.disturb_pct},
            {"target_args", o.target_args}, {"bench_args", o.bench_args}}},
          {"cells", cells}};
}

}  // namespace nvmemp::bench
