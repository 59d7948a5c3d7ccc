#include "sbc/mgmt/trust/envelope.h"

namespace sbc::mgmt::trust {

std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload) {
  std::string pae = "DSSEv1 ";
  pae += std::to_string(payload_type.size());
  pae += ' ';
  pae += payload_type;
  pae += ' ';
  pae += std::to_string(payload.size());
  pae += ' ';
  pae += payload;
  return pae;
}

schema::SignedEnvelope MakeEnvelope(std::string_view payload_type, std::string payload) {
  schema::SignedEnvelope envelope;
  envelope.set_payload_type(std::string(payload_type));
  envelope.set_payload(std::move(payload));
  return envelope;
}

std::expected<void, std::string> AddSignature(schema::SignedEnvelope& envelope,
                                              const PrivateKey& key) {
  const std::string key_id = key.KeyId();
  for (const auto& existing : envelope.signatures())
    if (existing.key_id() == key_id) return std::unexpected("already signed by key " + key_id);
  auto sig = key.Sign(PreAuthEncoding(envelope.payload_type(), envelope.payload()));
  if (!sig) return std::unexpected(sig.error());
  schema::Signature* added = envelope.add_signatures();
  added->set_key_id(key_id);
  added->set_sig(std::move(*sig));
  return {};
}

std::expected<void, std::string> AddSignature(schema::SignedEnvelope& envelope,
                                              const PublicKey& public_key,
                                              const SignFunction& sign) {
  const std::string& key_id = public_key.KeyId();
  for (const auto& existing : envelope.signatures())
    if (existing.key_id() == key_id) return std::unexpected("already signed by key " + key_id);
  const std::string pae = PreAuthEncoding(envelope.payload_type(), envelope.payload());
  auto sig = sign(pae);
  if (!sig) return std::unexpected(sig.error());
  // A signer that used another key than it claims would add a signature no appliance
  // accepts, or worse, one under the wrong name: check it here, once.
  if (!public_key.Verify(pae, *sig))
    return std::unexpected("the signature does not verify with key " + key_id);
  schema::Signature* added = envelope.add_signatures();
  added->set_key_id(key_id);
  added->set_sig(std::move(*sig));
  return {};
}

}  // namespace sbc::mgmt::trust
