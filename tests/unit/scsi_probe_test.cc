// path_probe.h as pure functions: dm-multipath's errno classification, TEST UNIT READY outcomes
// from status/host/driver bytes and fixed or descriptor sense data, REPORT TARGET PORT GROUPS
// decoding, and a fake PathProber standing in for the SG_IO one.
#include <catch2/catch.hpp>

#include <cerrno>
#include <map>
#include <vector>

#include "alua.h"
#include "path_probe.h"

using namespace nvmemp;
using namespace nvmemp::scsi;

namespace {

// Fixed-format sense (18 bytes, additional length 10).
std::vector<std::uint8_t> fixed(std::uint8_t key, std::uint8_t asc, std::uint8_t ascq, std::uint8_t code = 0x70) {
  std::vector<std::uint8_t> s(18, 0);
  s[0] = code;
  s[2] = key;
  s[7] = 10;
  s[12] = asc;
  s[13] = ascq;
  return s;
}
// Descriptor-format sense (8-byte header, no descriptors).
std::vector<std::uint8_t> sense_descriptor(std::uint8_t key, std::uint8_t asc, std::uint8_t ascq,
                                           std::uint8_t code = 0x72) {
  return {code, key, asc, ascq, 0, 0, 0, 0};
}

constexpr std::uint8_t kCheck = 0x02;
constexpr std::uint16_t kDriverSense = 0x08;

ProbeResult tur_sense(const std::vector<std::uint8_t>& s) { return decode_tur(kCheck, 0, kDriverSense, s); }

}  // namespace

TEST_CASE("classify_io_errno: blk_path_error()'s table over blk_errors' errnos", "[scsi][probe]") {
  for (int e : {EOPNOTSUPP, ENOSPC, EREMOTEIO, EBADE, ENODATA, EILSEQ}) {
    INFO(e);
    CHECK(classify_io_errno(e) == IoErrorClass::TargetError);
    CHECK(classify_io_errno(-e) == IoErrorClass::TargetError);  // io_uring's negative results
  }
  // BLK_STS_TIMEOUT, TRANSPORT, RESOURCE, DEV_RESOURCE, AGAIN, OFFLINE, ZONE_*, DURATION_LIMIT, IOERR
  for (int e : {ETIMEDOUT, ENOLINK, ENOMEM, EBUSY, EAGAIN, ENODEV, ETOOMANYREFS, EOVERFLOW, ETIME, EIO}) {
    INFO(e);
    CHECK(classify_io_errno(e) == IoErrorClass::PathError);
    CHECK(classify_io_errno(-e) == IoErrorClass::PathError);
  }
  CHECK(classify_io_errno(0) == IoErrorClass::None);
  CHECK(std::string(io_error_class_name(IoErrorClass::PathError)) == "path error");
}

TEST_CASE("parse_sense: fixed and descriptor formats, current and deferred, short buffers", "[scsi][probe]") {
  CHECK(parse_sense(fixed(0x2, 0x04, 0x0b)) == SenseInfo{0x70, 0x2, 0x04, 0x0b});
  CHECK(parse_sense(fixed(0x6, 0x2a, 0x06, 0xf1)) == SenseInfo{0x71, 0x6, 0x2a, 0x06});  // VALID bit set, deferred
  CHECK(parse_sense(sense_descriptor(0x2, 0x04, 0x0a)) == SenseInfo{0x72, 0x2, 0x04, 0x0a});
  CHECK(parse_sense(sense_descriptor(0x6, 0x29, 0x00, 0x73)) == SenseInfo{0x73, 0x6, 0x29, 0x00});
  auto short_fixed = fixed(0x2, 0x04, 0x0b);
  short_fixed.resize(13);  // ASC there, ASCQ cut: the key alone
  CHECK(parse_sense(short_fixed) == SenseInfo{0x70, 0x2, 0, 0});
  CHECK_FALSE(parse_sense(std::vector<std::uint8_t>{0x72, 0x02, 0x04}));
  CHECK_FALSE(parse_sense(std::vector<std::uint8_t>{0x7f, 0, 0, 0, 0, 0, 0, 0}));
  CHECK_FALSE(parse_sense({}));
}

