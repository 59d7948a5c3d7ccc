// sbcctl's media leg syntax: "interface=wan0,remote=203.0.113.5:4000,
// suite=AES_CM_128_HMAC_SHA1_80,key=BASE64,mux,clock=8000". Keys travel as base64 of
// master key || salt, as SDES (RFC 4568) inline keys do.
#pragma once

#include <expected>
#include <string>

#include "sbc/schema/control.pb.h"

namespace sbc::tools {

[[nodiscard]] std::expected<schema::MediaLeg, std::string> ParseLeg(const std::string& text);
[[nodiscard]] std::string Base64(const std::string& bytes);

}  // namespace sbc::tools
