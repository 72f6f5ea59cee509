#include "support/capture.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace nvmemp::test {

std::string captures_dir() { return NVMEMP_CAPTURES_DIR; }

std::vector<std::string> capture_files(CaptureSet set) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(captures_dir(), ec)) {
    const bool auth = e.path().filename().string().find("dhchap") != std::string::npos;
    if (e.path().extension() == ".jsonl" && !(auth && set == CaptureSet::FirstWave)) {
      names.push_back(e.path().filename().string());
    }
  }
  INFO("captures folder: " << captures_dir());
  REQUIRE_FALSE(ec);
  REQUIRE(names.size() >= 6);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    throw std::invalid_argument("odd-length hex string");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

std::vector<CapturedPdu> load_capture(const std::string& file_name) {
  const std::string path = captures_dir() + "/" + file_name;
  std::ifstream in(path);
  INFO("capture " << path);
  REQUIRE(in.good());
  std::vector<CapturedPdu> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      continue;
    }
    const auto j = nlohmann::json::parse(line);
    CapturedPdu p;
    p.conn = j.at("conn").get<std::string>();
    p.h2c = j.at("dir").get<std::string>() == "h2c";
    p.type = j.at("type").get<std::uint8_t>();
    p.name = j.at("name").get<std::string>();
    p.bytes = from_hex(j.at("hex").get<std::string>());
    p.note = j.value("note", "");
    out.push_back(std::move(p));
  }
  REQUIRE_FALSE(out.empty());
  return out;
}

std::vector<CapturedConnection> split_connections(const std::vector<CapturedPdu>& pdus) {
  std::vector<CapturedConnection> conns;
  std::map<std::string, std::size_t> open;  // label -> index of its current connection
  for (const auto& p : pdus) {
    if (p.h2c && p.type == 0x00) {  // ICReq starts a new connection for this label
      open[p.conn] = conns.size();
      conns.push_back(CapturedConnection{p.conn, {}});
    }
    auto it = open.find(p.conn);
    REQUIRE(it != open.end());
    conns[it->second].pdus.push_back(p);
  }
  return conns;
}

std::vector<CapturedData> c2h_payloads(const std::string& file_name, const std::string& note_contains) {
  std::vector<CapturedData> out;
  for (const auto& p : load_capture(file_name)) {
    if (p.h2c || p.type != 0x07 || p.note.find(note_contains) == std::string::npos) {
      continue;
    }
    REQUIRE(p.bytes.size() >= 24);
    const std::size_t pdo = p.bytes[3];
    const std::size_t plen = static_cast<std::size_t>(p.bytes[4]) | (static_cast<std::size_t>(p.bytes[5]) << 8) |
                             (static_cast<std::size_t>(p.bytes[6]) << 16) |
                             (static_cast<std::size_t>(p.bytes[7]) << 24);
    const std::size_t ddgst = (p.bytes[1] & 0x02) != 0 ? 4 : 0;
    REQUIRE(plen == p.bytes.size());
    REQUIRE(pdo + ddgst <= plen);
    out.push_back(CapturedData{file_name, p.conn, p.note,
                               std::vector<std::uint8_t>(p.bytes.begin() + static_cast<std::ptrdiff_t>(pdo),
                                                         p.bytes.end() - static_cast<std::ptrdiff_t>(ddgst))});
  }
  return out;
}

}  // namespace nvmemp::test
