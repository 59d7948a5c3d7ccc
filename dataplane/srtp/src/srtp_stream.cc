#include "sbc/dataplane/srtp/srtp_stream.h"

#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <string.h>
#include <algorithm>
#include <atomic>
#include <cstring>

#include "sbc/drivers/crypto/crypto_device.h"

namespace sbc::dataplane {
namespace {

// RFC 3711 §4.3.3 labels.
constexpr uint8_t kLabelRtpCipher = 0, kLabelRtpAuth = 1, kLabelRtpSalt = 2;
constexpr uint8_t kLabelRtcpCipher = 3, kLabelRtcpAuth = 4, kLabelRtcpSalt = 5;

}  // namespace

void Wipe(SrtpMasterKey& key) noexcept { explicit_bzero(&key, sizeof(key)); }
void Wipe(SrtpStreamKeys& keys) noexcept { explicit_bzero(&keys, sizeof(keys)); }

const char* SrtpSuiteName(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case SrtpSuite::kAesCm128HmacSha1_32:
      return "AES_CM_128_HMAC_SHA1_32";
    case SrtpSuite::kAeadAes128Gcm:
      return "AEAD_AES_128_GCM";
    case SrtpSuite::kAeadAes256Gcm:
      return "AEAD_AES_256_GCM";
  }
  return "?";
}

void* CreateSrtpSession(uint8_t device, rte_mempool* session_pool, SrtpSuite suite,
                        SrtpDirection direction, bool rtcp, const SrtpSessionKeys& keys,
                        uint16_t aead_aad_bytes) {
  const SrtpSuiteSizes sizes = SizesOf(suite);
  const bool protect = direction == SrtpDirection::kProtect;
  rte_crypto_sym_xform first{}, second{};
  if (sizes.aead) {
    first.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    first.aead.op = protect ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
    first.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
    first.aead.key = {keys.cipher, sizes.master_key};
    first.aead.iv = {drivers::crypto::IvOffset(), 12};
    first.aead.digest_length = sizes.rtp_tag;
    first.aead.aad_length = aead_aad_bytes;
    return rte_cryptodev_sym_session_create(device, &first, session_pool);
  }
  rte_crypto_sym_xform cipher{}, auth{};
  cipher.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
  cipher.cipher.op = protect ? RTE_CRYPTO_CIPHER_OP_ENCRYPT : RTE_CRYPTO_CIPHER_OP_DECRYPT;
  cipher.cipher.algo = RTE_CRYPTO_CIPHER_AES_CTR;
  cipher.cipher.key = {keys.cipher, sizes.master_key};
  cipher.cipher.iv = {drivers::crypto::IvOffset(), 16};
  auth.type = RTE_CRYPTO_SYM_XFORM_AUTH;
  auth.auth.op = protect ? RTE_CRYPTO_AUTH_OP_GENERATE : RTE_CRYPTO_AUTH_OP_VERIFY;
  auth.auth.algo = RTE_CRYPTO_AUTH_SHA1_HMAC;
  auth.auth.key = {keys.auth, sizes.auth_key};
  auth.auth.digest_length = rtcp ? sizes.rtcp_tag : sizes.rtp_tag;
  // SRTP authenticates the ciphertext: encrypt then MAC out, verify then decrypt in.
  first = protect ? cipher : auth;
  second = protect ? auth : cipher;
  first.next = &second;
  return rte_cryptodev_sym_session_create(device, &first, session_pool);
}

SrtpStreamFactory::SrtpStreamFactory(uint8_t device, uint16_t control_qp, rte_mempool* session_pool,
                                     rte_mempool* op_pool, ExtraSessionBudget* extra_sessions)
    : device_(device),
      qp_(control_qp),
      session_pool_(session_pool),
      op_pool_(op_pool),
      extra_sessions_(extra_sessions) {
  static std::atomic<int> serial{0};
  const std::string name = "sbc_srtp_kdf" + std::to_string(serial++);
  mbuf_pool_ = rte_pktmbuf_pool_create(name.c_str(), 15, 0, 0, 256 + RTE_PKTMBUF_HEADROOM,
                                       static_cast<int>(rte_socket_id()));
}

SrtpStreamFactory::~SrtpStreamFactory() { rte_mempool_free(mbuf_pool_); }

