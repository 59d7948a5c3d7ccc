#include "sbc/mgmt/trust/verifier.h"

#include <array>
#include <set>

#include "sbc/mgmt/config/validate.h"
#include "sbc/mgmt/trust/envelope.h"

namespace sbc::mgmt::trust {
namespace {

constexpr std::array<std::string_view, 15> kRejectionNames = {
#define SBC_REJECTION_NAME(id, name) name,
    SBC_REJECTIONS(SBC_REJECTION_NAME)
#undef SBC_REJECTION_NAME
};

std::unexpected<TrustError> Refuse(Rejection reason, std::string message) {
  return std::unexpected(TrustError{reason, std::move(message)});
}

std::string Short(const std::string& key_id) { return key_id.substr(0, 16); }

}  // namespace

std::string_view RejectionName(Rejection reason) {
  return kRejectionNames[static_cast<size_t>(reason)];
}

std::expected<Verifier, std::string> Verifier::Create(const schema::TrustRoot& root,
                                                      const schema::ApplianceIdentity& identity) {
  if (identity.environment() == schema::ENVIRONMENT_UNSPECIFIED)
    return std::unexpected(std::string("appliance identity has no environment"));
  if (root.environment() != identity.environment())
    return std::unexpected("trust root is for " + schema::Environment_Name(root.environment()) +
                           ", this appliance is " +
                           schema::Environment_Name(identity.environment()));
  Verifier verifier;
  verifier.identity_ = identity;
  std::map<int, uint32_t> keys_per_role;
  for (int i = 0; i < root.keys_size(); ++i) {
    const schema::TrustedKey& trusted = root.keys(i);
    const std::string at = "trust root keys[" + std::to_string(i) + "]";
    auto key = PublicKey::Parse(trusted.public_key_pem());
    if (!key) return std::unexpected(at + ": " + key.error());
    if (key->KeyId() != trusted.key_id())
      return std::unexpected(at + ": key_id " + trusted.key_id() + " does not match the key (" +
                             key->KeyId() + ")");
    if (trusted.role() == schema::KEY_ROLE_UNSPECIFIED)
      return std::unexpected(at + ": has no role");
    if (verifier.keys_.contains(trusted.key_id()))
      return std::unexpected(at + ": key " + Short(trusted.key_id()) + " is listed twice");
    ++keys_per_role[trusted.role()];
    verifier.keys_.emplace(trusted.key_id(), Key{std::move(*key), trusted.role()});
  }
  for (const schema::RoleThreshold& t : root.thresholds()) {
    const std::string role = schema::KeyRole_Name(t.role());
    if (t.threshold() < 1 || t.threshold() > keys_per_role[t.role()])
      return std::unexpected("trust root: threshold " + std::to_string(t.threshold()) + " for " +
                             role + " is outside 1.." + std::to_string(keys_per_role[t.role()]) +
                             " (its number of keys)");
    verifier.thresholds_[t.role()] = t.threshold();
  }
  if (!verifier.thresholds_.contains(schema::CONFIG))
    return std::unexpected(std::string("trust root: no threshold for role CONFIG"));
  return verifier;
}

std::expected<schema::SignedEnvelope, TrustError> Verifier::VerifySignatures(
    std::string_view envelope_bytes, std::string_view payload_type, schema::KeyRole role) const {
  schema::SignedEnvelope envelope;
  if (envelope_bytes.empty() ||
      !envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size())))
    return Refuse(Rejection::kMalformed, "not a signed envelope (truncated or garbage bytes)");
  if (envelope.payload_type() != payload_type)
    return Refuse(Rejection::kWrongPayloadType, "payload type is \"" + envelope.payload_type() +
                                                    "\", expected \"" + std::string(payload_type) +
                                                    "\"");
  if (envelope.signatures().empty())
    return Refuse(Rejection::kUnsigned, "envelope has no signatures");

  const std::string pae = PreAuthEncoding(envelope.payload_type(), envelope.payload());
  std::set<std::string> valid_signers;
  for (const schema::Signature& sig : envelope.signatures()) {
    const auto it = keys_.find(sig.key_id());
    if (it == keys_.end())
      return Refuse(Rejection::kUnknownKey, "signature by key " + Short(sig.key_id()) +
                                                " which the trust root does not list");
    if (it->second.role != role)
      return Refuse(Rejection::kWrongRole, "key " + Short(sig.key_id()) + " has role " +
                                               schema::KeyRole_Name(it->second.role) + ", not " +
                                               schema::KeyRole_Name(role));
    if (!it->second.key.Verify(pae, sig.sig()))
      return Refuse(Rejection::kBadSignature,
                    "signature by key " + Short(sig.key_id()) + " does not verify");
    valid_signers.insert(sig.key_id());
  }
  const auto threshold = thresholds_.find(role);
  const uint32_t needed = threshold == thresholds_.end() ? UINT32_MAX : threshold->second;
  if (valid_signers.size() < needed)
    return Refuse(Rejection::kThresholdNotMet,
                  "signed by " + std::to_string(valid_signers.size()) + " " +
                      schema::KeyRole_Name(role) + " key(s), the trust root requires " +
                      (needed == UINT32_MAX ? std::string("a threshold it does not set")
                                            : std::to_string(needed)));
  return envelope;
}

