#include "auth/key_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <isa-l/crc.h>
#include <openssl/evp.h>

#include "common/bytes.h"
#include "common/log.h"

namespace nvmemp::auth {

namespace {
constexpr std::size_t kCrcLen = 4;
constexpr std::size_t kMaxKey = 64;

bool is_b64(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
}  // namespace

std::string_view trim_key_text(std::string_view s) noexcept {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

int key_hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<void> decode_key_with_crc(std::string_view b64, std::initializer_list<std::size_t> key_lengths,
                                 SecretBuf& out) {
  out = SecretBuf();
  auto bad = [](std::string rule) { return make_error(Errc::InvalidArgument, std::move(rule)); };
  // Strict base64: the alphabet, a multiple of 4 characters, '=' padding only at the end.
  std::size_t pad = 0;
  while (pad < 2 && pad < b64.size() && b64[b64.size() - 1 - pad] == '=') ++pad;
  if (b64.empty() || b64.size() % 4 != 0) {
    return bad(fmt::format("the key is {} base64 characters, not a multiple of 4", b64.size()));
  }
  for (std::size_t i = 0; i + pad < b64.size(); ++i) {
    if (!is_b64(b64[i])) return bad(fmt::format("character {} of the key is not base64", i + 1));
  }
  const std::size_t decoded_len = b64.size() / 4 * 3 - pad;
  bool length_ok = false;
  std::string lengths;
  for (std::size_t k : key_lengths) {
    length_ok = length_ok || decoded_len == k + kCrcLen;
    lengths += (lengths.empty() ? "" : ", ") + std::to_string(k);
  }
  if (!length_ok) {
    return bad(fmt::format("the key decodes to {} bytes; it must be a key of {} bytes and a 4-byte CRC",
                           decoded_len, lengths));
  }
  std::array<std::uint8_t, kMaxKey + kCrcLen + 3> buf{};  // EVP_DecodeBlock writes the padding bytes too
  const int n = EVP_DecodeBlock(buf.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < 0 || static_cast<std::size_t>(n) != decoded_len + pad) {
    wipe(buf);
    return bad("the key is not valid base64");
  }
  const std::size_t key_len = decoded_len - kCrcLen;
  const std::uint32_t want = load_le32(Bytes(buf.data(), decoded_len), key_len);
  const std::uint32_t got = crc32_gzip_refl(0, buf.data(), key_len);
  if (want != got) {
    wipe(buf);
    return bad("its CRC-32 does not match the key (a character was changed or lost: copy the key again)");
  }
  out = SecretBuf(Bytes(buf.data(), key_len));
  wipe(buf);
  return {};
}

std::string encode_key_with_crc(std::span<const std::uint8_t> key) {
  std::vector<std::uint8_t> raw(key.begin(), key.end());
  const std::uint32_t crc = crc32_gzip_refl(0, key.data(), key.size());
  for (int i = 0; i < 4; ++i) raw.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
  std::string text(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), raw.data(), static_cast<int>(raw.size()));
  wipe(raw);
  text.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return text;
}

Result<SecretBuf> read_key_file(const std::string& path, std::string_view what, std::string_view kind) {
  constexpr std::size_t kMaxKeyFile = 1024;  // one key line is about 100 bytes
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
  SecretBuf buf(kMaxKeyFile + 1);
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
    return make_error(Errc::InvalidArgument, fmt::format("{}: the key file {} is larger than {} bytes: not a {} key file",
                                                         what, path, kMaxKeyFile, kind));
  }
  SecretBuf out(Bytes(buf.data(), got));
  return out;
}

}  // namespace nvmemp::auth
