#include "sbc/dataplane/dtls/ice_lite.h"

#include <utility>

#include <openssl/err.h>
#include <openssl/rand.h>

namespace sbc::dataplane {
namespace {

// ice-char (RFC 8445 section 15.4): ALPHA / DIGIT / "+" / "/": 64 of them, so one
// random byte's low six bits pick one uniformly.
constexpr std::string_view kIceChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static_assert(kIceChars.size() == 64);

std::expected<std::string, std::string> RandomIceChars(size_t count) {
  std::string bytes(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) {
    char reason[256];
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    return std::unexpected(std::string("ICE credentials: OpenSSL's RAND_bytes failed: ") + reason);
  }
  for (char& c : bytes) c = kIceChars[static_cast<unsigned char>(c) & 63];
  return bytes;
}

}  // namespace

std::expected<IceCredentials, std::string> GenerateIceCredentials() {
  auto ufrag = RandomIceChars(8);
  if (!ufrag) return std::unexpected(ufrag.error());
  auto pwd = RandomIceChars(24);
  if (!pwd) return std::unexpected(pwd.error());
  return IceCredentials{.ufrag = std::move(*ufrag), .pwd = std::move(*pwd)};
}

IceLiteAgent::IceLiteAgent(IceCredentials local, std::string remote_ufrag)
    : local_(std::move(local)), remote_ufrag_(std::move(remote_ufrag)) {}

IceLiteAgent::Answer IceLiteAgent::OnStun(std::span<const uint8_t> datagram,
                                          const MediaEndpoint& source, uint64_t now_ms,
                                          std::span<uint8_t> out) noexcept {
  Answer answer;
  const auto check = CheckBindingRequest(datagram, local_.ufrag, local_.pwd, remote_ufrag_);
  if (!check) {
    answer.refused = check.error();
    ++counters_.refused[static_cast<size_t>(check.error())];
    // Authenticated, so the peer is who signaling named: tell it to take the
    // controlling role. Nothing else unauthenticated is answered (stun.h says why).
    if (check.error() == StunRefusal::kRoleConflict) {
      const auto frame = FrameStun(datagram);
      if (frame) answer.response_size = WriteRoleConflict(frame->transaction_id, local_.pwd, out);
    }
    return answer;
  }
  Remember(source, now_ms);
  answer.response_size = WriteBindingSuccess(check->transaction_id, source, local_.pwd, out);
  if (answer.response_size != 0) ++counters_.checks_answered;
  // The latest nomination wins: a peer that moves (a new network, an ICE restart
  // keeping its credentials) nominates its new pair, and only it can, having
  // authenticated.
  if (check->use_candidate && selected_ != source) {
    selected_ = source;
    answer.selected_changed = true;
    ++counters_.nominations;
  }
  return answer;
}

bool IceLiteAgent::ConsentFresh(uint64_t now_ms) const {
  if (!selected_) return false;
  const Checked* checked = Find(*selected_);
  return checked != nullptr && now_ms - checked->last_check_ms < kConsentTimeoutMs;
}

bool IceLiteAgent::PassedCheck(const MediaEndpoint& source) const {
  return Find(source) != nullptr;
}

IceLiteAgent::Checked* IceLiteAgent::Find(const MediaEndpoint& source) {
  for (Checked& c : checked_)
    if (c.used && c.source == source) return &c;
  return nullptr;
}

const IceLiteAgent::Checked* IceLiteAgent::Find(const MediaEndpoint& source) const {
  for (const Checked& c : checked_)
    if (c.used && c.source == source) return &c;
  return nullptr;
}

IceLiteAgent::Checked& IceLiteAgent::Remember(const MediaEndpoint& source, uint64_t now_ms) {
  Checked* slot = Find(source);
  if (slot == nullptr) {
    // A free entry, else the least recently checked one that is not the selected
    // remote (whose consent it would lose).
    for (Checked& c : checked_) {
      if (!c.used) {
        slot = &c;
        break;
      }
      if (selected_ == c.source) continue;
      if (slot == nullptr || c.last_check_ms < slot->last_check_ms) slot = &c;
    }
    slot->source = source;
    slot->used = true;
  }
  slot->last_check_ms = now_ms;
  return *slot;
}

}  // namespace sbc::dataplane
