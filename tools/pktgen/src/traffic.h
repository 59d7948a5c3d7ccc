// What sbc-pktgen sends and how it recognises what comes back. Every frame that
// should come back carries its send time: in the UDP payload (firewall mixes), or,
// for media the appliance encrypts on the way, in a table keyed by the RTP header's
// SSRC and sequence number (SRTP leaves the header in the clear).
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <expected>
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
  // The next `n` frames, one per mbuf (fresh from the pool): how many of them should
  // come back. One call a burst: the generator's own cost per frame bounds what it can
  // show of a device.
  virtual uint32_t NextBurst(rte_mbuf* const* m, uint16_t n, uint64_t now_tsc) noexcept = 0;
  // A frame that came back: when it was sent (TSC), or 0 if it is not one of ours;
  // `wanted`: whether it should have (a denied frame should not).
  virtual uint64_t SentAt(const rte_mbuf* m, bool* wanted) noexcept = 0;
  // Before each trial (outside its time): whatever the traffic needs to start one.
  virtual std::expected<void, std::string> Rearm() { return {}; }
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
  uint32_t NextBurst(rte_mbuf* const* m, uint16_t n, uint64_t now_tsc) noexcept override;
  uint64_t SentAt(const rte_mbuf* m, bool* wanted) noexcept override;
  // Of `sent` frames from the start, how many should come back (the allowed ones).
  [[nodiscard]] double allowed_share() const { return allowed_share_; }

 private:
  // The cycle's frames side by side, each at a multiple of 64 bytes, read in order:
  // copying one is a streamed read, not a pointer chase.
  struct alignas(64) Line {
    uint8_t bytes[64];
  };
  std::vector<Line> frames_;
  uint16_t frame_len_ = 0, lines_per_frame_ = 0;
  std::vector<uint8_t> back_;  // per slot: should it come back
  size_t slots_ = 0, next_ = 0;
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
  // kSrtpToRtp needs `protect` and Prepare.
  MediaStream(std::vector<MediaCall> calls, const Codec& codec,
              MediaPath path = MediaPath::kRtpToSrtp, Protect protect = nullptr);
  // kSrtpToRtp: protects the stream's first `packets` packets (round robin over the
  // calls, as they are sent) up front. libsrtp2 takes thousands of cycles a packet,
  // far more than the generator's core has per frame at the rates the appliance
  // takes; a trial only copies them. Each trial starts over from the first packet,
  // after `restart` has had the appliance start each call's stream afresh (so no
  // packet index reaches a stream twice). A trial longer than what was prepared
  // wraps around: the device must then drop the replays, and the trial fails.
  [[nodiscard]] std::expected<void, std::string> Prepare(uint64_t packets);
  void set_restart(std::function<std::expected<void, std::string>()> restart) {
    restart_ = std::move(restart);
  }
  std::expected<void, std::string> Rearm() override;

  uint32_t NextBurst(rte_mbuf* const* m, uint16_t n, uint64_t now_tsc) noexcept override;
  uint64_t SentAt(const rte_mbuf* m, bool* wanted) noexcept override;
  const std::vector<MediaCall>& calls() const { return calls_; }
  uint32_t ssrc_base() const { return ssrc_base_; }
  // Shown each RTP/SRTP packet that comes back (e.g. to check a sample of it).
  void set_observer(std::function<void(const uint8_t* rtp, uint16_t bytes)> observer) {
    observer_ = std::move(observer);
  }

 private:
  // One frame into `m`; whether it should come back.
  bool Write(rte_mbuf* m, uint64_t now_tsc) noexcept;
  // The RTP packet of `call` with sequence number `seq` into `r` (room for SRTP's
  // trailer after it); its length.
  int WriteRtp(size_t call, uint16_t seq, uint8_t* r) const;

  std::vector<MediaCall> calls_;
  Codec codec_;
  MediaPath path_;
  Protect protect_;
  std::vector<uint16_t> last_seq_;  // per call, RTP->SRTP (prepared SRTP: from the cursor)
  // Send times kept per call, by sequence number (a power of two): enough for every
  // frame the rings between here and the device can hold, not more. A table of a
  // fixed size in all (a few hundred kilobytes) stays in the cache at any call count.
  uint32_t remembered_ = 8;
  std::vector<uint64_t> sent_at_;  // [call * remembered_ + seq % remembered_]
  uint32_t ssrc_base_ = 0;
  size_t next_ = 0;
  std::function<void(const uint8_t*, uint16_t)> observer_;
  // Prepared SRTP packets, `prepared_stride_` bytes apart, `prepared_bytes_` long each.
  std::vector<uint8_t> prepared_;
  uint64_t prepared_count_ = 0, cursor_ = 0;
  uint16_t prepared_stride_ = 0, prepared_bytes_ = 0;
  std::function<std::expected<void, std::string>()> restart_;
};

// An Ethernet/IPv4/UDP frame (checksums filled in) around `payload`, into `out`.
void BuildUdpFrame(const Endpoint& src, const Endpoint& dst, const uint8_t* payload,
                   uint16_t payload_bytes, std::vector<uint8_t>* out);

}  // namespace sbc::tools::pktgen
