// Shared by the two parsers of nvme-mpathd's configuration (config.cc: the TOML file,
// discovery_conf.cc: nvme-cli's discovery.conf): how problems are collected and reported
// (`source:line:col: what`, in file order) and the value checks both apply.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "nvmemp/result.h"

namespace nvmemp::mpathd::detail {


inline constexpr std::size_t kNqnMaxLen = 223;  // NVMe base spec: NQNs are at most 223 bytes
inline constexpr std::string_view kDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";
inline constexpr std::size_t kMaxProblems = 20;  // past that, the rest is noise from one mistake
inline constexpr long long kYear = 31536000;     // upper bound of the long timers, as no_path_retry's
inline constexpr unsigned kMaxIoThreads = 64;    // the library's limit on I/O contexts
inline constexpr std::size_t kNbdNameMax = 4096; // NBD protocol: export names up to 4096 bytes
inline constexpr std::size_t kIfNameMax = 15;    // IFNAMSIZ - 1

struct Position {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  bool operator<(const Position& o) const { return line != o.line ? line < o.line : column < o.column; }
};

// Every problem found, reported in file order as "source:line:col: what".
class Problems {
 public:
  explicit Problems(const std::string& source) : source_(source) {}
  void add(Position at, std::string what) { list_.push_back({at, std::move(what)}); }
  bool empty() const { return list_.empty(); }
  std::size_t size() const { return list_.size(); }
  tl::unexpected<Error> error(Errc code) {
    std::stable_sort(list_.begin(), list_.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    std::string msg;
    for (std::size_t i = 0; i < list_.size() && i < kMaxProblems; ++i) {
      if (i > 0) msg += '\n';
      msg += fmt::format("{}:{}:{}: {}", source_, list_[i].at.line, list_[i].at.column, list_[i].what);
    }
    if (list_.size() > kMaxProblems) msg += fmt::format("\n{}: ... and {} more", source_, list_.size() - kMaxProblems);
    return make_error(code, std::move(msg));
  }

 private:
  struct Item {
    Position at;
    std::string what;
  };
  const std::string& source_;
  std::vector<Item> list_;
};

// Text from the file as it may appear in a message: quoted, control bytes escaped, bounded.
std::string quoted(std::string_view s);
// Numeric IPv4/IPv6 text in canonical form ("::1" and "0::1" are one address); nullopt when it
// is not an address (host names are not resolved).
std::optional<std::string> canonical_address(const std::string& text);
std::string address_problem(std::string_view key, const std::string& v);
bool valid_iface(std::string_view s);  // Linux's dev_valid_name()
bool valid_nqn(std::string_view s);
bool valid_uuid(std::string_view s);   // 8-4-4-4-12 hex digits, as /etc/nvme/hostid holds it
// An absolute path short enough for sockaddr_un, or what is wrong with it.
std::optional<std::string> socket_path_problem(std::string_view key, std::string_view v);
std::string endpoint_key(const std::string& canonical_addr, std::uint16_t port);  // "[::1]:8009"

}  // namespace nvmemp::mpathd::detail