std::expected<void, std::string> SrtpStreamFactory::Prf(const uint8_t* key, uint8_t key_bytes,
                                                        const uint8_t* salt, uint8_t salt_bytes,
                                                        uint8_t label, uint8_t* out,
                                                        size_t out_bytes) {
  if (mbuf_pool_ == nullptr) return std::unexpected(std::string("key derivation: no buffer pool"));
  rte_crypto_sym_xform xform{};
  xform.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
  xform.cipher.op = RTE_CRYPTO_CIPHER_OP_ENCRYPT;
  xform.cipher.algo = RTE_CRYPTO_CIPHER_AES_CTR;
  xform.cipher.key = {key, key_bytes};
  xform.cipher.iv = {drivers::crypto::IvOffset(), 16};
  void* session = rte_cryptodev_sym_session_create(device_, &xform, session_pool_);
  if (session == nullptr)
    return std::unexpected("key derivation: no session: " + std::string(rte_strerror(rte_errno)));
  rte_mbuf* m = rte_pktmbuf_alloc(mbuf_pool_);
  rte_crypto_op* op = rte_crypto_op_alloc(op_pool_, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
  std::expected<void, std::string> result =
      std::unexpected(std::string("key derivation: out of buffers"));
  const uint16_t blocks_bytes = static_cast<uint16_t>((out_bytes + 15) / 16 * 16);
  char* data = m != nullptr ? rte_pktmbuf_append(m, blocks_bytes) : nullptr;
  if (data != nullptr && op != nullptr) {
    // The keystream of AES-CM over zeros: IV = (salt XOR label at byte 7) || 0x0000.
    std::memset(data, 0, blocks_bytes);
    uint8_t* iv = rte_crypto_op_ctod_offset(op, uint8_t*, drivers::crypto::IvOffset());
    std::memset(iv, 0, 16);
    std::memcpy(iv, salt, salt_bytes);  // a 12-byte AEAD salt is zero-padded to 14
    iv[7] ^= label;
    rte_crypto_op_attach_sym_session(op, session);
    op->sym->m_src = m;
    op->sym->cipher.data.offset = 0;
    op->sym->cipher.data.length = blocks_bytes;
    rte_crypto_op* done = nullptr;
    if (rte_cryptodev_enqueue_burst(device_, qp_, &op, 1) == 1) {
      for (long spins = 0;
           spins < 100'000'000 && rte_cryptodev_dequeue_burst(device_, qp_, &done, 1) == 0;
           ++spins) {
      }
    }
    if (done == op && op->status == RTE_CRYPTO_OP_STATUS_SUCCESS) {
      std::memcpy(out, data, out_bytes);
      result = {};
    } else {
      result =
          std::unexpected(std::string("key derivation: the crypto device failed the operation"));
    }
    std::memset(data, 0, blocks_bytes);  // session keys do not linger in a packet buffer
  }
  if (op != nullptr) rte_crypto_op_free(op);
  if (m != nullptr) rte_pktmbuf_free(m);
  rte_cryptodev_sym_session_free(device_, session);
  return result;
}

std::expected<SrtpStreamKeys, std::string> SrtpStreamFactory::Derive(const SrtpMasterKey& master) {
  const SrtpSuiteSizes sizes = SizesOf(master.suite);
  SrtpStreamKeys keys;
  keys.suite = master.suite;
  struct Step {
    uint8_t label;
    uint8_t* out;
    uint8_t bytes;
  };
  const Step steps[] = {{kLabelRtpCipher, keys.rtp.cipher, sizes.master_key},
                        {kLabelRtpAuth, keys.rtp.auth, sizes.auth_key},
                        {kLabelRtpSalt, keys.rtp.salt, sizes.master_salt},
                        {kLabelRtcpCipher, keys.rtcp.cipher, sizes.master_key},
                        {kLabelRtcpAuth, keys.rtcp.auth, sizes.auth_key},
                        {kLabelRtcpSalt, keys.rtcp.salt, sizes.master_salt}};
  for (const Step& s : steps) {
    if (s.bytes == 0) continue;  // AEAD suites have no authentication key
    if (auto ok = Prf(master.key, sizes.master_key, master.salt, sizes.master_salt, s.label, s.out,
                      s.bytes);
        !ok)
      return std::unexpected(ok.error());
  }
  return keys;
}

std::expected<void, std::string> SrtpStreamFactory::Build(const SrtpStreamKeys& keys,
                                                          SrtpDirection direction,
                                                          SrtpStream* stream) {
  const SrtpSuiteSizes sizes = SizesOf(keys.suite);
  *stream = SrtpStream();
  stream->suite = keys.suite;
  stream->direction = direction;
  std::memcpy(stream->rtp_salt, keys.rtp.salt, sizes.master_salt);
  std::memcpy(stream->rtcp_salt, keys.rtcp.salt, sizes.master_salt);
  // SRTP: AES-CM has one session for every header; AEAD starts with the plain 12-byte
  // header (no CSRC, no extension) and adds others as they come.
  stream->rtp_sessions[0].header_bytes = sizes.aead ? 12 : 0;
  stream->rtp_sessions[0].session =
      CreateSrtpSession(device_, session_pool_, keys.suite, direction, false, keys.rtp, 12);
  // SRTCP's AAD is always the 8-byte header and E||index.
  stream->rtcp_session =
      CreateSrtpSession(device_, session_pool_, keys.suite, direction, true, keys.rtcp, 12);
  if (sizes.aead) std::memcpy(stream->rtp_aead_key, keys.rtp.cipher, sizes.master_key);
  if (stream->rtp_sessions[0].session == nullptr || stream->rtcp_session == nullptr) {
    Release(stream);
    return std::unexpected("crypto session for " + std::string(SrtpSuiteName(keys.suite)) + ": " +
                           rte_strerror(rte_errno));
  }
  stream->session_lines = LinesInUse(stream->rtp_sessions[0].session, session_pool_->elt_size) |
                          LinesInUse(stream->rtcp_session, session_pool_->elt_size);
  return {};
}

void SrtpStreamFactory::Release(SrtpStream* stream) {
  for (int i = 0; i < SrtpStream::kRtpSessions; ++i) {
    void* session = stream->rtp_sessions[i].session;
    if (session == nullptr) continue;
    rte_cryptodev_sym_session_free(device_, session);
    if (i != 0 && extra_sessions_ != nullptr) extra_sessions_->Give();  // a worker made it
  }
  if (stream->rtcp_session != nullptr)
    rte_cryptodev_sym_session_free(device_, stream->rtcp_session);
  *stream = SrtpStream();  // also wipes the AEAD key
}

const PacketIndexWindow* SrtpStream::OtherWindowOf(uint32_t id) const noexcept {
  for (const OtherSsrc& o : other_ssrcs)
    if (o.used && o.ssrc == id) return &o.window;
  return nullptr;
}

bool SrtpStream::HasRoomForSsrc() const noexcept {
  if (!ssrc_known) return true;
  for (const OtherSsrc& o : other_ssrcs)
    if (!o.used) return true;
  return false;
}

PacketIndexWindow* SrtpStream::SwitchTo(uint32_t id) noexcept {
  if (!ssrc_known) {
    ssrc_known = true;
    ssrc = id;
    rtp_index.Reset();
    return &rtp_index;
  }
  // The current SSRC trades places with `id`'s slot, or moves to a free one.
  OtherSsrc* slot = nullptr;
  for (OtherSsrc& o : other_ssrcs)
    if (o.used && o.ssrc == id) slot = &o;
  const bool known = slot != nullptr;
  for (OtherSsrc& o : other_ssrcs)
    if (slot == nullptr && !o.used) slot = &o;
  if (slot == nullptr) return nullptr;
  const OtherSsrc previous{.used = true, .ssrc = ssrc, .window = rtp_index};
  if (known)
    rtp_index = slot->window;
  else
    rtp_index.Reset();
  ssrc = id;
  *slot = previous;
  return &rtp_index;
}

uint32_t LinesInUse(const void* object, uint32_t size) {
  const auto* bytes = static_cast<const uint8_t*>(object);
  uint32_t lines = 0;
  for (uint32_t line = 0; line * 64 < size; ++line) {
    const uint32_t end = std::min(size, (line + 1) * 64);
    bool used = false;
    for (uint32_t i = line * 64; i < end && !used; ++i) used = bytes[i] != 0;
    if (used && line < 32) lines |= uint32_t{1} << line;
  }
  return lines;
}

bool BuiltFrom(const SrtpStream& stream, const SrtpStreamKeys& keys) {
  if (stream.suite != keys.suite) return false;
  const uint8_t salt = SizesOf(keys.suite).master_salt;
  return std::memcmp(stream.rtp_salt, keys.rtp.salt, salt) == 0 &&
         std::memcmp(stream.rtcp_salt, keys.rtcp.salt, salt) == 0;
}

}  // namespace sbc::dataplane
