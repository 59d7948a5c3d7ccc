// Building and signing envelopes (the signer's side: sbc-sign and tests).
#pragma once

#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "sbc/mgmt/trust/keys.h"
#include "sbc/schema/trust.pb.h"

namespace sbc::mgmt::trust {

inline constexpr std::string_view kConfigBundleType =
    "application/vnd.sbc.config-bundle.v1+protobuf";
inline constexpr std::string_view kDowngradeType = "application/vnd.sbc.downgrade.v1+protobuf";

// DSSE v1 pre-authentication encoding: what every signature covers. Binding the type
// stops a signed payload of one kind being replayed as another.
//   "DSSEv1" SP len(type) SP type SP len(payload) SP payload
[[nodiscard]] std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload);

// An unsigned envelope around `payload` (exact bytes).
[[nodiscard]] schema::SignedEnvelope MakeEnvelope(std::string_view payload_type,
                                                  std::string payload);

// Adds `key`'s signature over the envelope's PAE. Refuses a second signature by the
// same key. The payload bytes are never touched.
[[nodiscard]] std::expected<void, std::string> AddSignature(schema::SignedEnvelope& envelope,
                                                            const PrivateKey& key);

// Adds a signature made elsewhere (a PKCS#11 token): `sign` is given the PAE and returns
// a DER ECDSA signature, which must verify with `public_key` (the key `sign` claims to
// use) before it is added. Refuses a second signature by the same key.
using SignFunction = std::function<std::expected<std::string, std::string>(std::string_view)>;
[[nodiscard]] std::expected<void, std::string> AddSignature(schema::SignedEnvelope& envelope,
                                                            const PublicKey& public_key,
                                                            const SignFunction& sign);

}  // namespace sbc::mgmt::trust
