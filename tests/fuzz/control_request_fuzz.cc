// Fuzz target: one control-socket request line (tools/nvme-mpathd/control_server.h). Whatever
// comes in, the answer is one JSON object line; a handler that reads typed fields cannot make it
// throw out. Corpus: tests/fuzz/corpus/control_request/ (the daemon's requests and near misses).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  const auto handler = [](const nlohmann::json& req, const nvmemp::mpathd::Peer&) {
    // Typed reads as the daemon's handler does them: a wrong type throws inside answer_line.
    if (req["cmd"] == "connect") {
      return nlohmann::json{{"traddr", req.at("traddr").get<std::string>()}, {"port", req.at("trsvcid").get<int>()}};
    }
    return nlohmann::json{{"ok", true}};
  };
  const std::string out = nvmemp::mpathd::ControlServer::answer_line(line, nvmemp::mpathd::Peer{}, handler);
  if (out.empty() || out.back() != '\n') std::abort();
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) std::abort();
  return 0;
}
