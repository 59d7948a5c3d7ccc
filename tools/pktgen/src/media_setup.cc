#include "media_setup.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <srtp2/srtp.h>
#include <sys/random.h>

#include <fstream>
#include <sstream>

#include "sbc/mgmt/tls/tls_client.h"
#include "sbc/schema/control.pb.h"

namespace sbc::tools::pktgen {
namespace {

constexpr uint32_t kBatch = 200;
constexpr uint32_t kSsrcBase = 0x5bc00000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::expected<std::unique_ptr<mgmt::tls::TlsClient>, std::string> Connect(const ControlSpec& c) {
  auto client = mgmt::tls::TlsClient::Connect(c.host, c.port, ReadFile(c.ca_file),
                                              ReadFile(c.cert_file), ReadFile(c.key_file));
  if (!client)
    return std::unexpected("control API at " + c.host + ":" + std::to_string(c.port) + ": " +
                           client.error().message);
  return std::move(*client);
}

std::expected<schema::Response, std::string> Call(mgmt::tls::TlsClient& client,
                                                  const schema::Request& request) {
  auto reply = client.Call(request.SerializeAsString());
  if (!reply) return std::unexpected("control API: " + reply.error().message);
  schema::Response response;
  if (!response.ParseFromString(*reply))
    return std::unexpected(std::string("control API: a reply that does not parse"));
  if (response.outcome() != schema::OK)
    return std::unexpected("control API refused: " + response.error());
  return response;
}

Endpoint Nth(const Endpoint& base, uint32_t i) {
  return {base.ip + i / 30000, static_cast<uint16_t>(base.port + 2 * (i % 30000))};
}

void InitSrtp() {
  static const srtp_err_status_t status = srtp_init();
  (void)status;
}

srtp_t SrtpSession(const std::string& key, bool outbound) {
  InitSrtp();
  srtp_policy_t policy{};
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  policy.key = reinterpret_cast<unsigned char*>(const_cast<char*>(key.data()));
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.window_size = 1024;
  srtp_t session = nullptr;
  return srtp_create(&session, &policy) == srtp_err_status_ok ? session : nullptr;
}

}  // namespace

std::expected<std::vector<MediaCall>, std::string> CreateCalls(const ControlSpec& control,
                                                               const CallPlan& plan) {
  auto client = Connect(control);
  if (!client) return std::unexpected(client.error());
  std::vector<MediaCall> calls;
  for (uint32_t first = 0; first < plan.calls; first += kBatch) {
    schema::Request request;
    schema::MediaBatch* batch = request.mutable_media_session_create();
    const uint32_t last = std::min(plan.calls, first + kBatch);
    for (uint32_t i = first; i < last; ++i) {
      MediaCall call;
      call.gateway = Nth(plan.gateway_base, i);
      call.phone = Nth(plan.phone_base, i);
      call.ssrc = kSsrcBase + i;
      call.phone_key.resize(30);
      if (getrandom(call.phone_key.data(), 30, 0) != 30)
        return std::unexpected(std::string("cannot draw a key"));
      schema::MediaSession* s = batch->add_sessions();
      schema::MediaLeg* a = s->add_legs();
      a->set_interface(plan.gateway_interface);
      a->set_remote(ToText(call.gateway));
      schema::MediaLeg* b = s->add_legs();
      b->set_interface(plan.phone_interface);
      b->set_remote(ToText(call.phone));
      b->set_suite(schema::AES_CM_128_HMAC_SHA1_80);
      b->set_leg_key(call.phone_key);
      calls.push_back(std::move(call));
    }
    auto reply = Call(**client, request);
    if (!reply) return std::unexpected(reply.error());
    for (int k = 0; k < reply->media_sessions_size(); ++k) {
      const schema::MediaSession& s = reply->media_sessions(k);
      MediaCall& call = calls[first + static_cast<uint32_t>(k)];
      if (!s.error().empty() || s.legs_size() != 2)
        return std::unexpected("call " + std::to_string(first + k) + ": " + s.error());
      call.id = s.id();
      call.our_key = s.legs(1).our_key();
      if (!ParseEndpoint(s.legs(0).local(), &call.relay_a) ||
          !ParseEndpoint(s.legs(1).local(), &call.relay_b))
        return std::unexpected("call " + std::to_string(first + k) +
                               ": relay ports not IPv4 address:port");
    }
  }
  return calls;
}

std::vector<MediaCall> MadeUpCalls(const CallPlan& plan, Endpoint relay_base) {
  std::vector<MediaCall> calls(plan.calls);
  for (uint32_t i = 0; i < plan.calls; ++i) {
    MediaCall& call = calls[i];
    call.id = i + 1;
    call.gateway = Nth(plan.gateway_base, i);
    call.phone = Nth(plan.phone_base, i);
    call.relay_a = {relay_base.ip, static_cast<uint16_t>(relay_base.port + 4 * (i % 10000))};
    call.relay_b = {relay_base.ip, static_cast<uint16_t>(relay_base.port + 2 + 4 * (i % 10000))};
    call.ssrc = kSsrcBase + i;
    call.phone_key.resize(30);
    call.our_key.resize(30);
    (void)getrandom(call.phone_key.data(), 30, 0);
    (void)getrandom(call.our_key.data(), 30, 0);
  }
  return calls;
}

std::expected<void, std::string> RestartPhoneStreams(const ControlSpec& control,
                                                     const CallPlan& plan,
                                                     const std::vector<MediaCall>& calls) {
  auto client = Connect(control);
  if (!client) return std::unexpected(client.error());
  std::string passing(30, '\0');
  if (getrandom(passing.data(), passing.size(), 0) != static_cast<ssize_t>(passing.size()))
    return std::unexpected(std::string("cannot draw a key"));
  for (const bool back : {false, true}) {
    for (size_t first = 0; first < calls.size(); first += kBatch) {
      schema::Request request;
      schema::MediaBatch* batch = request.mutable_media_session_update();
      for (size_t i = first; i < std::min(calls.size(), first + kBatch); ++i) {
        schema::MediaSession* s = batch->add_sessions();
        s->set_id(calls[i].id);
        schema::MediaLeg* a = s->add_legs();
        a->set_interface(plan.gateway_interface);
        a->set_remote(ToText(calls[i].gateway));
        schema::MediaLeg* b = s->add_legs();
        b->set_interface(plan.phone_interface);
        b->set_remote(ToText(calls[i].phone));
        b->set_suite(schema::AES_CM_128_HMAC_SHA1_80);
        b->set_leg_key(back ? calls[i].phone_key : passing);
      }
      auto reply = Call(**client, request);
      if (!reply) return std::unexpected(reply.error());
      for (const schema::MediaSession& s : reply->media_sessions())
        if (!s.error().empty())
          return std::unexpected("restarting session " + std::to_string(s.id()) + ": " + s.error());
    }
  }
  return {};
}

std::expected<void, std::string> DeleteCalls(const ControlSpec& control,
                                             const std::vector<MediaCall>& calls) {
  auto client = Connect(control);
  if (!client) return std::unexpected(client.error());
  for (size_t first = 0; first < calls.size(); first += kBatch) {
    schema::Request request;
    schema::MediaBatch* batch = request.mutable_media_session_delete();
    for (size_t i = first; i < std::min(calls.size(), first + kBatch); ++i)
      batch->add_sessions()->set_id(calls[i].id);
    if (auto reply = Call(**client, request); !reply) return std::unexpected(reply.error());
  }
  return {};
}

std::expected<void, std::string> GreetFromPhones(const std::vector<MediaCall>& calls,
                                                 const Ports& ports, uint16_t port) {
  for (const MediaCall& call : calls) {
    srtp_t phone = SrtpSession(call.phone_key, true);
    if (phone == nullptr)
      return std::unexpected(std::string("libsrtp2: cannot make the phone's session"));
    uint8_t packet[12 + 160 + SRTP_MAX_TRAILER_LEN] = {0x80, 0, 0, 1, 0, 0, 0, 160};
    const uint32_t ssrc = call.ssrc ^ 0x80000000u;
    packet[8] = uint8_t(ssrc >> 24), packet[9] = uint8_t(ssrc >> 16),
    packet[10] = uint8_t(ssrc >> 8), packet[11] = uint8_t(ssrc);
    int length = 12 + 160;
    const bool ok = srtp_protect(phone, packet, &length) == srtp_err_status_ok;
    srtp_dealloc(phone);
    if (!ok) return std::unexpected(std::string("libsrtp2: cannot protect"));
    std::vector<uint8_t> frame;
    BuildUdpFrame(call.phone, call.relay_b, packet, static_cast<uint16_t>(length), &frame);
    rte_mbuf* m = rte_pktmbuf_alloc(ports.pool);
    if (m == nullptr) return std::unexpected(std::string("out of mbufs"));
    auto* p =
        reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())));
    std::memcpy(p, frame.data(), frame.size());
    while (rte_eth_tx_burst(ports.ids[port], 0, &m, 1) == 0) {
    }
    // Whatever comes back now (the greeting relayed to the gateway) is not counted.
    rte_mbuf* drop[32];
    for (uint16_t id : ports.ids) rte_pktmbuf_free_bulk(drop, rte_eth_rx_burst(id, 0, drop, 32));
  }
  return {};
}

