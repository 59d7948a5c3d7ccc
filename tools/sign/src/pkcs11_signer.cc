#include "pkcs11_signer.h"

#include <dlfcn.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <p11-kit/pkcs11.h>

#include <array>
#include <vector>

#include "sbc/mgmt/trust/keys.h"

namespace sbc::tools {

struct Pkcs11Signer::State {
  void* library = nullptr;
  CK_FUNCTION_LIST_PTR p11 = nullptr;
  bool initialized = false;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  size_t field_bytes = 0;  // 32 for P-256, 48 for P-384

  ~State() {
    if (session != CK_INVALID_HANDLE) {
      p11->C_Logout(session);
      p11->C_CloseSession(session);
    }
    if (initialized) p11->C_Finalize(nullptr);
    if (library != nullptr) dlclose(library);
  }
};

namespace {

using State = Pkcs11Signer::State;

std::string Rv(const char* call, CK_RV rv) {
  char text[64];
  std::snprintf(text, sizeof text, "%s failed: CKR 0x%lx", call, static_cast<unsigned long>(rv));
  return text;
}

// A token label as PKCS#11 stores it: 32 bytes padded with spaces.
std::string TrimLabel(const unsigned char* label, size_t size) {
  std::string text(reinterpret_cast<const char*>(label), size);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::expected<CK_OBJECT_HANDLE, std::string> FindObject(const State& state, CK_OBJECT_CLASS klass,
                                                        const std::string& label) {
  CK_ATTRIBUTE query[] = {
      {CKA_CLASS, &klass, sizeof klass},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
  if (CK_RV rv = state.p11->C_FindObjectsInit(state.session, query, 2); rv != CKR_OK)
    return std::unexpected(Rv("C_FindObjectsInit", rv));
  std::array<CK_OBJECT_HANDLE, 2> found{};
  CK_ULONG count = 0;
  const CK_RV rv = state.p11->C_FindObjects(state.session, found.data(), found.size(), &count);
  state.p11->C_FindObjectsFinal(state.session);
  if (rv != CKR_OK) return std::unexpected(Rv("C_FindObjects", rv));
  const char* what = klass == CKO_PRIVATE_KEY ? "private key" : "public key";
  if (count == 0) return std::unexpected(std::string("no ") + what + " labelled \"" + label + "\"");
  if (count > 1)
    return std::unexpected(std::string("more than one ") + what + " labelled \"" + label + "\"");
  return found[0];
}

std::expected<std::vector<unsigned char>, std::string> Attribute(const State& state,
                                                                 CK_OBJECT_HANDLE object,
                                                                 CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute = {type, nullptr, 0};
  if (CK_RV rv = state.p11->C_GetAttributeValue(state.session, object, &attribute, 1); rv != CKR_OK)
    return std::unexpected(Rv("C_GetAttributeValue", rv));
  std::vector<unsigned char> value(attribute.ulValueLen);
  attribute.pValue = value.data();
  if (CK_RV rv = state.p11->C_GetAttributeValue(state.session, object, &attribute, 1); rv != CKR_OK)
    return std::unexpected(Rv("C_GetAttributeValue", rv));
  return value;
}

// The PEM SubjectPublicKeyInfo of an EC public key object (CKA_EC_PARAMS, CKA_EC_POINT).
std::expected<std::string, std::string> PublicKeyPemOf(State& state, CK_OBJECT_HANDLE object) {
  auto params = Attribute(state, object, CKA_EC_PARAMS);
  if (!params) return std::unexpected(params.error());
  auto point = Attribute(state, object, CKA_EC_POINT);
  if (!point) return std::unexpected(point.error());
  static constexpr std::array<unsigned char, 10> kP256 = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                                          0xce, 0x3d, 0x03, 0x01, 0x07};
  static constexpr std::array<unsigned char, 7> kP384 = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
  mbedtls_ecp_group_id group;
  if (std::equal(params->begin(), params->end(), kP256.begin(), kP256.end())) {
    group = MBEDTLS_ECP_DP_SECP256R1;
    state.field_bytes = 32;
  } else if (std::equal(params->begin(), params->end(), kP384.begin(), kP384.end())) {
    group = MBEDTLS_ECP_DP_SECP384R1;
    state.field_bytes = 48;
  } else {
    return std::unexpected(std::string("the token's key is not ECDSA P-256 or P-384"));
  }
  // CKA_EC_POINT is the DER OCTET STRING around the uncompressed point.
  const size_t point_bytes = 1 + 2 * state.field_bytes;
  if (point->size() != point_bytes + 2 || (*point)[0] != 0x04 || (*point)[1] != point_bytes)
    return std::unexpected(std::string("the token's CKA_EC_POINT is not an uncompressed point"));

  mbedtls_pk_context pk;
  mbedtls_pk_init(&pk);
  std::string pem;
  int ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (ret == 0) ret = mbedtls_ecp_group_load(&mbedtls_pk_ec(pk)->grp, group);
  if (ret == 0)
    ret = mbedtls_ecp_point_read_binary(&mbedtls_pk_ec(pk)->grp, &mbedtls_pk_ec(pk)->Q,
                                        point->data() + 2, point_bytes);
  if (ret == 0) ret = mbedtls_ecp_check_pubkey(&mbedtls_pk_ec(pk)->grp, &mbedtls_pk_ec(pk)->Q);
  std::array<unsigned char, 512> buffer{};
  if (ret == 0) ret = mbedtls_pk_write_pubkey_pem(&pk, buffer.data(), buffer.size());
  if (ret == 0) pem = reinterpret_cast<const char*>(buffer.data());
  mbedtls_pk_free(&pk);
  if (ret != 0) return std::unexpected(std::string("the token's public key does not parse"));
  return pem;
}

// r || s (each `half` bytes, as PKCS#11 returns them) as the DER ECDSA-Sig-Value.
std::expected<std::string, std::string> DerSignature(const unsigned char* raw, size_t half) {
  mbedtls_mpi r, s;
  mbedtls_mpi_init(&r);
  mbedtls_mpi_init(&s);
  std::array<unsigned char, 160> buffer{};
  unsigned char* p = buffer.data() + buffer.size();
  int written = 0;
  int ret = mbedtls_mpi_read_binary(&r, raw, half);
  if (ret == 0) ret = mbedtls_mpi_read_binary(&s, raw + half, half);
  // ASN.1 is written backwards: s, then r, then the SEQUENCE header around both.
  auto add = [&](int n) {
    if (n < 0) ret = n;
    written += n > 0 ? n : 0;
  };
  if (ret == 0) add(mbedtls_asn1_write_mpi(&p, buffer.data(), &s));
  if (ret == 0) add(mbedtls_asn1_write_mpi(&p, buffer.data(), &r));
  if (ret == 0) add(mbedtls_asn1_write_len(&p, buffer.data(), static_cast<size_t>(written)));
  if (ret == 0)
    add(mbedtls_asn1_write_tag(&p, buffer.data(),
                               MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
  mbedtls_mpi_free(&r);
  mbedtls_mpi_free(&s);
  if (ret != 0) return std::unexpected(std::string("cannot encode the token's signature"));
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(written));
}

}  // namespace

Pkcs11Signer::Pkcs11Signer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Pkcs11Signer::~Pkcs11Signer() = default;

std::expected<std::unique_ptr<Pkcs11Signer>, std::string> Pkcs11Signer::Open(
    const Pkcs11KeyRef& ref) {
  auto state = std::make_unique<State>();
  state->library = dlopen(ref.module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (state->library == nullptr)
    return std::unexpected("PKCS#11 module " + ref.module + ": " + dlerror());
  auto get_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(state->library, "C_GetFunctionList"));
  if (get_list == nullptr || get_list(&state->p11) != CKR_OK || state->p11 == nullptr)
    return std::unexpected("PKCS#11 module " + ref.module + ": no C_GetFunctionList");
  if (CK_RV rv = state->p11->C_Initialize(nullptr); rv != CKR_OK)
    return std::unexpected(Rv("C_Initialize", rv));
  state->initialized = true;

  CK_ULONG count = 0;
  if (CK_RV rv = state->p11->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK)
    return std::unexpected(Rv("C_GetSlotList", rv));
  std::vector<CK_SLOT_ID> slots(count);
  if (CK_RV rv = state->p11->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK)
    return std::unexpected(Rv("C_GetSlotList", rv));
  CK_SLOT_ID slot = 0;
  bool found = false;
  for (CK_ULONG i = 0; i < count && !found; ++i) {
    CK_TOKEN_INFO info{};
    if (state->p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
        TrimLabel(info.label, sizeof info.label) == ref.token) {
      slot = slots[i];
      found = true;
    }
  }
  if (!found) return std::unexpected("no PKCS#11 token labelled \"" + ref.token + "\"");
  if (CK_RV rv =
          state->p11->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &state->session);
      rv != CKR_OK)
    return std::unexpected(Rv("C_OpenSession", rv));
  if (CK_RV rv = state->p11->C_Login(
          state->session, CKU_USER,
          reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(ref.pin.data())), ref.pin.size());
      rv != CKR_OK)
    return std::unexpected(rv == CKR_PIN_INCORRECT ? std::string("token PIN is incorrect")
                                                   : Rv("C_Login", rv));
  auto private_key = FindObject(*state, CKO_PRIVATE_KEY, ref.key_label);
  if (!private_key) return std::unexpected(private_key.error());
  state->private_key = *private_key;
  auto public_object = FindObject(*state, CKO_PUBLIC_KEY, ref.key_label);
  if (!public_object) return std::unexpected(public_object.error());
  auto pem = PublicKeyPemOf(*state, *public_object);
  if (!pem) return std::unexpected(pem.error());
  auto parsed = mgmt::trust::PublicKey::Parse(*pem);
  if (!parsed) return std::unexpected(parsed.error());

