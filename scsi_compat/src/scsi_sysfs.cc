#include "scsi_sysfs.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <iterator>
#include <map>
#include <span>

#include <fmt/format.h>

#include "alua.h"
#include "vpd83.h"

namespace nvmemp::scsi {

namespace fs = std::filesystem;

namespace {

// A sysfs attribute is small; anything larger is not one.
constexpr std::size_t kMaxAttr = 64 * 1024;

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  std::string s;
  std::array<char, 4096> buf{};
  while (s.size() < kMaxAttr && f.read(buf.data(), buf.size()).gcount() > 0) {
    s.append(buf.data(), static_cast<std::size_t>(f.gcount()));
  }
  if (f.bad()) return std::nullopt;
  return s;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

std::optional<std::uint64_t> number(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  const std::string t = trimmed(*s);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// VPD page 0x80 (Unit Serial Number): header, then the serial (ASCII, space padded).
std::string serial_of(const std::optional<std::string>& pg80) {
  if (!pg80 || pg80->size() < 4 || static_cast<std::uint8_t>((*pg80)[1]) != 0x80) return {};
  const std::size_t len = (static_cast<std::size_t>(static_cast<std::uint8_t>((*pg80)[2])) << 8) |
                          static_cast<std::uint8_t>((*pg80)[3]);
  return trimmed(std::string_view(*pg80).substr(4, std::min(len, pg80->size() - 4)));
}

}  // namespace

Result<ScsiPath> read_scsi_path(const fs::path& root, const std::string& dev, const ReadOptions& opts) {
  const fs::path blk = root / "sys/block" / dev;
  const fs::path devdir = blk / "device";
  std::error_code ec;
  const fs::path link = fs::read_symlink(devdir, ec);
  if (ec) {
    return make_error(Errc::NotFound, fmt::format("{}: {} is not a link to a SCSI device ({})", dev, devdir.string(),
                                                  ec.message()));
  }
  ScsiPath p;
  p.dev = dev;
  p.hctl = link.filename().string();
  p.devnum = trimmed(read_file(blk / "dev").value_or(""));
  const auto pg83 = read_file(devdir / "vpd_pg83");
  std::optional<std::string> wwid_file = opts.use_wwid_file ? read_file(devdir / "wwid") : std::nullopt;
  if (wwid_file && !normalize_wwid(*wwid_file).empty()) {
    p.wwid = normalize_wwid(*wwid_file);
    p.wwid_source = "wwid";
  } else if (pg83) {
    auto w = vpd83_lun_wwid(bytes(*pg83));
    if (!w) return make_error(w.error().code, fmt::format("{} ({}): no wwid file and {}", dev, p.hctl, w.error().message));
    p.wwid = normalize_wwid(*w);
    p.wwid_source = "vpd_pg83";
  } else {
    return make_error(Errc::NotFound, fmt::format("{} ({}): neither device/wwid nor device/vpd_pg83 can be read: "
                                                  "no identity, the path is left alone", dev, p.hctl));
  }
  if (pg83) {
    auto ids = vpd83_port_ids(bytes(*pg83));
    if (ids) {
      p.target_port_group = ids->target_port_group;
      p.relative_port = ids->relative_port;
    }
  }
  if (auto a = read_file(devdir / "access_state")) p.access_state = trimmed(*a);
  p.ana = ana_from_access_state(p.access_state).ana;
  p.preferred = number(read_file(devdir / "preferred_path")).value_or(0) == 1;
  p.dh_state = trimmed(read_file(devdir / "dh_state").value_or(""));
  p.state = trimmed(read_file(devdir / "state").value_or(""));
  p.vendor = trimmed(read_file(devdir / "vendor").value_or(""));
  p.model = trimmed(read_file(devdir / "model").value_or(""));
  p.rev = trimmed(read_file(devdir / "rev").value_or(""));
  p.serial = serial_of(read_file(devdir / "vpd_pg80"));
  p.size_bytes = number(read_file(blk / "size")).value_or(0) * 512;
  p.logical_block_size = static_cast<std::uint32_t>(number(read_file(blk / "queue/logical_block_size")).value_or(0));
  p.max_sectors_kb = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(number(read_file(blk / "queue/max_sectors_kb")).value_or(0), 1u << 21));
  p.write_back_cache = trimmed(read_file(blk / "queue/write_cache").value_or("")) == "write back";
  return p;
}

ScanResult scan_scsi_paths(const fs::path& root, const ReadOptions& opts) {
  ScanResult r;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root / "sys/block", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("sd", 0) == 0) names.push_back(name);
  }
  if (ec) {
    r.errors.push_back(fmt::format("{}: {}", (root / "sys/block").string(), ec.message()));
    return r;
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;  // sda..sdz before sdaa
  });
  for (const auto& n : names) {
    auto p = read_scsi_path(root, n, opts);
    if (p) {
      r.paths.push_back(std::move(*p));
    } else {
      r.errors.push_back(p.error().message);
    }
  }
  return r;
}

Grouping group_by_wwid(std::vector<ScsiPath> paths) {
  Grouping g;
  std::map<std::string, std::size_t> index;
  for (auto& p : paths) {
    auto [it, fresh] = index.try_emplace(p.wwid, g.heads.size());
    if (fresh) {
      g.heads.push_back(ScsiHead{p.wwid, p.size_bytes, p.logical_block_size, {}});
    }
    ScsiHead& h = g.heads[it->second];
    if (p.size_bytes != h.size_bytes || p.logical_block_size != h.logical_block_size) {
      g.refused.push_back(fmt::format("{} ({}): wwid {} but {} bytes in {}-byte blocks, where its other paths have "
                                      "{} bytes in {}-byte blocks: refused, not merged; check the target's LUN "
                                      "mapping (or rescan a resized LUN on every path)",
                                      p.dev, p.hctl, p.wwid, p.size_bytes, p.logical_block_size, h.size_bytes,
                                      h.logical_block_size));
      continue;
    }
    h.paths.push_back(std::move(p));
  }
  std::sort(g.heads.begin(), g.heads.end(), [](const ScsiHead& a, const ScsiHead& b) { return a.wwid < b.wwid; });
  return g;
}

}  // namespace nvmemp::scsi
