// The ICE-lite agent of one DTLS-SRTP leg (RFC 8445 sections 2.5 and 7.3, consent
// freshness RFC 7675). The appliance has one host candidate per leg (its relay
// address and port) and never sends checks: it answers the controlling peer's checks,
// and the leg's remote becomes the address of the check that nominated it
// (USE-CANDIDATE). A source is only ever learnt from a check that authenticated: a
// STUN packet from an address that never passed one does not move the leg, and a
// spoofed DTLS or RTP packet cannot steer it either (they never reach this agent).
//
// Consent: the peer repeats its checks on the selected pair (Chromium: every few
// seconds); once none has arrived from the selected address for 30 s, the leg stops
// being sent to (ConsentFresh() false) until a check comes again.
//
// One thread owns an agent: the slow-path thread that takes the leg's STUN packets.
// Times are the caller's milliseconds (a monotonic clock, injectable in tests).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>

#include "sbc/dataplane/dtls/stun.h"
#include "sbc/dataplane/media/media_spec.h"

namespace sbc::dataplane {

// Short-term ICE credentials (RFC 8445 section 5.3).
struct IceCredentials {
  std::string ufrag;
  std::string pwd;
};

// Our credentials for a new leg: an 8-character ufrag (48 random bits) and a
// 24-character password (144 bits; RFC 8445 asks for at least 128), ice-chars only,
// from OpenSSL's CSPRNG. Fails with the reason when the RNG does. Control thread.
[[nodiscard]] std::expected<IceCredentials, std::string> GenerateIceCredentials();

struct IceLiteCounters {
  uint64_t checks_answered = 0;  // success responses sent
  uint64_t nominations = 0;      // checks with USE-CANDIDATE that selected their source
  std::array<uint64_t, kStunRefusalCount> refused{};  // by StunRefusal
};

class IceLiteAgent {
 public:
  static constexpr uint64_t kConsentTimeoutMs = 30'000;  // RFC 7675 section 5.1
  // Sources that passed a check, kept for the listing and for nominations; the least
  // recently checked one makes room for a new one.
  static constexpr size_t kMaxCheckedSources = 8;

  // `local`: our credentials (GenerateIceCredentials); `remote_ufrag`: the peer's,
  // from signaling. Control thread, before the agent is handed to the slow path.
  IceLiteAgent(IceCredentials local, std::string remote_ufrag);

  // What to do with one STUN datagram from `source`.
  struct Answer {
    // The refusal when the datagram did not pass (counted); nullopt when it did.
    std::optional<StunRefusal> refused;
    size_t response_size = 0;       // bytes written to `out`, for `source`; 0: send nothing
    bool selected_changed = false;  // the leg's remote is now `source`
  };
  // Checks `datagram` (a UDP payload that ClassifyRelayPayload took for STUN) and
  // writes the response, if any, into `out` (at least kMaxStunResponse bytes). A check
  // that passed answers success and refreshes consent; with USE-CANDIDATE it selects
  // `source`. A peer claiming the controlled role is answered 487 (it then takes the
  // controlling role, RFC 8445 section 7.3.1.1). Nothing else is answered. Owner thread.
  Answer OnStun(std::span<const uint8_t> datagram, const MediaEndpoint& source, uint64_t now_ms,
                std::span<uint8_t> out) noexcept;

  // The nominated remote, if any. Owner thread.
  [[nodiscard]] const std::optional<MediaEndpoint>& selected() const { return selected_; }
  // Whether the leg may be sent to at `now_ms`: a remote is selected and a check came
  // from it within kConsentTimeoutMs. Owner thread.
  [[nodiscard]] bool ConsentFresh(uint64_t now_ms) const;
  // Whether `source` passed a check (among the last kMaxCheckedSources). Owner thread.
  [[nodiscard]] bool PassedCheck(const MediaEndpoint& source) const;

  [[nodiscard]] const IceCredentials& local() const { return local_; }
  [[nodiscard]] const IceLiteCounters& counters() const { return counters_; }

 private:
  struct Checked {
    MediaEndpoint source;
    uint64_t last_check_ms = 0;
    bool used = false;
  };
  Checked* Find(const MediaEndpoint& source);
  const Checked* Find(const MediaEndpoint& source) const;
  Checked& Remember(const MediaEndpoint& source, uint64_t now_ms);

  IceCredentials local_;
  std::string remote_ufrag_;
  std::array<Checked, kMaxCheckedSources> checked_{};
  std::optional<MediaEndpoint> selected_;
  IceLiteCounters counters_;
};

}  // namespace sbc::dataplane
