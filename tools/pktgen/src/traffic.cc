#include "traffic.h"

#include <arpa/inet.h>
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace sbc::tools::pktgen {
namespace {

constexpr uint32_t kStampMagic = 0x5bc07e57;         // a frame that should come back
constexpr uint32_t kStampMagicDropped = 0x5bc0d0d0;  // one the device should drop
constexpr uint16_t kEthIp = 42;                      // Ethernet + IPv4 + UDP headers
constexpr std::array<uint8_t, 6> kDstMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr std::array<uint8_t, 6> kSrcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

void PutBe16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8), p[1] = uint8_t(v); }
void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}
uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// The UDP payload of a frame that came back, or nullptr (not IPv4/UDP, too short).
const uint8_t* UdpPayload(const rte_mbuf* m, uint16_t* bytes) {
  if (m->data_len < kEthIp) return nullptr;
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  if (Be16(p + 12) != 0x0800 || (p[14] >> 4) != 4 || p[23] != 17) return nullptr;
  const uint16_t ihl = static_cast<uint16_t>((p[14] & 0x0f) * 4);
  const uint16_t udp = static_cast<uint16_t>(14 + ihl);
  if (m->data_len < udp + 8) return nullptr;
  *bytes = static_cast<uint16_t>(std::min<int>(Be16(p + udp + 4) - 8, m->data_len - udp - 8));
  return p + udp + 8;
}

}  // namespace

std::string ToText(const Endpoint& e) {
  const uint32_t n = htonl(e.ip);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &n, text, sizeof text);
  return std::string(text) + ":" + std::to_string(e.port);
}

bool ParseEndpoint(const std::string& text, Endpoint* e) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  in_addr a{};
  if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &a) != 1) return false;
  const unsigned long port = std::strtoul(text.c_str() + colon + 1, nullptr, 10);
  if (port == 0 || port > 65535) return false;
  *e = {ntohl(a.s_addr), static_cast<uint16_t>(port)};
  return true;
}

// Ethernet, IPv4 (checksum filled in) and UDP headers (checksum 0: none) in front of
// `payload_bytes` at `p + kEthIp`.
static void WriteUdpHeaders(const Endpoint& src, const Endpoint& dst, uint16_t payload_bytes,
                            uint8_t* p) {
  std::memset(p, 0, kEthIp);
  std::memcpy(p, kDstMac.data(), 6);
  std::memcpy(p + 6, kSrcMac.data(), 6);
  PutBe16(p + 12, 0x0800);
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  PutBe16(ip + 2, static_cast<uint16_t>(20 + 8 + payload_bytes));
  ip[8] = 64;
  ip[9] = 17;
  PutBe32(ip + 12, src.ip);
  PutBe32(ip + 16, dst.ip);
  auto* header = reinterpret_cast<rte_ipv4_hdr*>(ip);
  header->hdr_checksum = rte_ipv4_cksum(header);
  uint8_t* udp = ip + 20;
  PutBe16(udp, src.port);
  PutBe16(udp + 2, dst.port);
  PutBe16(udp + 4, static_cast<uint16_t>(8 + payload_bytes));
}

void BuildUdpFrame(const Endpoint& src, const Endpoint& dst, const uint8_t* payload,
                   uint16_t payload_bytes, std::vector<uint8_t>* out) {
  out->assign(kEthIp + payload_bytes, 0);
  uint8_t* p = out->data();
  if (payload_bytes != 0) std::memcpy(p + kEthIp, payload, payload_bytes);
  WriteUdpHeaders(src, dst, payload_bytes, p);
  reinterpret_cast<rte_udp_hdr*>(p + 34)->dgram_cksum =
      rte_ipv4_udptcp_cksum(reinterpret_cast<rte_ipv4_hdr*>(p + 14), p + 34);
}

