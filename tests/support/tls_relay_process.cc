#include "support/tls_relay_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace nvmemp::test {

namespace {

using RelayClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string read_whole(const std::string& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The port of each "listening 127.0.0.1:NNNNN -> ..." line, in order.
std::vector<std::uint16_t> listening_ports(const std::string& out) {
  std::vector<std::uint16_t> ports;
  for (const auto& line : lines_with(out, "listening ")) {
    if (line.rfind("listening ", 0) != 0) continue;
    const std::size_t arrow = line.find(" -> ");
    const std::size_t colon = line.rfind(':', arrow);
    if (arrow == std::string::npos || colon == std::string::npos) continue;
    ports.push_back(static_cast<std::uint16_t>(std::atoi(line.substr(colon + 1, arrow - colon - 1).c_str())));
  }
  return ports;
}

}  // namespace

PrivateDir::PrivateDir(const std::string& prefix) {
  static int instance = 0;
  path_ = fmt::format("/tmp/{}-{}-{}", prefix, ::getpid(), instance++);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  std::filesystem::create_directories(path_);
  ::chmod(path_.c_str(), 0700);
}

PrivateDir::~PrivateDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string PrivateDir::write_file(const std::string& name, const std::string& text) const {
  const std::string file = path_ + "/" + name;
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    (void)n;
    ::close(fd);
  }
  return file;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

Result<std::unique_ptr<TlsRelayProcess>> TlsRelayProcess::start(const std::string& binary,
                                                                const std::vector<std::uint16_t>& backend_ports,
                                                                const std::string& psk_file,
                                                                const std::string& workdir) {
  std::unique_ptr<TlsRelayProcess> r(new TlsRelayProcess());
  r->out_file_ = workdir + "/relay.out";
  r->err_file_ = workdir + "/relay.err";
  std::vector<std::string> args = {binary, "--psk-file", psk_file, "--log"};
  for (const auto port : backend_ports) {
    args.push_back("--listen");
    args.push_back(fmt::format("127.0.0.1:0=127.0.0.1:{}", port));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  r->pid_ = ::fork();
  if (r->pid_ < 0) return make_error(Errc::Io, "fork failed");
  if (r->pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    const int out = ::open(r->out_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(r->err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) ::_exit(125);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  for (const auto until = RelayClock::now() + 5s; RelayClock::now() < until;) {
    r->ports_ = listening_ports(r->output());
    if (r->ports_.size() == backend_ports.size()) return r;
    int status = 0;
    if (::waitpid(r->pid_, &status, WNOHANG) == r->pid_) {
      r->pid_ = -1;
      return make_error(Errc::Io, fmt::format("{} exited ({}) before listening: {}", binary,
                                              WIFEXITED(status) ? WEXITSTATUS(status) : -1, r->errors()));
    }
    std::this_thread::sleep_for(10ms);
  }
  return make_error(Errc::Timeout, fmt::format("{} printed no listening lines within 5 s: {}", binary, r->errors()));
}

TlsRelayProcess::~TlsRelayProcess() { (void)stop(); }

std::string TlsRelayProcess::output() const { return read_whole(out_file_); }
std::string TlsRelayProcess::errors() const { return read_whole(err_file_); }

bool TlsRelayProcess::wait_for_lines(const std::string& needle, std::size_t count,
                                     std::chrono::milliseconds timeout) const {
  for (const auto until = RelayClock::now() + timeout;; std::this_thread::sleep_for(10ms)) {
    if (lines_with(output(), needle).size() >= count) return true;
    if (RelayClock::now() >= until) return false;
  }
}

Result<int> TlsRelayProcess::stop() {
  if (pid_ <= 0) return exit_;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (const auto until = RelayClock::now() + 5s; RelayClock::now() < until;) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) {
        exit_ = WEXITSTATUS(status);
      } else {
        exit_ = make_error(Errc::Io, fmt::format("the relay died of signal {}", WTERMSIG(status)));
      }
      return exit_;
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  exit_ = make_error(Errc::Timeout, "the relay did not exit within 5 s of SIGTERM (SIGKILLed)");
  return exit_;
}

}  // namespace nvmemp::test