TEST_CASE("decode_tur: NOT READY with the ALUA ASC/ASCQs, in both sense formats", "[scsi][probe]") {
  struct Row { std::uint8_t asc, ascq; ProbeState want; };
  const Row rows[] = {{0x04, 0x0a, ProbeState::Transitioning}, {0x04, 0x0b, ProbeState::Standby},
                      {0x04, 0x0c, ProbeState::Unavailable},   {0x04, 0x12, ProbeState::Unavailable},
                      {0x04, 0x02, ProbeState::NotReady},      {0x3a, 0x00, ProbeState::NotReady}};
  for (const Row& r : rows) {
    for (const auto& s : {fixed(0x2, r.asc, r.ascq), sense_descriptor(0x2, r.asc, r.ascq)}) {
      const ProbeResult p = tur_sense(s);
      INFO(p.detail);
      CHECK(p.state == r.want);
      CHECK(p.reached_target);
      CHECK_FALSE(p.retry);
      REQUIRE(p.sense);
      CHECK(p.sense->asc == r.asc);
      CHECK(p.sense->ascq == r.ascq);
    }
  }
  const ProbeResult becoming = tur_sense(fixed(0x2, 0x04, 0x01));
  CHECK(becoming.state == ProbeState::NotReady);
  CHECK(becoming.retry);
  CHECK(tur_sense(sense_descriptor(0x2, 0x04, 0x0b)).detail.find("standby") != std::string::npos);
}

TEST_CASE("decode_tur: UNIT ATTENTION counts as up (and is worth asking again)", "[scsi][probe]") {
  for (const auto& s : {fixed(0x6, 0x2a, 0x06), sense_descriptor(0x6, 0x2a, 0x06), fixed(0x6, 0x29, 0x00)}) {
    const ProbeResult p = tur_sense(s);
    INFO(p.detail);
    CHECK(p.state == ProbeState::Up);
    CHECK(p.reached_target);
    CHECK(p.retry);
  }
  CHECK(tur_sense(fixed(0x6, 0x2a, 0x06)).detail.find("asymmetric access state changed") != std::string::npos);
}

TEST_CASE("decode_tur: status bytes, host bytes, driver bytes, other sense keys", "[scsi][probe]") {
  CHECK(decode_tur(0x00, 0, 0, {}).state == ProbeState::Up);
  const ProbeResult rc = decode_tur(0x18, 0, 0, {});  // RESERVATION CONFLICT: the path works
  CHECK(rc.state == ProbeState::Up);
  CHECK(rc.reached_target);
  const ProbeResult busy = decode_tur(0x08, 0, 0, {});
  CHECK(busy.state == ProbeState::Up);
  CHECK(busy.retry);

  const ProbeResult noconn = decode_tur(0x00, 0x01, 0, {});  // DID_NO_CONNECT
  CHECK(noconn.state == ProbeState::Down);
  CHECK_FALSE(noconn.reached_target);
  CHECK_FALSE(noconn.retry);
  CHECK(noconn.detail.find("DID_NO_CONNECT") != std::string::npos);
  const ProbeResult disrupted = decode_tur(0x00, 0x0e, 0, {});  // DID_TRANSPORT_DISRUPTED
  CHECK(disrupted.state == ProbeState::Down);
  CHECK(disrupted.retry);
  CHECK(decode_tur(0x00, 0x0f, 0, {}).detail.find("DID_TRANSPORT_FAILFAST") != std::string::npos);
  CHECK(decode_tur(0x00, 0x55, 0, {}).state == ProbeState::Down);  // unknown host byte

  const ProbeResult timeout = decode_tur(0x00, 0, 0x06, {});  // DRIVER_TIMEOUT
  CHECK(timeout.state == ProbeState::Down);
  CHECK_FALSE(timeout.reached_target);

  const ProbeResult no_sense = decode_tur(kCheck, 0, 0, {});
  CHECK(no_sense.state == ProbeState::Down);
  CHECK(no_sense.reached_target);
  CHECK(no_sense.detail.find("without usable sense") != std::string::npos);

  const ProbeResult lun_gone = tur_sense(fixed(0x5, 0x25, 0x00));
  CHECK(lun_gone.state == ProbeState::Down);
  CHECK(lun_gone.reached_target);
  CHECK(lun_gone.detail.find("not supported") != std::string::npos);
  CHECK(tur_sense(sense_descriptor(0x4, 0x44, 0x00)).state == ProbeState::Down);  // HARDWARE ERROR
  CHECK(tur_sense(sense_descriptor(0xb, 0x47, 0x00)).retry);                     // ABORTED COMMAND
  CHECK(tur_sense(fixed(0x1, 0x17, 0x01)).state == ProbeState::Up);   // RECOVERED ERROR
}

