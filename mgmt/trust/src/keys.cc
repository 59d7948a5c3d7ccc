#include "sbc/mgmt/trust/keys.h"

#include <fcntl.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sbc/mgmt/base/drbg.h"
#include "sbc/mgmt/base/mbedtls_error.h"

namespace sbc::mgmt::trust {
namespace {

// A DRBG seeded for one operation: signing and key generation are rare.
constexpr std::string_view kDrbgPersonalisation = "sbc-trust";

struct Pk {
  Pk() { mbedtls_pk_init(&ctx); }
  ~Pk() { mbedtls_pk_free(&ctx); }
  Pk(const Pk&) = delete;
  Pk& operator=(const Pk&) = delete;
  mbedtls_pk_context ctx;
};

std::string Hex(const unsigned char* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

// The curve's own digest: SHA-256 for P-256, SHA-384 for P-384.
mbedtls_md_type_t DigestFor(const mbedtls_pk_context& pk) {
  return mbedtls_pk_ec(pk)->grp.id == MBEDTLS_ECP_DP_SECP384R1 ? MBEDTLS_MD_SHA384
                                                               : MBEDTLS_MD_SHA256;
}

std::expected<std::vector<unsigned char>, std::string> Digest(const mbedtls_pk_context& pk,
                                                              std::string_view message) {
  const mbedtls_md_info_t* md = mbedtls_md_info_from_type(DigestFor(pk));
  std::vector<unsigned char> hash(mbedtls_md_get_size(md));
  if (int ret = mbedtls_md(md, reinterpret_cast<const unsigned char*>(message.data()),
                           message.size(), hash.data());
      ret != 0)
    return std::unexpected("cannot hash: " + base::MbedtlsError(ret));
  return hash;
}

std::string KeyIdOf(mbedtls_pk_context& pk) {
  // mbedtls_pk_write_pubkey_der writes at the end of the buffer.
  unsigned char der[512];
  const int len = mbedtls_pk_write_pubkey_der(&pk, der, sizeof(der));
  if (len <= 0) return "";
  unsigned char hash[32];
  mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), der + sizeof(der) - len,
             static_cast<size_t>(len), hash);
  return Hex(hash, sizeof(hash));
}

// Only ECDSA keys on the two curves the trust model allows.
std::expected<void, std::string> CheckCurve(const mbedtls_pk_context& pk) {
  if (!mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA))
    return std::unexpected(std::string("not an ECDSA key"));
  const mbedtls_ecp_group_id id = mbedtls_pk_ec(pk)->grp.id;
  if (id != MBEDTLS_ECP_DP_SECP256R1 && id != MBEDTLS_ECP_DP_SECP384R1)
    return std::unexpected(std::string("ECDSA key on a curve other than P-256 or P-384"));
  return {};
}

}  // namespace

struct PrivateKey::State {
  Pk pk;
};

PrivateKey::PrivateKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;
PrivateKey::~PrivateKey() = default;

std::expected<PrivateKey, std::string> PrivateKey::Generate(Curve curve) {
  base::Drbg random(kDrbgPersonalisation);
  if (!random.ok())
    return std::unexpected("cannot seed the random generator: " +
                           base::MbedtlsError(random.seed_result()));
  auto state = std::make_unique<State>();
  int ret = mbedtls_pk_setup(&state->pk.ctx, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (ret == 0)
    ret = mbedtls_ecp_gen_key(
        curve == Curve::kP384 ? MBEDTLS_ECP_DP_SECP384R1 : MBEDTLS_ECP_DP_SECP256R1,
        mbedtls_pk_ec(state->pk.ctx), base::Drbg::Draw, random.context());
  if (ret != 0) return std::unexpected("cannot generate key: " + base::MbedtlsError(ret));
  return PrivateKey(std::move(state));
}

std::expected<PrivateKey, std::string> PrivateKey::Load(const std::filesystem::path& file) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0)
    return std::unexpected("key " + file.string() + ": no such file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return std::unexpected("key " + file.string() + ": mode " + mode +
                           " lets others read it; refusing (chmod 600 it)");
  }
  auto state = std::make_unique<State>();
  if (int ret = mbedtls_pk_parse_keyfile(&state->pk.ctx, file.c_str(), nullptr); ret != 0)
    return std::unexpected("key " + file.string() + ": " + base::MbedtlsError(ret));
  if (auto ok = CheckCurve(state->pk.ctx); !ok)
    return std::unexpected("key " + file.string() + ": " + ok.error());
  return PrivateKey(std::move(state));
}

