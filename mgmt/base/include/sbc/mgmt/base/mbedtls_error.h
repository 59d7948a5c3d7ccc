// mbedTLS's error codes as text for messages, the numeric code kept: the text alone
// is often generic ("X509 - Certificate verification failed"), the code says which.
#pragma once

#include <string>

namespace sbc::mgmt::base {

// "mbedTLS error -0x3d00: PK - Invalid key tag or value".
[[nodiscard]] std::string MbedtlsError(int code);

}  // namespace sbc::mgmt::base
