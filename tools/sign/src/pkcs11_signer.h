// Signing with a key held in a PKCS#11 token (an HSM, a smart card; SoftHSM in tests):
// the key never leaves the token. The token signs a digest with CKM_ECDSA; the public
// key (and so the key id signatures name) is read from the token's public key object
// of the same label. No cryptography of ours: the token signs, mbedTLS encodes.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>

namespace sbc::tools {

struct Pkcs11KeyRef {
  std::string module;     // the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token;      // token label
  std::string key_label;  // CKA_LABEL of the private key and its public key
  std::string pin;        // user PIN
};

class Pkcs11Signer {
 public:
  // Loads the module, finds the token and both key objects, logs in, and reads the
  // public key (ECDSA P-256 or P-384). Returns one line naming what was not found.
  [[nodiscard]] static std::expected<std::unique_ptr<Pkcs11Signer>, std::string> Open(
      const Pkcs11KeyRef& ref);
  ~Pkcs11Signer();
  Pkcs11Signer(const Pkcs11Signer&) = delete;
  Pkcs11Signer& operator=(const Pkcs11Signer&) = delete;

  [[nodiscard]] const std::string& PublicKeyPem() const { return public_key_pem_; }
  [[nodiscard]] const std::string& KeyId() const { return key_id_; }
  // ECDSA over SHA-256 (P-256) or SHA-384 (P-384) of `message`, by the token; DER.
  [[nodiscard]] std::expected<std::string, std::string> Sign(std::string_view message) const;

  // The module, session and key handles; opaque outside pkcs11_signer.cc.
  struct State;

 private:
  explicit Pkcs11Signer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::string public_key_pem_;
  std::string key_id_;
};

}  // namespace sbc::tools