TEST_CASE("RTPG: CDB and the extended and length-only parameter data", "[scsi][probe]") {
  const auto cdb = rtpg_cdb(0x12345678, true);
  CHECK(cdb == std::array<std::uint8_t, 12>{0xa3, 0x2a, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0});
  CHECK(rtpg_cdb(4096, false)[1] == 0x0a);

  // Extended header, implicit transition time 60 s; group 1 preferred AO with port 1,
  // group 0x100 standby with ports 2 and 3.
  std::vector<std::uint8_t> body = {0x10, 60, 0, 0,
                                    0x80, 0x8f, 0x00, 0x01, 0, 0x02, 0, 1, 0, 0, 0x00, 0x01,
                                    0x02, 0x8f, 0x01, 0x00, 0, 0x00, 0, 2, 0, 0, 0x00, 0x02, 0, 0, 0x00, 0x03};
  std::vector<std::uint8_t> data = {0, 0, 0, static_cast<std::uint8_t>(body.size())};
  data.insert(data.end(), body.begin(), body.end());
  auto r = parse_rtpg(data);
  REQUIRE(r);
  CHECK(r->extended);
  CHECK(r->implicit_transition_secs == 60);
  REQUIRE(r->groups.size() == 2);
  CHECK(r->groups[0].id == 1);
  CHECK(r->groups[0].preferred);
  CHECK(r->groups[0].state == 0x0);
  CHECK(r->groups[0].supported == 0x8f);
  CHECK(r->groups[0].status_code == 2);
  CHECK(r->groups[0].relative_ports == std::vector<std::uint16_t>{1});
  CHECK(r->groups[1].id == 0x100);
  CHECK_FALSE(r->groups[1].preferred);
  CHECK(std::string(alua_state_name(r->groups[1].state)) == "standby");
  CHECK(r->groups[1].relative_ports == std::vector<std::uint16_t>{2, 3});

  // Length-only header: the same groups without the 4 extended bytes.
  std::vector<std::uint8_t> plain = {0, 0, 0, static_cast<std::uint8_t>(body.size() - 4)};
  plain.insert(plain.end(), body.begin() + 4, body.end());
  auto p = parse_rtpg(plain);
  REQUIRE(p);
  CHECK_FALSE(p->extended);
  CHECK(p->groups.size() == 2);

  // Cut short: Truncated, naming the length to ask for.
  auto cut = parse_rtpg(std::span<const std::uint8_t>(data).first(20));
  REQUIRE_FALSE(cut);
  CHECK(cut.error().code == Errc::Truncated);
  CHECK(cut.error().message.find(std::to_string(data.size())) != std::string::npos);
  // A group that lists more ports than the data holds.
  auto bad = data;
  bad[4 + 4 + 7] = 9;
  auto m = parse_rtpg(bad);
  REQUIRE_FALSE(m);
  CHECK(m.error().code == Errc::Malformed);
}

TEST_CASE("RTPG states are spelled as the kernel's access_state, so alua.h maps them", "[scsi][probe]") {
  const std::map<std::uint8_t, wire::AnaState> want = {
      {0x0, wire::AnaState::Optimized},    {0x1, wire::AnaState::NonOptimized}, {0x2, wire::AnaState::Inaccessible},
      {0x3, wire::AnaState::Inaccessible}, {0x4, wire::AnaState::NonOptimized}, {0xe, wire::AnaState::Inaccessible},
      {0xf, wire::AnaState::Change}};
  for (const auto& kv : want) {
    INFO(alua_state_name(kv.first));
    const auto m = ana_from_access_state(alua_state_name(kv.first));
    CHECK(m.known);
    CHECK(m.ana == kv.second);
  }
  CHECK(std::string(alua_state_name(0x7)) == "unknown");
}

namespace {
// What the multipath core does with an I/O error, with the prober faked.
class FakeProber final : public PathProber {
 public:
  ProbeResult next;
  std::vector<std::string> asked;
  ProbeResult probe(const std::string& dev, std::chrono::milliseconds) override {
    asked.push_back(dev);
    return next;
  }
};
bool path_failed(PathProber& prober, const std::string& dev, int io_err) {
  if (classify_io_errno(io_err) != IoErrorClass::PathError) return false;
  return !prober.probe(dev, std::chrono::milliseconds(100)).reached_target;
}
}  // namespace

TEST_CASE("PathProber can be faked: a target error never probes, a path error is confirmed by one probe",
          "[scsi][probe]") {
  FakeProber fake;
  CHECK_FALSE(path_failed(fake, "/dev/sdb", -ENODATA));
  CHECK(fake.asked.empty());
  fake.next = decode_tur(0x00, 0x01, 0, {});  // DID_NO_CONNECT
  CHECK(path_failed(fake, "/dev/sdb", -EIO));
  fake.next = tur_sense(fixed(0x2, 0x04, 0x0b));  // standby: the target answered
  CHECK_FALSE(path_failed(fake, "/dev/sdc", -EIO));
  CHECK(fake.asked == std::vector<std::string>{"/dev/sdb", "/dev/sdc"});
}
