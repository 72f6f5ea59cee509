// The library API's DhchapKey (nvmemp/mpath.h): parsing from text and from a file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "auth/dhchap_key_impl.h"
#include "auth/secret_buf.h"
#include "common/log.h"

namespace nvmemp {

namespace {
// A key file holds one "DHHC-1:XX:<base64 of up to 68 bytes>:" line: about 100 bytes.
constexpr std::size_t kMaxKeyFile = 1024;
}  // namespace

std::string DhchapKey::describe() const {
  if (!impl_) return "none";
  return fmt::format("DHHC-1:{:02}", static_cast<unsigned>(impl_->secret.transform));
}

Result<DhchapKey> parse_dhchap_key(std::string_view text, std::string_view what) {
  auto s = auth::parse_dhchap_secret(text, what);
  if (!s) return tl::unexpected(s.error());
  if (s->length_mismatch) {
    log(LogLevel::Warn,
        "{}: a {}-byte key with transform {} (DHHC-1:{:02}): Linux targets before 6.7 reject a key whose length is not "
        "its hash's digest length",
        what, s->key.size(), auth::hash_name(s->transform), static_cast<unsigned>(s->transform));
  }
  auto impl = std::make_shared<DhchapKey::Impl>();
  impl->secret = std::move(*s);
  return DhchapKey(std::move(impl));
}

Result<DhchapKey> read_dhchap_key_file(const std::string& path, std::string_view what) {
  // O_NONBLOCK: a FIFO named by mistake must not hang the caller (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    return make_error(errno == ENOENT ? Errc::NotFound : Errc::Io,
                      fmt::format("{}: cannot open the key file {}: {}", what, path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(Errc::InvalidArgument, fmt::format("{}: {} is not a regular file", what, path));
  }
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    log(LogLevel::Warn, "{}: the key file {} is readable by {} (mode {:04o}): chmod 600 it", what, path,
        (st.st_mode & S_IROTH) != 0 ? "every user" : "its group", st.st_mode & 07777);
  }
  auth::SecretBuf buf(kMaxKeyFile + 1);
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return make_error(Errc::Io, fmt::format("{}: reading the key file {}: {}", what, path, std::strerror(e)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got > kMaxKeyFile) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: the key file {} is larger than {} bytes: not a DHHC-1 key file", what, path,
                                  kMaxKeyFile));
  }
  const std::string where = fmt::format("{} (file {})", what, path);
  return parse_dhchap_key(std::string_view(reinterpret_cast<const char*>(buf.data()), got), where);
}

}  // namespace nvmemp