FirewallMix::FirewallMix(const FirewallMixSpec& spec) {
  // A cycle of frames in which the shares hold exactly, the kinds interleaved.
  const uint32_t cycle = std::max<uint32_t>(spec.flows, 1000);
  const auto malformed = static_cast<uint32_t>(std::lround(spec.malformed * cycle));
  const auto denied = static_cast<uint32_t>(std::lround(spec.denied * cycle));
  std::vector<uint8_t> kinds(cycle, 0);  // 0 allowed, 1 denied, 2 malformed
  std::fill_n(kinds.begin(), std::min(cycle, malformed), uint8_t{2});
  std::fill_n(kinds.begin() + std::min(cycle, malformed),
              std::min(cycle - std::min(cycle, malformed), denied), uint8_t{1});
  std::shuffle(kinds.begin(), kinds.end(), std::mt19937(7));
  const uint16_t payload = static_cast<uint16_t>(std::max<int>(spec.frame_bytes - 4 - kEthIp, 12));
  std::vector<uint8_t> stamp(payload, 0), dropped(payload, 0);
  PutBe32(stamp.data(), kStampMagic);
  PutBe32(dropped.data(), kStampMagicDropped);
  frame_len_ = static_cast<uint16_t>(kEthIp + payload);
  lines_per_frame_ = static_cast<uint16_t>((frame_len_ + 63) / 64);
  frames_.resize(size_t{cycle} * lines_per_frame_);
  slots_ = cycle;
  uint32_t allowed = 0, flow = 0;
  std::vector<uint8_t> frame;
  for (uint32_t i = 0; i < cycle; ++i) {
    const Endpoint src{spec.src_base + flow % spec.flows,
                       static_cast<uint16_t>(10000 + flow % 50000)};
    const Endpoint dst{spec.dst_base + flow % 200,
                       kinds[i] == 1 ? spec.denied_port : spec.allowed_port};
    ++flow;
    BuildUdpFrame(src, dst, kinds[i] == 0 ? stamp.data() : dropped.data(), payload, &frame);
    if (kinds[i] == 2)
      PutBe16(frame.data() + 16,
              static_cast<uint16_t>(frame.size() - 14 + 200));  // IPv4 length past the frame
    // The UDP checksum would go stale with the send time written in: 0 is "none".
    PutBe16(frame.data() + 40, 0);
    std::memcpy(frames_[size_t{i} * lines_per_frame_].bytes, frame.data(), frame.size());
    back_.push_back(kinds[i] == 0);
    allowed += kinds[i] == 0;
  }
  allowed_share_ = static_cast<double>(allowed) / cycle;
}

uint32_t FirewallMix::NextBurst(rte_mbuf* const* m, uint16_t n, uint64_t now_tsc) noexcept {
  uint32_t back = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const size_t slot = next_;
    next_ = next_ + 1 == slots_ ? 0 : next_ + 1;
    // A fresh mbuf from the pool: one segment, empty, with headroom.
    m[i]->data_len = frame_len_;
    m[i]->pkt_len = frame_len_;
    auto* p = rte_pktmbuf_mtod(m[i], uint8_t*);
    rte_memcpy(p, frames_[slot * lines_per_frame_].bytes, frame_len_);
    std::memcpy(p + kEthIp + 4, &now_tsc, sizeof now_tsc);  // after the magic
    back += back_[slot];
  }
  return back;
}

uint64_t FirewallMix::SentAt(const rte_mbuf* m, bool* wanted) noexcept {
  uint16_t bytes = 0;
  const uint8_t* payload = UdpPayload(m, &bytes);
  if (payload == nullptr || bytes < 12) return 0;
  const uint32_t magic = Be32(payload);
  if (magic != kStampMagic && magic != kStampMagicDropped) return 0;
  *wanted = magic == kStampMagic;
  uint64_t tsc = 0;
  std::memcpy(&tsc, payload + 4, sizeof tsc);
  return tsc;
}

bool CodecByName(const std::string& name, Codec* codec) {
  static constexpr Codec kCodecs[] = {{"g711", 160, 160}, {"g722", 160, 160}, {"opus", 80, 960}};
  for (const Codec& c : kCodecs)
    if (name == c.name) {
      *codec = c;
      return true;
    }
  return false;
}

MediaStream::MediaStream(std::vector<MediaCall> calls, const Codec& codec, MediaPath path,
                         Protect protect)
    : calls_(std::move(calls)),
      codec_(codec),
      path_(path),
      protect_(std::move(protect)),
      last_seq_(calls_.size(), 0) {
  // In flight at once: at most both directions' rings (4,096 slots each) and the
  // device's queues; calls are sent round robin, so a call has its share of that.
  constexpr uint32_t kInFlight = 32768;
  while (remembered_ * std::max<size_t>(1, calls_.size()) < kInFlight) remembered_ *= 2;
  sent_at_.assign(calls_.size() * remembered_, 0);
  if (!calls_.empty()) ssrc_base_ = calls_[0].ssrc;
}

