#include "psk_table.h"

#include <sys/stat.h>

#include <openssl/crypto.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace tls_relay {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The key of one line: an error names the rule it broke, never the digits.
tl::expected<std::vector<std::uint8_t>, std::string> parse_hex_key(std::string_view hex) {
  if (hex.size() != 64 && hex.size() != 96) {
    return tl::unexpected(fmt::format("the TLS PSK must be 64 or 96 hex digits (32 or 48 bytes), not {} characters",
                                      hex.size()));
  }
  std::vector<std::uint8_t> key(hex.size() / 2);
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(key.data(), key.size());
      const std::size_t at = 2 * i + (hi < 0 ? 1 : 2);  // 1-based, within the key field
      return tl::unexpected(fmt::format("the TLS PSK's character {} is not a hex digit", at));
    }
    key[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return key;
}

}  // namespace

PskTable::~PskTable() {
  for (auto& e : entries_) OPENSSL_cleanse(e.key.data(), e.key.size());
}

tl::expected<PskTable, std::string> PskTable::parse(std::string_view text, std::string_view name) {
  PskTable t;
  unsigned line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = trim_blanks(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    std::size_t split = line.size();
    while (split > 0 && !is_blank(line[split - 1])) --split;
    const std::string_view identity = trim_blanks(line.substr(0, split));
    if (split == 0 || identity.empty()) {
      return tl::unexpected(fmt::format("{} line {}: expected \"<identity> <hex TLS PSK>\"", name, line_no));
    }
    auto key = parse_hex_key(line.substr(split));
    if (!key) return tl::unexpected(fmt::format("{} line {}: {}", name, line_no, key.error()));
    if (t.find(identity) != nullptr) {
      OPENSSL_cleanse(key->data(), key->size());
      return tl::unexpected(fmt::format("{} line {}: identity \"{}\" is listed twice", name, line_no,
                                        printable_identity(identity)));
    }
    t.entries_.push_back(PskEntry{std::string(identity), std::move(*key)});
  }
  if (t.entries_.empty()) return tl::unexpected(fmt::format("{}: no \"<identity> <hex TLS PSK>\" line", name));
  return t;
}

tl::expected<PskTable, std::string> PskTable::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(fmt::format("{}: cannot be read", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    std::fprintf(stderr, "nvme-mpath-tls-relay: warning: %s may be read by other users (chmod 600 it)\n",
                 path.c_str());
  }
  auto t = parse(text, path);
  OPENSSL_cleanse(text.data(), text.size());
  return t;
}

const PskEntry* PskTable::find(std::string_view identity) const noexcept {
  for (const auto& e : entries_) {
    if (e.identity == identity) return &e;
  }
  return nullptr;
}

std::string printable_identity(std::string_view identity) {
  std::string out;
  out.reserve(identity.size());
  for (const char ch : identity) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace tls_relay