std::expected<void, std::string> GreetFromGateways(const std::vector<MediaCall>& calls,
                                                   const Ports& ports, uint16_t port) {
  for (const MediaCall& call : calls) {
    uint8_t packet[12 + 160] = {0x80, 0, 0, 1, 0, 0, 0, 160};
    const uint32_t ssrc = call.ssrc ^ 0x80000000u;
    packet[8] = uint8_t(ssrc >> 24), packet[9] = uint8_t(ssrc >> 16),
    packet[10] = uint8_t(ssrc >> 8), packet[11] = uint8_t(ssrc);
    std::vector<uint8_t> frame;
    BuildUdpFrame(call.gateway, call.relay_a, packet, sizeof packet, &frame);
    rte_mbuf* m = rte_pktmbuf_alloc(ports.pool);
    if (m == nullptr) return std::unexpected(std::string("out of mbufs"));
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    while (rte_eth_tx_burst(ports.ids[port], 0, &m, 1) == 0) {
    }
    rte_mbuf* drop[32];
    for (uint16_t id : ports.ids) rte_pktmbuf_free_bulk(drop, rte_eth_rx_burst(id, 0, drop, 32));
  }
  return {};
}

SrtpSender::SrtpSender(const std::vector<MediaCall>& calls) {
  for (const MediaCall& call : calls) sessions_.push_back(SrtpSession(call.phone_key, true));
}

