// The relay's PSK file: one "<identity> <hex TLS PSK>" a line. The identity is everything up to
// the last run of blanks (it may hold spaces, as NVMe identities do); the last field is the TLS
// PSK as hex, 32 bytes (TLS_AES_128_GCM_SHA256) or 48 (TLS_AES_256_GCM_SHA384). Blank lines and
// lines starting with '#' are skipped. The relay derives nothing: the keys are used as given.
//
// Keys never appear in an error message; they are wiped when the table goes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace tls_relay {

struct PskEntry {
  std::string identity;
  std::vector<std::uint8_t> key;  // 32 or 48 bytes
};

class PskTable {
 public:
  PskTable() = default;
  ~PskTable();
  PskTable(PskTable&&) noexcept = default;
  PskTable& operator=(PskTable&&) noexcept = default;
  PskTable(const PskTable&) = delete;
  PskTable& operator=(const PskTable&) = delete;

  // Parses the text of a PSK file; `name` is the file's name for errors ("psk.txt line 3: ...").
  static tl::expected<PskTable, std::string> parse(std::string_view text, std::string_view name);
  // Reads and parses the file (its bytes are wiped after). Warns on stderr when users other
  // than its owner may read it.
  static tl::expected<PskTable, std::string> load(const std::string& path);

  // The entry offered under exactly this identity, or nullptr.
  const PskEntry* find(std::string_view identity) const noexcept;
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  std::vector<PskEntry> entries_;
};

// Printable form of an identity for a log line: bytes outside 0x20..0x7e (and '"', '\\') as \xNN.
std::string printable_identity(std::string_view identity);

}  // namespace tls_relay
