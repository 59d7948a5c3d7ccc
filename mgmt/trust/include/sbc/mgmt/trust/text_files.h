// The appliance's trust files, kept on its key store as text format.
#pragma once

#include <expected>
#include <filesystem>
#include <string>

#include "sbc/mgmt/trust/verifier.h"

namespace sbc::mgmt::trust {

inline constexpr char kTrustRootFile[] = "trust-root.textproto";
inline constexpr char kIdentityFile[] = "identity.textproto";

// Reads trust-root.textproto and identity.textproto from `key_store` and builds the
// verifier. Returns one line naming the file and problem. Any thread.
[[nodiscard]] std::expected<Verifier, std::string> LoadVerifier(
    const std::filesystem::path& key_store);

}  // namespace sbc::mgmt::trust
