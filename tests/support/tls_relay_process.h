// The TLS relay (tools/tls-relay, nvme-mpath-tls-relay) run as a child process for a test: one
// ephemeral 127.0.0.1 listener per backend port, the given PSK file, --log. Its stdout (the
// "listening" lines, then one line per connection) goes to a file the test reads. The relay is
// stopped with SIGTERM (and reaped) when the object goes, SIGKILLed if it does not exit within
// 5 s, and killed by the kernel if the test process dies first (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nvmemp/result.h"

namespace nvmemp::test {

// A directory of its own under /tmp (mode 0700), removed when the object goes.
class PrivateDir {
 public:
  explicit PrivateDir(const std::string& prefix);
  ~PrivateDir();
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `text` to `name` in it with mode 0600; returns the file's path.
  std::string write_file(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

class TlsRelayProcess {
 public:
  // Starts `binary` relaying 127.0.0.1:<ephemeral> to 127.0.0.1:<each backend port>; returns once
  // it printed a listening line for each (5 s at most), else why not (with its stderr).
  static Result<std::unique_ptr<TlsRelayProcess>> start(const std::string& binary,
                                                        const std::vector<std::uint16_t>& backend_ports,
                                                        const std::string& psk_file, const std::string& workdir);
  ~TlsRelayProcess();
  TlsRelayProcess(const TlsRelayProcess&) = delete;
  TlsRelayProcess& operator=(const TlsRelayProcess&) = delete;

  // The relay's listening ports, in the order of the backend ports.
  const std::vector<std::uint16_t>& ports() const { return ports_; }
  // Its stdout so far: the listening lines, then a line per finished connection.
  std::string output() const;
  std::string errors() const;  // its stderr so far
  // Waits (at most `timeout`) until at least `count` lines of its stdout contain `needle`: a
  // connection's line comes when the relay is done with it, a moment after our side closed.
  bool wait_for_lines(const std::string& needle, std::size_t count, std::chrono::milliseconds timeout) const;
  // SIGTERM, then waits (5 s) for it to exit: its exit status, or an error when it had to be
  // SIGKILLed or died of a signal. Idempotent.
  Result<int> stop();

 private:
  TlsRelayProcess() = default;
  pid_t pid_ = -1;
  std::string out_file_, err_file_;
  std::vector<std::uint16_t> ports_;
  Result<int> exit_{0};
};

// The lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle);

}  // namespace nvmemp::test
