// Media calls for the bench, set up the way a signaling client does it: batches of
// MEDIA_SESSION_CREATE over the control API (mutual TLS, a signaling user's
// certificate). Our side of each call uses keys we draw (the phone's) and the
// appliance's reply (its relay ports, its key toward the phone). Before traffic, each
// phone sends one SRTP packet, protected with libsrtp2, so the relay learns its link.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "ports.h"
#include "traffic.h"

namespace sbc::tools::pktgen {

struct ControlSpec {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ca_file, cert_file, key_file;
};

struct CallPlan {
  uint32_t calls = 100;
  Endpoint gateway_base;  // gateway of call i: ip + i / 30000, port + 2 * (i % 30000)
  Endpoint phone_base;
  std::string gateway_interface = "wan0", phone_interface = "lan0";
};

[[nodiscard]] std::expected<std::vector<MediaCall>, std::string> CreateCalls(
    const ControlSpec& control, const CallPlan& plan);
// Calls made up here, without an appliance (relay ports as a fresh one gives them out,
// keys drawn here): for the generator's own ceiling into a sink.
[[nodiscard]] std::vector<MediaCall> MadeUpCalls(const CallPlan& plan, Endpoint relay_base);
// Starts each call's SRTP stream from the phone afresh on the appliance, under the
// phone's same key: MEDIA_SESSION_UPDATE to a key drawn for the moment, then back
// (the same key given again would keep the stream, replay window and all).
[[nodiscard]] std::expected<void, std::string> RestartPhoneStreams(
    const ControlSpec& control, const CallPlan& plan, const std::vector<MediaCall>& calls);
[[nodiscard]] std::expected<void, std::string> DeleteCalls(const ControlSpec& control,
                                                           const std::vector<MediaCall>& calls);

// One plain RTP packet from each gateway to its relay port, sent on `port` (the
// gateway side): the relay learns the gateways' link before SRTP comes the other way.
[[nodiscard]] std::expected<void, std::string> GreetFromGateways(
    const std::vector<MediaCall>& calls, const Ports& ports, uint16_t port);

// The phones' side of SRTP->RTP: libsrtp2 sessions under each phone's key.
class SrtpSender {
 public:
  explicit SrtpSender(const std::vector<MediaCall>& calls);
  ~SrtpSender();
  SrtpSender(const SrtpSender&) = delete;
  SrtpSender& operator=(const SrtpSender&) = delete;
  // Protects call `call`'s RTP packet in place; the SRTP length or -1.
  int Protect(size_t call, uint8_t* rtp, int length);

 private:
  std::vector<void*> sessions_;  // srtp_t per call
};

// One SRTP packet from each phone to its relay port, sent on `port` (the phone side).
[[nodiscard]] std::expected<void, std::string> GreetFromPhones(const std::vector<MediaCall>& calls,
                                                               const Ports& ports, uint16_t port);

// Decrypts every `every`-th SRTP packet that comes back with libsrtp2 and the key each
// call's `key` names: the appliance's (what reaches the phones is real SRTP under the
// negotiated key), or, through a reflector, the phones' own (what this generator sent
// is, packets protected ahead and replayed in order).
class SrtpCheck {
 public:
  SrtpCheck(const std::vector<MediaCall>& calls, uint32_t ssrc_base, uint32_t every,
            const std::string MediaCall::*key = &MediaCall::our_key);
  ~SrtpCheck();
  void Look(const uint8_t* srtp, uint16_t bytes);
  uint64_t verified() const { return verified_; }
  uint64_t failed() const { return failed_; }

 private:
  std::vector<void*> sessions_;  // srtp_t per call
  uint32_t ssrc_base_, every_;
  uint32_t until_next_;
  uint64_t verified_ = 0, failed_ = 0;
};

}  // namespace sbc::tools::pktgen
