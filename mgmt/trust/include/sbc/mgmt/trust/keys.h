// ECDSA signing keys (P-256, P-384) through mbedTLS: generate, load, sign, verify.
// No cryptography is implemented here; this wraps mbedTLS with typed errors that keep
// mbedTLS's code and text.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace sbc::mgmt::trust {

enum class Curve { kP256, kP384 };

class PublicKey;

// A private key. Holds mbedTLS state; move-only.
class PrivateKey {
 public:
  // New random key on `curve` (mbedTLS CTR-DRBG seeded from the OS entropy source).
  [[nodiscard]] static std::expected<PrivateKey, std::string> Generate(Curve curve);
  // Reads a PEM private key. Refuses a file that its group or others may read or
  // write (as ssh does), naming the file and its mode.
  [[nodiscard]] static std::expected<PrivateKey, std::string> Load(
      const std::filesystem::path& file);

  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  ~PrivateKey();

  // Writes the key as PEM to a new file created with mode 0600; refuses to
  // overwrite an existing file.
  [[nodiscard]] std::expected<void, std::string> Save(const std::filesystem::path& file) const;
  [[nodiscard]] std::string PublicKeyPem() const;
  [[nodiscard]] std::string KeyId() const;
  // ECDSA over SHA-256 (P-256) or SHA-384 (P-384) of `message`; DER signature.
  [[nodiscard]] std::expected<std::string, std::string> Sign(std::string_view message) const;

 private:
  struct State;
  explicit PrivateKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class PublicKey {
 public:
  // Parses a PEM public key; only ECDSA P-256 and P-384 are accepted.
  [[nodiscard]] static std::expected<PublicKey, std::string> Parse(std::string_view pem);

  PublicKey(PublicKey&&) noexcept;
  PublicKey& operator=(PublicKey&&) noexcept;
  ~PublicKey();

  // Hex SHA-256 of the key's DER SubjectPublicKeyInfo: what signatures name.
  [[nodiscard]] const std::string& KeyId() const;
  // True only if `sig` is a valid signature of `message` by this key.
  [[nodiscard]] bool Verify(std::string_view message, std::string_view sig) const;

 private:
  struct State;
  explicit PublicKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sbc::mgmt::trust