std::expected<void, std::string> PrivateKey::Save(const std::filesystem::path& file) const {
  unsigned char pem[4096];
  if (int ret = mbedtls_pk_write_key_pem(&state_->pk.ctx, pem, sizeof(pem)); ret != 0)
    return std::unexpected("cannot encode key: " + base::MbedtlsError(ret));
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return std::unexpected("key " + file.string() + ": cannot create (" + std::strerror(errno) +
                           ")");
  const size_t len = std::strlen(reinterpret_cast<const char*>(pem));
  const bool written = write(fd, pem, len) == static_cast<ssize_t>(len) && fsync(fd) == 0;
  mbedtls_platform_zeroize(pem, sizeof(pem));
  close(fd);
  if (!written) return std::unexpected("key " + file.string() + ": write failed");
  return {};
}

std::string PrivateKey::PublicKeyPem() const {
  unsigned char pem[1024];
  if (mbedtls_pk_write_pubkey_pem(&state_->pk.ctx, pem, sizeof(pem)) != 0) return "";
  return reinterpret_cast<const char*>(pem);
}

std::string PrivateKey::KeyId() const { return KeyIdOf(state_->pk.ctx); }

std::expected<std::string, std::string> PrivateKey::Sign(std::string_view message) const {
  auto hash = Digest(state_->pk.ctx, message);
  if (!hash) return std::unexpected(hash.error());
  base::Drbg random(kDrbgPersonalisation);
  if (!random.ok())
    return std::unexpected("cannot seed the random generator: " +
                           base::MbedtlsError(random.seed_result()));
  unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  size_t sig_len = 0;
  if (int ret = mbedtls_pk_sign(&state_->pk.ctx, DigestFor(state_->pk.ctx), hash->data(),
                                hash->size(), sig, &sig_len, base::Drbg::Draw, random.context());
      ret != 0)
    return std::unexpected("cannot sign: " + base::MbedtlsError(ret));
  return std::string(reinterpret_cast<const char*>(sig), sig_len);
}

struct PublicKey::State {
  Pk pk;
  std::string key_id;
};

PublicKey::PublicKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
PublicKey::PublicKey(PublicKey&&) noexcept = default;
PublicKey& PublicKey::operator=(PublicKey&&) noexcept = default;
PublicKey::~PublicKey() = default;

std::expected<PublicKey, std::string> PublicKey::Parse(std::string_view pem) {
  auto state = std::make_unique<State>();
  // mbedTLS wants PEM input NUL-terminated, with the NUL counted in the length.
  const std::string text(pem);
  if (int ret = mbedtls_pk_parse_public_key(
          &state->pk.ctx, reinterpret_cast<const unsigned char*>(text.c_str()), text.size() + 1);
      ret != 0)
    return std::unexpected("public key: " + base::MbedtlsError(ret));
  if (auto ok = CheckCurve(state->pk.ctx); !ok) return std::unexpected("public key: " + ok.error());
  state->key_id = KeyIdOf(state->pk.ctx);
  return PublicKey(std::move(state));
}

const std::string& PublicKey::KeyId() const { return state_->key_id; }

bool PublicKey::Verify(std::string_view message, std::string_view sig) const {
  auto hash = Digest(state_->pk.ctx, message);
  if (!hash) return false;
  return mbedtls_pk_verify(&state_->pk.ctx, DigestFor(state_->pk.ctx), hash->data(), hash->size(),
                           reinterpret_cast<const unsigned char*>(sig.data()), sig.size()) == 0;
}

}  // namespace sbc::mgmt::trust
