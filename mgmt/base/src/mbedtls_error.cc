#include "sbc/mgmt/base/mbedtls_error.h"

#include <mbedtls/error.h>

#include <cstdio>

namespace sbc::mgmt::base {

std::string MbedtlsError(int code) {
  char text[160];
  mbedtls_strerror(code, text, sizeof(text));
  char hex[16];
  std::snprintf(hex, sizeof(hex), "-0x%04x", static_cast<unsigned>(-code));
  return std::string("mbedTLS error ") + hex + ": " + text;
}

}  // namespace sbc::mgmt::base