  std::unique_ptr<Pkcs11Signer> signer(new Pkcs11Signer(std::move(state)));
  signer->public_key_pem_ = *pem;
  signer->key_id_ = parsed->KeyId();
  return signer;
}

std::expected<std::string, std::string> Pkcs11Signer::Sign(std::string_view message) const {
  // The digest our software keys sign (keys.h): SHA-256 for P-256, SHA-384 for P-384.
  std::array<unsigned char, 64> digest{};
  const auto* bytes = reinterpret_cast<const unsigned char*>(message.data());
  size_t digest_size = 32;
  if (state_->field_bytes == 48) {
    mbedtls_sha512_ret(bytes, message.size(), digest.data(), /*is384=*/1);
    digest_size = 48;
  } else {
    mbedtls_sha256_ret(bytes, message.size(), digest.data(), /*is224=*/0);
  }
  CK_MECHANISM mechanism = {CKM_ECDSA, nullptr, 0};
  if (CK_RV rv = state_->p11->C_SignInit(state_->session, &mechanism, state_->private_key);
      rv != CKR_OK)
    return std::unexpected(Rv("C_SignInit", rv));
  std::array<unsigned char, 96> raw{};
  CK_ULONG raw_size = raw.size();
  if (CK_RV rv =
          state_->p11->C_Sign(state_->session, digest.data(), digest_size, raw.data(), &raw_size);
      rv != CKR_OK)
    return std::unexpected(Rv("C_Sign", rv));
  if (raw_size != 2 * state_->field_bytes)
    return std::unexpected("the token returned a signature of " + std::to_string(raw_size) +
                           " bytes");
  return DerSignature(raw.data(), state_->field_bytes);
}

}  // namespace sbc::tools
