// UeventMonitor: libudev netlink monitor on block + scsi, udev or kernel source (uevent_monitor.h).
#include "uevent_monitor.h"
#include "udev_scan.h"

#include <libudev.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace nvmemp::scsi {

namespace {

// Bursts (a rescan of hundreds of LUNs) must not overflow the socket; raising the buffer needs
// CAP_NET_ADMIN, so a failure only leaves the default size.
constexpr int kReceiveBuffer = 8 * 1024 * 1024;
// receive() drains at most this many messages that do not pass the filter or are malformed
// before it reports "nothing queued"; the fd stays readable and the caller comes back.
constexpr int kMaxSkippedPerCall = 256;

std::string prop(const std::map<std::string, std::string>& p, const char* key) {
  auto it = p.find(key);
  return it != p.end() ? it->second : std::string();
}

unsigned long long num(const std::string& s) {
  unsigned long long v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

Uevent uevent_from_properties(std::map<std::string, std::string> properties) {
  Uevent e;
  e.action = prop(properties, "ACTION");
  e.subsystem = prop(properties, "SUBSYSTEM");
  e.devtype = prop(properties, "DEVTYPE");
  const std::string devpath = prop(properties, "DEVPATH");
  if (!devpath.empty()) e.syspath = "/sys" + devpath;
  const auto slash = devpath.rfind('/');
  e.sysname = slash == std::string::npos ? devpath : devpath.substr(slash + 1);
  for (char& c : e.sysname) {
    if (c == '!') c = '/';  // the kernel's escape of '/' in names, as libudev undoes it
  }
  const std::string devname = prop(properties, "DEVNAME");
  if (!devname.empty()) e.devnode = devname.front() == '/' ? devname : "/dev/" + devname;
  if (properties.count("MAJOR") != 0 && properties.count("MINOR") != 0) {
    e.devnum = makedev(static_cast<unsigned>(num(prop(properties, "MAJOR"))),
                       static_cast<unsigned>(num(prop(properties, "MINOR"))));
  }
  e.seqnum = num(prop(properties, "SEQNUM"));
  e.sdev_ua = prop(properties, "SDEV_UA");
  e.properties = std::move(properties);
  return e;
}

UeventMonitor::Source UeventMonitor::default_source() {
  return ::access("/run/udev/control", F_OK) == 0 ? Source::Udev : Source::Kernel;
}

Result<std::unique_ptr<UeventMonitor>> UeventMonitor::create() { return create(default_source()); }

Result<std::unique_ptr<UeventMonitor>> UeventMonitor::create(Source source) {
  const char* name = source == Source::Udev ? "udev" : "kernel";
  udev* u = udev_new();
  if (u == nullptr) return make_error(Errc::Io, fmt::format("udev_new: {}", std::strerror(errno)));
  udev_monitor* m = udev_monitor_new_from_netlink(u, name);
  if (m == nullptr) {
    const int err = errno;
    udev_unref(u);
    return make_error(Errc::Io, fmt::format("uevent monitor ({} source): cannot open the netlink socket: {}", name,
                                            std::strerror(err)));
  }
  std::unique_ptr<UeventMonitor> mon(new UeventMonitor(u, m, source));
  for (const char* subsystem : {"block", "scsi"}) {
    if (int r = udev_monitor_filter_add_match_subsystem_devtype(m, subsystem, nullptr); r < 0) {
      return make_error(Errc::Io, fmt::format("uevent monitor: filter on {}: {}", subsystem, std::strerror(-r)));
    }
  }
  (void)udev_monitor_set_receive_buffer_size(m, kReceiveBuffer);
  if (int r = udev_monitor_enable_receiving(m); r < 0) {
    return make_error(Errc::Io, fmt::format("uevent monitor ({} source): bind: {} (root or CAP_NET_ADMIN may be "
                                            "needed in this namespace)", name, std::strerror(-r)));
  }
  return mon;
}

UeventMonitor::~UeventMonitor() {
  udev_monitor_unref(mon_);
  udev_unref(udev_);
}

int UeventMonitor::fd() const { return udev_monitor_get_fd(mon_); }

bool UeventMonitor::take_overflow() {
  const bool o = overflow_;
  overflow_ = false;
  return o;
}

std::optional<Uevent> UeventMonitor::receive() {
  for (int i = 0; i < kMaxSkippedPerCall; ++i) {
    errno = 0;
    udev_device* d = udev_monitor_receive_device(mon_);
    if (d == nullptr) {
      if (errno == ENOBUFS) {
        overflow_ = true;  // the kernel dropped messages; the next ones are still good
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == 0) return std::nullopt;
      continue;  // one malformed or untrusted message, consumed and ignored
    }
    std::map<std::string, std::string> props;
    udev_list_entry* entry = nullptr;
    udev_list_entry_foreach(entry, udev_device_get_properties_list_entry(d)) {
      props.emplace(udev_str(udev_list_entry_get_name(entry)), udev_str(udev_list_entry_get_value(entry)));
    }
    Uevent e = uevent_from_properties(std::move(props));
    // libudev's view wins where it has one (it resolves names and numbers the same way).
    if (const char* a = udev_device_get_action(d)) e.action = a;
    if (const char* s = udev_device_get_subsystem(d)) e.subsystem = s;
    if (const char* t = udev_device_get_devtype(d)) e.devtype = t;
    if (const char* n = udev_device_get_sysname(d)) e.sysname = n;
    if (const char* p = udev_device_get_syspath(d)) e.syspath = p;
    if (const char* n = udev_device_get_devnode(d)) e.devnode = n;
    e.devnum = udev_device_get_devnum(d);
    udev_device_unref(d);
    return e;
  }
  return std::nullopt;
}

}  // namespace nvmemp::scsi