SrtpSender::~SrtpSender() {
  for (void* s : sessions_)
    if (s != nullptr) srtp_dealloc(static_cast<srtp_t>(s));
}

int SrtpSender::Protect(size_t call, uint8_t* rtp, int length) {
  if (call >= sessions_.size() || sessions_[call] == nullptr) return -1;
  return srtp_protect(static_cast<srtp_t>(sessions_[call]), rtp, &length) == srtp_err_status_ok
             ? length
             : -1;
}

SrtpCheck::SrtpCheck(const std::vector<MediaCall>& calls, uint32_t ssrc_base, uint32_t every,
                     const std::string MediaCall::*key)
    : ssrc_base_(ssrc_base), every_(every), until_next_(every) {
  for (const MediaCall& call : calls) sessions_.push_back(SrtpSession(call.*key, false));
}

SrtpCheck::~SrtpCheck() {
  for (void* s : sessions_)
    if (s != nullptr) srtp_dealloc(static_cast<srtp_t>(s));
}

void SrtpCheck::Look(const uint8_t* srtp, uint16_t bytes) {
  if (--until_next_ != 0) return;
  until_next_ = every_;
  if (bytes < 12 || bytes > 1500) return;
  const uint32_t ssrc =
      uint32_t{srtp[8]} << 24 | uint32_t{srtp[9]} << 16 | uint32_t{srtp[10]} << 8 | srtp[11];
  const uint32_t call = ssrc - ssrc_base_;
  if (call >= sessions_.size() || sessions_[call] == nullptr) return;
  uint8_t copy[1500];
  std::memcpy(copy, srtp, bytes);
  int length = bytes;
  if (srtp_unprotect(static_cast<srtp_t>(sessions_[call]), copy, &length) == srtp_err_status_ok)
    ++verified_;
  else
    ++failed_;
}

}  // namespace sbc::tools::pktgen
