// SHA-256 through mbedTLS, over bytes in memory or a file read in pieces.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace sbc::mgmt::image {

// The 32-byte digest of `bytes`.
[[nodiscard]] std::string Sha256(std::string_view bytes);

// The digest and size of an open file descriptor's contents from its current offset.
struct FileDigest {
  std::string sha256;
  uint64_t size = 0;
};
[[nodiscard]] std::expected<FileDigest, std::string> Sha256OfFd(int fd);

}  // namespace sbc::mgmt::image
