#include "controller/host_identity.h"

#include <cstdlib>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "wire/libnvme_util.h"

namespace nvmemp::controller {

namespace {

constexpr std::string_view kUuidNqnPrefix = "nqn.2014-08.org.nvmexpress:uuid:";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

// One line of a file, or nothing when it does not exist or is empty.
std::optional<std::string> read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return std::nullopt;
  }
  line = trim(line);
  if (line.empty()) {
    return std::nullopt;
  }
  return line;
}

std::optional<std::string> from_libnvme(char* (*fn)()) {
  std::unique_ptr<char, decltype(&std::free)> p(fn(), &std::free);
  if (!p) {
    return std::nullopt;
  }
  std::string s = trim(p.get());
  if (s.empty()) {
    return std::nullopt;
  }
  return s;
}

Result<void> check_nqn(const std::string& nqn, const char* where) {
  if (nqn.empty() || nqn.size() > wire::kNqnMaxLen || nqn.rfind("nqn.", 0) != 0) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: host NQN '{}' must start with 'nqn.' and be 1..{} characters", where, nqn,
                                  wire::kNqnMaxLen));
  }
  return {};
}

}  // namespace

Result<wire::HostId> parse_uuid(const std::string& text) {
  wire::HostId id{};
  if (text.size() != 36 || nvme_uuid_from_string(text.c_str(), id.data()) != 0) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("host ID '{}' is not a UUID (like 5a7e0000-0000-4000-8000-00000000b0b0)", text));
  }
  return id;
}

std::string uuid_text(const wire::HostId& id) {
  char buf[NVME_UUID_LEN_STRING] = {};
  wire::HostId copy = id;
  nvme_uuid_to_string(copy.data(), buf);
  return buf;
}

Result<HostIdentity> load_host_identity(const HostIdentityOptions& opts) {
  HostIdentity h;
  const bool own_dir = !opts.config_dir.empty();
  const std::string nqn_file = own_dir ? opts.config_dir + "/hostnqn" : "/etc/nvme/hostnqn";
  const std::string id_file = own_dir ? opts.config_dir + "/hostid" : "/etc/nvme/hostid";

  std::optional<std::string> nqn = opts.hostnqn;
  std::string nqn_where = "--hostnqn";
  if (!nqn) {
    nqn = own_dir ? read_line(nqn_file) : from_libnvme(&nvmf_hostnqn_from_file);
    nqn_where = nqn_file;
  }
  std::optional<std::string> id = opts.hostid;
  std::string id_where = "--hostid";
  if (!id) {
    id = own_dir ? read_line(id_file) : from_libnvme(&nvmf_hostid_from_file);
    id_where = id_file;
  }

  if (!nqn) {
    // Nothing configured: generate as nvme-cli does (DMI product UUID when there is one).
    nqn = own_dir ? std::nullopt : from_libnvme(&nvmf_hostnqn_generate);
    if (!nqn) {
      wire::HostId rnd{};
      nvme_uuid_random(rnd.data());
      nqn = std::string(kUuidNqnPrefix) + uuid_text(rnd);
    }
    h.generated = true;
    nqn_where = "generated";
  }
  if (auto ok = check_nqn(*nqn, nqn_where.c_str()); !ok) {
    return tl::unexpected(ok.error());
  }
  h.hostnqn = *nqn;

  if (!id && h.hostnqn.rfind(kUuidNqnPrefix, 0) == 0) {
    id = h.hostnqn.substr(kUuidNqnPrefix.size());  // keep NQN and ID 1:1
    id_where = "the UUID of the host NQN";
  }
  if (!id) {
    wire::HostId rnd{};
    nvme_uuid_random(rnd.data());
    id = uuid_text(rnd);
    h.generated = true;
  }
  auto parsed = parse_uuid(*id);
  if (!parsed) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: {}", id_where, parsed.error().message));
  }
  h.hostid = *parsed;
  h.hostid_text = uuid_text(h.hostid);
  if (h.generated) {
    h.hint = fmt::format(
        "no host identity configured ({} / {}): using {} and host ID {} for this run only; save them "
        "with 'echo {} > {}; echo {} > {}' so the targets see the same host every time",
        nqn_file, id_file, h.hostnqn, h.hostid_text, h.hostnqn, nqn_file, h.hostid_text, id_file);
  }
  return h;
}

}  // namespace nvmemp::controller
