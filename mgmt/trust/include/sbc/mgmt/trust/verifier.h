// Verifying signed envelopes against the appliance's trust root.
//
// Fail closed: every check starts from "refuse", and only an envelope that passes
// all of them is returned. Each refusal has its own reason and message.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/mgmt/trust/keys.h"
#include "sbc/schema/trust.pb.h"

namespace sbc::mgmt::trust {

#define SBC_REJECTIONS(X)                    \
  X(kMalformed, "malformed")                 \
  X(kWrongPayloadType, "wrong_payload_type") \
  X(kUnsigned, "unsigned")                   \
  X(kUnknownKey, "unknown_key")              \
  X(kWrongRole, "wrong_role")                \
  X(kBadSignature, "bad_signature")          \
  X(kThresholdNotMet, "threshold_not_met")   \
  X(kWrongEnvironment, "wrong_environment")  \
  X(kWrongSerial, "wrong_serial")            \
  X(kExpired, "expired")                     \
  X(kSchemaInvalid, "schema_invalid")        \
  X(kVersionNotNewer, "version_not_newer")   \
  X(kUnknownVersion, "unknown_version")      \
  X(kNothingPending, "nothing_pending")      \
  X(kStorage, "storage_error")

enum class Rejection {
#define SBC_REJECTION_ENUM(id, name) id,
  SBC_REJECTIONS(SBC_REJECTION_ENUM)
#undef SBC_REJECTION_ENUM
};

[[nodiscard]] std::string_view RejectionName(Rejection reason);

struct TrustError {
  Rejection reason;
  std::string message;  // one line, names what was wrong
};

class Verifier {
 public:
  // Checks the trust root itself: it is for this appliance's environment (a
  // production appliance refuses development and staging roots), every key parses as
  // ECDSA P-256/P-384 and matches its key id, key ids are unique, every role with keys
  // has a threshold between 1 and its number of keys, and CONFIG has one. Any thread.
  [[nodiscard]] static std::expected<Verifier, std::string> Create(
      const schema::TrustRoot& root, const schema::ApplianceIdentity& identity);

  // Parses `envelope_bytes` and checks its signatures: the payload type is
  // `payload_type`; every signature is by a known key of `role` and verifies over the
  // exact payload bytes; at least the role's threshold of distinct keys signed.
  [[nodiscard]] std::expected<schema::SignedEnvelope, TrustError> VerifySignatures(
      std::string_view envelope_bytes, std::string_view payload_type, schema::KeyRole role) const;

  // A config bundle: signatures (CONFIG role), then the payload's meta (environment,
  // target serial, expiry at `now_unix`) and the config's schema validation.
  // `check_expiry` is false only for re-applying an already-accepted bundle.
  [[nodiscard]] std::expected<schema::ConfigBundle, TrustError> VerifyConfigBundle(
      std::string_view envelope_bytes, int64_t now_unix, bool check_expiry = true) const;

  // A downgrade authorisation: signatures (CONFIG role), environment, serial, expiry.
  [[nodiscard]] std::expected<schema::DowngradeAuthorization, TrustError> VerifyDowngrade(
      std::string_view envelope_bytes, int64_t now_unix) const;

  const schema::ApplianceIdentity& identity() const { return identity_; }

 private:
  struct Key {
    PublicKey key;
    schema::KeyRole role;
  };
  Verifier() = default;
  [[nodiscard]] std::expected<void, TrustError> CheckMeta(const schema::PayloadMeta& meta,
                                                          int64_t now_unix,
                                                          bool check_expiry) const;

  schema::ApplianceIdentity identity_;
  std::map<std::string, Key> keys_;     // by key id
  std::map<int, uint32_t> thresholds_;  // by KeyRole
};

}  // namespace sbc::mgmt::trust