std::expected<void, TrustError> Verifier::CheckMeta(const schema::PayloadMeta& meta,
                                                    int64_t now_unix, bool check_expiry) const {
  if (meta.environment() != identity_.environment())
    return Refuse(Rejection::kWrongEnvironment,
                  "signed for " + schema::Environment_Name(meta.environment()) +
                      ", this appliance is " + schema::Environment_Name(identity_.environment()));
  if (!meta.target_serial().empty() && meta.target_serial() != identity_.serial())
    return Refuse(Rejection::kWrongSerial, "signed for appliance " + meta.target_serial() +
                                               ", this is " + identity_.serial());
  if (check_expiry && meta.expires_unix() <= now_unix)
    return Refuse(Rejection::kExpired,
                  meta.expires_unix() == 0
                      ? std::string("has no expiry time; signed payloads must expire")
                      : "expired at unix time " + std::to_string(meta.expires_unix()) + " (now " +
                            std::to_string(now_unix) + ")");
  return {};
}

std::expected<schema::ConfigBundle, TrustError> Verifier::VerifyConfigBundle(
    std::string_view envelope_bytes, int64_t now_unix, bool check_expiry) const {
  auto envelope = VerifySignatures(envelope_bytes, kConfigBundleType, schema::CONFIG);
  if (!envelope) return std::unexpected(envelope.error());
  schema::ConfigBundle bundle;
  if (!bundle.ParseFromString(envelope->payload()) || !bundle.has_meta())
    return Refuse(Rejection::kMalformed, "signed payload is not a config bundle");
  if (bundle.meta().version() == 0)
    return Refuse(Rejection::kMalformed, "config bundle has version 0; versions start at 1");
  if (auto ok = CheckMeta(bundle.meta(), now_unix, check_expiry); !ok)
    return std::unexpected(ok.error());
  if (auto errors = config::ValidateConfig(bundle.config()); !errors.empty()) {
    std::string message = "config is invalid: " + errors.front();
    if (errors.size() > 1) message += " (and " + std::to_string(errors.size() - 1) + " more)";
    return Refuse(Rejection::kSchemaInvalid, message);
  }
  return bundle;
}

std::expected<schema::DowngradeAuthorization, TrustError> Verifier::VerifyDowngrade(
    std::string_view envelope_bytes, int64_t now_unix) const {
  auto envelope = VerifySignatures(envelope_bytes, kDowngradeType, schema::CONFIG);
  if (!envelope) return std::unexpected(envelope.error());
  schema::DowngradeAuthorization auth;
  if (!auth.ParseFromString(envelope->payload()) || !auth.has_meta())
    return Refuse(Rejection::kMalformed, "signed payload is not a downgrade authorisation");
  if (auto ok = CheckMeta(auth.meta(), now_unix, true); !ok) return std::unexpected(ok.error());
  return auth;
}

}  // namespace sbc::mgmt::trust
