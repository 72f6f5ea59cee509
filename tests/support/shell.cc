#include "support/shell.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

#include <fmt/format.h>

namespace nvmemp::test {

ShellResult shell(const std::string& cmd, int timeout_s, bool with_stderr) {
  ShellResult r;
  std::string quoted;  // cmd inside single quotes for sh -c
  for (char c : cmd) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  const std::string line =
      fmt::format("timeout {} sh -c '{}' {}", timeout_s, quoted, with_stderr ? "2>&1" : "2>/dev/null");
  FILE* p = ::popen(line.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) r.out += buf.data();
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace nvmemp::test
