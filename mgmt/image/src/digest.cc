#include "sbc/mgmt/image/digest.h"

#include <mbedtls/sha256.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace sbc::mgmt::image {
namespace {

// mbedtls_sha256_context freed on every path.
class Sha256Context {
 public:
  Sha256Context() {
    mbedtls_sha256_init(&ctx_);
    mbedtls_sha256_starts_ret(&ctx_, /*is224=*/0);
  }
  ~Sha256Context() { mbedtls_sha256_free(&ctx_); }
  Sha256Context(const Sha256Context&) = delete;
  Sha256Context& operator=(const Sha256Context&) = delete;

  void Update(const void* data, size_t size) {
    mbedtls_sha256_update_ret(&ctx_, static_cast<const unsigned char*>(data), size);
  }
  std::string Finish() {
    std::array<unsigned char, 32> digest{};
    mbedtls_sha256_finish_ret(&ctx_, digest.data());
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
  }

 private:
  mbedtls_sha256_context ctx_;
};

}  // namespace

std::string Sha256(std::string_view bytes) {
  Sha256Context ctx;
  ctx.Update(bytes.data(), bytes.size());
  return ctx.Finish();
}

std::expected<FileDigest, std::string> Sha256OfFd(int fd) {
  Sha256Context ctx;
  FileDigest result;
  std::array<char, size_t{64} * 1024> buffer{};
  for (;;) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(std::string("read failed: ") + std::strerror(errno));
    }
    ctx.Update(buffer.data(), static_cast<size_t>(n));
    result.size += static_cast<uint64_t>(n);
  }
  result.sha256 = ctx.Finish();
  return result;
}

}  // namespace sbc::mgmt::image
