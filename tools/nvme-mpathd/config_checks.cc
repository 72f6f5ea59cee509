// Value checks shared by the TOML configuration and discovery.conf (config_checks.h).
#include "config_checks.h"

#include <cctype>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "controller/host_identity.h"

namespace nvmemp::mpathd::detail {

std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  for (const char ch : s.substr(0, kMax)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}


// Numeric IPv4/IPv6 text (as tcp_connect takes it) in canonical form, so "::1" and "0::1" are
// recognised as the same address; nullopt when it is not an address. Host names are refused:
// resolving them here would make a config's validity depend on DNS at load time.
std::optional<std::string> canonical_address(const std::string& text) {
  if (text.empty() || text.find('\0') != std::string::npos) return std::nullopt;
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(text.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return std::nullopt;
  char host[NI_MAXHOST] = {};
  const int rc = ::getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
  ::freeaddrinfo(res);
  if (rc != 0) return std::nullopt;
  return std::string(host);
}

std::string address_problem(std::string_view key, const std::string& v) {
  return fmt::format("{} {} is not an IPv4 or IPv6 address (host names are not resolved)", key, quoted(v));
}

// Linux's dev_valid_name().
bool valid_iface(std::string_view s) {
  if (s.empty() || s.size() > kIfNameMax || s == "." || s == "..") return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c)) != 0;
  });
}

bool valid_nqn(std::string_view s) {
  return s.size() > 4 && s.size() <= kNqnMaxLen && s.rfind("nqn.", 0) == 0 && s.find('\0') == std::string_view::npos;
}

// 8-4-4-4-12 hex digits, as /etc/nvme/hostid holds it.
bool valid_uuid(std::string_view s) {
  // The controller layer's parser (the one --hostid goes through), with the text form's length.
  return s.size() == 36 && controller::parse_uuid(std::string(s)).has_value();
}

// bind() takes at most sizeof(sun_path) - 1 bytes; say so now rather than at start-up.
std::optional<std::string> socket_path_problem(std::string_view key, std::string_view v) {
  constexpr std::size_t kMax = sizeof(sockaddr_un{}.sun_path) - 1;
  if (v.empty() || v[0] != '/') return fmt::format("{} {} must be an absolute path", key, quoted(v));
  if (v.size() > kMax) return fmt::format("{} is {} bytes long; a Unix socket path may have at most {}", key, v.size(), kMax);
  return std::nullopt;
}

std::string endpoint_key(const std::string& canonical_addr, std::uint16_t port) {
  return canonical_addr.find(':') != std::string::npos ? fmt::format("[{}]:{}", canonical_addr, port)
                                                       : fmt::format("{}:{}", canonical_addr, port);
}

}  // namespace nvmemp::mpathd::detail
