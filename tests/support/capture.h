// Loader for the byte-exact NVMe/TCP sessions in ../shared/real-target/captures (JSON Lines,
// one PDU per line; see that folder's README).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nvmemp::test {

struct CapturedPdu {
  std::string conn;  // "127.0.0.1:14420 qid 0" (labels are reused: split at ICReq)
  bool h2c = false;  // host to controller
  std::uint8_t type = 0;
  std::string name;  // "CapsuleCmd", ...
  std::vector<std::uint8_t> bytes;  // the whole PDU
  std::string note;  // probe.py's reading, for people
};

struct CapturedConnection {
  std::string label;
  std::vector<CapturedPdu> pdus;  // wire order, both directions, starting with the ICReq
};

// Names of the capture files ("nvmet-6.1-plain.jsonl", ...). Fails the test when the folder
// is missing (shared/ must be beside the checkout). FirstWave: the six sessions without
// authentication (nvmet 6.1 and SPDK; plain, digest, nosqflow) whose contents the golden tests
// pin value by value; All adds the nvmet 6.12 DH-HMAC-CHAP sessions.
enum class CaptureSet { All, FirstWave };
std::vector<std::string> capture_files(CaptureSet set = CaptureSet::All);
std::string captures_dir();
std::vector<CapturedPdu> load_capture(const std::string& file_name);
std::vector<CapturedConnection> split_connections(const std::vector<CapturedPdu>& pdus);

std::vector<std::uint8_t> from_hex(std::string_view hex);

// The data of every C2HData in `file_name` whose note contains `note_contains` (e.g.
// "(Identify CNS 1)", "(Get Log Page 0xc)"), in capture order: bytes PDO..PLEN without the
// data digest. Sliced by the common header alone, so parser tests do not depend on the PDU
// decoder.
struct CapturedData {
  std::string file;
  std::string conn;
  std::string note;
  std::vector<std::uint8_t> data;
};
std::vector<CapturedData> c2h_payloads(const std::string& file_name, const std::string& note_contains);

}  // namespace nvmemp::test
