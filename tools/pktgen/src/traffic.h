// What sbc-pktgen sends and how it recognises what comes back. Every frame that
// should come back carries its send time: in the UDP payload (firewall mixes), or,
// for media the appliance encrypts on the way, in a table keyed by the RTP header's
// SSRC and sequence number (SRTP leaves the header in the clear).
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sbc::tools::pktgen {

struct Endpoint {
  uint32_t ip = 0;  // host order
  uint16_t port = 0;
};

[[nodiscard]] std::string ToText(const Endpoint& e);
[[nodiscard]] bool ParseEndpoint(const std::string& text, Endpoint* e);  // "a.b.c.d:port"

class Traffic {
 public:
  virtual ~Traffic() = default;
  // Writes the next frame into `m` (empty); returns whether it should come back.
  virtual bool Next(rte_mbuf* m, uint64_t now_tsc) noexcept = 0;
  // A frame that came back: when it was sent (TSC), or 0 if it is not one of ours;
  // `wanted`: whether it should have (a denied frame should not).
  virtual uint64_t SentAt(const rte_mbuf* m, bool* wanted) noexcept = 0;
};

// The firewall mix: N flows of UDP from the outside to the inside, allowed by one rule;
// a share denied by the rules (another port) and a share malformed (an IPv4 length
// beyond the frame), both of which the appliance must drop and count.
struct FirewallMixSpec {
  uint32_t flows = 1000;
  double denied = 0.10;
  double malformed = 0.01;
  uint16_t frame_bytes = 64;  // on the wire, with the 4-byte FCS the NIC adds
  uint32_t src_base = 0;      // flows' sources: src_base + i (host order)
  uint32_t dst_base = 0;      // flows' destinations: dst_base + i % 200 (a /24)
  uint16_t allowed_port = 5060;
  uint16_t denied_port = 9;
};

class FirewallMix final : public Traffic {
 public:
  explicit FirewallMix(const FirewallMixSpec& spec);
  bool Next(rte_mbuf* m, uint64_t now_tsc) noexcept override;
  uint64_t SentAt(const rte_mbuf* m, bool* wanted) noexcept override;
  // Of `sent` frames from the start, how many should come back (the allowed ones).
  [[nodiscard]] double allowed_share() const { return allowed_share_; }

 private:
  std::vector<std::vector<uint8_t>> frames_;  // one per slot of the cycle
  std::vector<uint8_t> back_;                 // per slot: should it come back
  size_t next_ = 0;
  double allowed_share_ = 1;
};

// Codecs as carriers send them: payload bytes per packet and RTP clock units per
// packet, at 50 packets per second (20 ms).
struct Codec {
  const char* name;
  uint16_t payload_bytes;
  uint32_t clock_per_packet;
};
[[nodiscard]] bool CodecByName(const std::string& name, Codec* codec);  // g711, g722, opus

// One call as the relay carries it: plain RTP from the gateway (behind the port that
// faces the appliance's wan0) to leg A's relay port; SRTP from leg B's relay port to
// the phone (behind the lan0 side).
struct MediaCall {
  uint64_t id = 0;
  Endpoint gateway, relay_a, phone, relay_b;
  uint32_t ssrc = 0;
  std::string phone_key;  // SDES master key || salt the phone sends with (ours to give)
  std::string our_key;    // the appliance's key toward the phone (from its reply)
};

// Which way the media goes through the relay: plain RTP from the gateways, encrypted
// by the appliance toward the phones; or SRTP from the phones (protected here with
// libsrtp2 and the phones' keys), decrypted by the appliance toward the gateways.
enum class MediaPath { kRtpToSrtp, kSrtpToRtp };

// Protects the RTP packet of `call` in place (room for the trailer after `length`);
// returns the SRTP length, or a negative number.
using Protect = std::function<int(size_t call, uint8_t* rtp, int length)>;

class MediaStream final : public Traffic {
 public:
  // kSrtpToRtp needs `protect`.
  MediaStream(std::vector<MediaCall> calls, const Codec& codec,
              MediaPath path = MediaPath::kRtpToSrtp, Protect protect = nullptr);
  bool Next(rte_mbuf* m, uint64_t now_tsc) noexcept override;
  uint64_t SentAt(const rte_mbuf* m, bool* wanted) noexcept override;
  const std::vector<MediaCall>& calls() const { return calls_; }
  uint32_t ssrc_base() const { return ssrc_base_; }
  // Shown each RTP/SRTP packet that comes back (e.g. to check a sample of it).
  void set_observer(std::function<void(const uint8_t* rtp, uint16_t bytes)> observer) {
    observer_ = std::move(observer);
  }

 private:
  static constexpr uint32_t kRemembered = 256;  // send times kept per call (by sequence)
  struct State {
    uint16_t seq = 0;
    uint32_t timestamp = 0;
  };
  std::vector<MediaCall> calls_;
  Codec codec_;
  MediaPath path_;
  Protect protect_;
  std::vector<State> state_;
  std::vector<uint64_t> sent_at_;  // [call * kRemembered + seq % kRemembered]
  uint32_t ssrc_base_ = 0;
  size_t next_ = 0;
  std::function<void(const uint8_t*, uint16_t)> observer_;
};

// An Ethernet/IPv4/UDP frame (checksums filled in) around `payload`, into `out`.
void BuildUdpFrame(const Endpoint& src, const Endpoint& dst, const uint8_t* payload,
                   uint16_t payload_bytes, std::vector<uint8_t>* out);

}  // namespace sbc::tools::pktgen
