// sbcctl's media leg syntax: "interface=wan0,remote=203.0.113.5:4000,
// suite=AES_CM_128_HMAC_SHA1_80,keyfile=PATH,mux,clock=8000" (updates: also "newkey"). Keys
// travel as base64 of master key || salt, as SDES (RFC 4568) inline keys do: from a file
// (keyfile=PATH, its first line), from stdin (key=-), or inline (key=BASE64, with a
// warning: the command line is visible to every user of the machine).
#pragma once

#include <expected>
#include <string>

#include "sbc/schema/control.pb.h"

namespace sbc::tools {

// Create: interface= is required, and suite= and key= go together. Update: the leg
// as a re-offer has it; interface= may be left out (it cannot change), key= may be
// left out while the suite stays, and "newkey" asks for a new key of ours.
enum class LegFor { kCreate, kUpdate };
[[nodiscard]] std::expected<schema::MediaLeg, std::string> ParseLeg(
    const std::string& text, LegFor use = LegFor::kCreate,
    bool warn_about_command_line_keys = true);
[[nodiscard]] std::string Base64(const std::string& bytes);

}  // namespace sbc::tools