int MediaStream::WriteRtp(size_t call, uint16_t seq, uint8_t* r) const {
  r[0] = 0x80;
  r[1] = 0;  // PCMU
  PutBe16(r + 2, seq);
  PutBe32(r + 4, seq * codec_.clock_per_packet);
  PutBe32(r + 8, calls_[call].ssrc);
  std::memset(r + 12, 0xd5, codec_.payload_bytes);  // silence, as a codec would send it
  return 12 + codec_.payload_bytes;
}

std::expected<void, std::string> MediaStream::Prepare(uint64_t packets) {
  if (path_ != MediaPath::kSrtpToRtp || !protect_)
    return std::unexpected(std::string("only SRTP is prepared"));
  const size_t n = calls_.size();
  packets = (packets + n - 1) / n * n;  // whole rounds
  uint8_t packet[1600];
  prepared_bytes_ = 0;
  for (uint64_t i = 0; i < packets; ++i) {
    const size_t call = i % n;
    const int srtp =
        protect_(call, packet, WriteRtp(call, static_cast<uint16_t>(i / n + 1), packet));
    if (srtp < 0)
      return std::unexpected("libsrtp2 would not protect call " + std::to_string(call) +
                             "'s packet");
    if (prepared_bytes_ == 0) {
      prepared_bytes_ = static_cast<uint16_t>(srtp);
      prepared_stride_ = static_cast<uint16_t>((srtp + 63) / 64 * 64);
      prepared_.resize(packets * prepared_stride_);
    }
    if (srtp != prepared_bytes_)
      return std::unexpected(std::string("SRTP packets of different lengths"));
    std::memcpy(prepared_.data() + i * prepared_stride_, packet, prepared_bytes_);
  }
  prepared_count_ = packets;
  cursor_ = 0;
  return {};
}

std::expected<void, std::string> MediaStream::Rearm() {
  if (prepared_count_ == 0) return {};
  cursor_ = 0;
  return restart_ ? restart_() : std::expected<void, std::string>{};
}

uint32_t MediaStream::NextBurst(rte_mbuf* const* m, uint16_t n, uint64_t now_tsc) noexcept {
  uint32_t back = 0;
  for (uint16_t i = 0; i < n; ++i) back += Write(m[i], now_tsc);
  return back;
}

bool MediaStream::Write(rte_mbuf* m, uint64_t now_tsc) noexcept {
  const bool srtp = path_ == MediaPath::kSrtpToRtp;
  if (srtp && prepared_count_ == 0) return false;
  // Prepared SRTP: packet i is call i % calls, sequence number i / calls + 1.
  const uint64_t prepared = cursor_;
  size_t call = 0;
  uint16_t seq = 0;
  if (srtp) {
    cursor_ = cursor_ + 1 == prepared_count_ ? 0 : cursor_ + 1;
    call = prepared % calls_.size();
    seq = static_cast<uint16_t>(prepared / calls_.size() + 1);
  } else {
    call = next_;
    next_ = next_ + 1 == calls_.size() ? 0 : next_ + 1;
    seq = ++last_seq_[call];
  }
  const MediaCall& c = calls_[call];
  const Endpoint& from = srtp ? c.phone : c.gateway;
  const Endpoint& to = srtp ? c.relay_b : c.relay_a;
  const int rtp = srtp ? prepared_bytes_ : 12 + codec_.payload_bytes;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(kEthIp + rtp)));
  if (p == nullptr) return false;
  if (srtp)
    rte_memcpy(p + kEthIp, prepared_.data() + prepared * prepared_stride_, rtp);
  else
    (void)WriteRtp(call, seq, p + kEthIp);
  WriteUdpHeaders(from, to, static_cast<uint16_t>(rtp), p);  // UDP checksum 0: none (IPv4)
  sent_at_[call * remembered_ + (seq & (remembered_ - 1))] = now_tsc;
  return true;
}

uint64_t MediaStream::SentAt(const rte_mbuf* m, bool* wanted) noexcept {
  *wanted = true;
  uint16_t bytes = 0;
  const uint8_t* rtp = UdpPayload(m, &bytes);
  if (rtp == nullptr || bytes < 12 || (rtp[0] >> 6) != 2) return 0;
  const uint32_t call = Be32(rtp + 8) - ssrc_base_;
  if (call >= calls_.size()) return 0;
  if (observer_) observer_(rtp, bytes);
  return sent_at_[call * remembered_ + (Be16(rtp + 2) & (remembered_ - 1))];
}

}  // namespace sbc::tools::pktgen
