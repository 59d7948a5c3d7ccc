#include "sbc/firmware/media_service.h"

#include <arpa/inet.h>
#include <sys/random.h>

#include <chrono>
#include <cstring>

namespace sbc::firmware {
namespace {

constexpr size_t kEndedKept = 64;

using dataplane::Family;
using dataplane::MediaEndpoint;

// "203.0.113.5:4000" or "[2001:db8::5]:4000".
std::expected<MediaEndpoint, std::string> ParseEndpoint(const std::string& text) {
  MediaEndpoint e;
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) return std::unexpected("\"" + text + "\" is not [address]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    e.family = Family::kIpv6;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return std::unexpected("\"" + text + "\" is not address:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    e.family = Family::kIpv4;
  }
  if (inet_pton(e.family == Family::kIpv6 ? AF_INET6 : AF_INET, host.c_str(), e.address.data()) != 1)
    return std::unexpected("\"" + host + "\" is not an IP address");
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p == 0 || p > 65535) return std::unexpected("\"" + port + "\" is not a port");
  e.port = static_cast<uint16_t>(p);
  return e;
}

}  // namespace

MediaService::MediaService(Dataplane& dataplane, std::function<void(const std::string&)> log)
    : dp_(dataplane), log_(std::move(log)) {
  ticker_ = std::thread([this] {
    auto last = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // short, so Stop() is prompt
      if (std::chrono::steady_clock::now() - last < std::chrono::seconds(1)) continue;
      last = std::chrono::steady_clock::now();
      (void)ExpireIdle();
    }
  });
}

void MediaService::Stop() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
}

MediaService::~MediaService() { Stop(); }

std::vector<schema::MediaSession> MediaService::Create(const std::vector<schema::MediaSession>& sessions) {
  const dataplane::MediaSettings settings = dp_.media_settings();
  std::lock_guard lock(mutex_);
  std::vector<schema::MediaSession> out;
  for (const auto& s : sessions) out.push_back(CreateOne(s, settings));
  return out;
}

schema::MediaSession MediaService::CreateOne(const schema::MediaSession& request,
                                             const dataplane::MediaSettings& settings) {
  schema::MediaSession reply;
  reply.set_id(request.id());
  auto refuse = [&reply](const std::string& why) {
    reply.clear_legs();  // nothing half-made goes back, least of all a key
    reply.set_error(why);
    return reply;
  };
  if (settings.port_min == 0 || settings.service_addresses.empty())
    return refuse("the running config has no media relay (media.service_addresses, port range)");
  if (request.legs_size() != 2) return refuse("a media session has exactly 2 legs");
  if (ports_.size() >= settings.max_sessions) return refuse("media.max_sessions reached");
  // An id the appliance picks is taken only by a session that is created.
  uint64_t id = request.id();
  const bool picked = id == 0;
  if (picked) {
    while (ports_.contains(next_id_)) ++next_id_;
    id = next_id_;
  } else if (ports_.contains(id)) {
    return refuse("media session " + std::to_string(id) + " exists");
  }

  dataplane::MediaSessionSpec spec{.id = id};
  std::vector<uint16_t> taken;
  std::vector<std::string> interfaces;
  for (int l = 0; l < 2; ++l) {
    const schema::MediaLeg& leg = request.legs(l);
    const std::string at = "legs[" + std::to_string(l) + "]: ";
    dataplane::MediaLegSpec& ls = spec.legs[l];
    const auto slot = dp_.ports().IndexOf(leg.interface());
    if (!slot) return refuse(at + "no data port \"" + leg.interface() + "\"");
    ls.port_slot = static_cast<uint8_t>(*slot);
    interfaces.push_back(leg.interface());
    if (!leg.remote().empty()) {
      auto remote = ParseEndpoint(leg.remote());
      if (!remote) return refuse(at + "remote: " + remote.error());
      ls.remote = *remote;
    }
    // Our address: the one asked for, if it is a service address; else the first
    // service address of the remote's family (IPv4 when latching).
    const dataplane::IpPrefix* service = nullptr;
    bool want_v6 = ls.remote && ls.remote->family == Family::kIpv6;
    if (!leg.local_address().empty()) {
      auto asked = ParseEndpoint(leg.local_address().find(':') != std::string::npos && leg.local_address()[0] != '['
                                     ? "[" + leg.local_address() + "]:1"
                                     : leg.local_address() + ":1");
      if (!asked) return refuse(at + "local_address: " + asked.error());
      want_v6 = asked->family == Family::kIpv6;
      for (const auto& a : settings.service_addresses)
        if (a.ipv6 == want_v6 && std::memcmp(a.address.data(), asked->address.data(), want_v6 ? 16 : 4) == 0)
          service = &a;
      if (service == nullptr) return refuse(at + "local_address " + leg.local_address() + " is not a media service address");
      if (ls.remote && ls.remote->family != asked->family)
        return refuse(at + "local_address and remote are of different address families");
    } else {
      for (const auto& a : settings.service_addresses)
        if (a.ipv6 == want_v6 && service == nullptr) service = &a;
    }
    if (service == nullptr) return refuse(at + "no media service address of the remote's family");
    ls.local = {.family = want_v6 ? Family::kIpv6 : Family::kIpv4, .address = service->address, .port = 0};
    ls.rtcp_mux = leg.rtcp_mux();
    ls.clock_rate = leg.clock_rate() ? leg.clock_rate() : 8000;
    ls.plain_latching = settings.plain_rtp_latches ? dataplane::PlainLatching::kFirstPacket
                                                   : dataplane::PlainLatching::kNever;
    if (leg.suite() != schema::SRTP_SUITE_UNSPECIFIED) {
      if (!settings.allowed_suites.empty() &&
          std::find(settings.allowed_suites.begin(), settings.allowed_suites.end(), leg.suite()) ==
              settings.allowed_suites.end())
        return refuse(at + schema::SrtpSuite_Name(leg.suite()) + " is not in media.allowed_suites");
      const auto suite = static_cast<dataplane::SrtpSuite>(leg.suite() - 1);
      const dataplane::SrtpSuiteSizes sizes = dataplane::SizesOf(suite);
      if (leg.leg_key().size() != size_t{sizes.master_key} + sizes.master_salt)
        return refuse(at + "leg_key must be " + std::to_string(sizes.master_key + sizes.master_salt) +
                      " bytes (master key and salt) for " + schema::SrtpSuite_Name(leg.suite()));
      dataplane::SrtpMasterKey theirs, ours;
      theirs.suite = ours.suite = suite;
      std::memcpy(theirs.key, leg.leg_key().data(), sizes.master_key);
      std::memcpy(theirs.salt, leg.leg_key().data() + sizes.master_key, sizes.master_salt);
      if (getrandom(ours.key, sizes.master_key, 0) != sizes.master_key ||
          getrandom(ours.salt, sizes.master_salt, 0) != sizes.master_salt)
        return refuse(at + "cannot draw a key from the OS");
      auto their_keys = dp_.DeriveSrtpKeys(theirs);
      auto our_keys = dp_.DeriveSrtpKeys(ours);
      if (!their_keys || !our_keys) return refuse(at + (their_keys ? our_keys.error() : their_keys.error()));
      ls.srtp_from_leg = *their_keys;
      ls.srtp_to_leg = *our_keys;
      std::string our_key(reinterpret_cast<char*>(ours.key), sizes.master_key);
      our_key.append(reinterpret_cast<char*>(ours.salt), sizes.master_salt);
      reply.add_legs()->set_our_key(our_key);
      ours = {};  // the master keys do not outlive this call
      theirs = {};
    } else {
      reply.add_legs();
    }
  }
  // Relay ports: even, with port + 1 for RTCP, from the configured range, next fit.
  const uint32_t span = (settings.port_max - settings.port_min) / 2 + 1;
  for (int l = 0; l < 2; ++l) {
    uint16_t port = 0;
    for (uint32_t tries = 0; tries < span && port == 0; ++tries) {
      cursor_ = static_cast<uint16_t>((cursor_ + 1) % span);
      const auto candidate = static_cast<uint16_t>(settings.port_min + 2 * cursor_);
      if (candidate + 1u <= settings.port_max && !ports_in_use_.contains(candidate)) port = candidate;
    }
    if (port == 0) {
      for (uint16_t p : taken) ports_in_use_.erase(p);
      return refuse("no free relay port in media.port_min..port_max");
    }
    ports_in_use_.insert(port);
    taken.push_back(port);
    spec.legs[l].local.port = port;
    reply.mutable_legs(l)->set_local(dataplane::ToText(spec.legs[l].local));
    reply.mutable_legs(l)->set_interface(interfaces[l]);
    reply.mutable_legs(l)->set_suite(request.legs(l).suite());
  }
  if (auto added = dp_.AddMediaSession(spec); !added) {
    for (uint16_t p : taken) ports_in_use_.erase(p);
    reply.clear_legs();
    return refuse(added.error());
  }
  ports_[id] = taken;
  interfaces_[id] = interfaces;
  if (picked) next_id_ = id + 1;
  reply.set_id(id);
  return reply;
}

void MediaService::ReleasePorts(uint64_t id) {
  for (uint16_t p : ports_[id]) ports_in_use_.erase(p);
  ports_.erase(id);
  interfaces_.erase(id);
}

std::vector<schema::MediaSession> MediaService::Delete(const std::vector<schema::MediaSession>& sessions) {
  std::lock_guard lock(mutex_);
  std::vector<schema::MediaSession> out;
  for (const auto& s : sessions) {
    schema::MediaSession& r = out.emplace_back();
    r.set_id(s.id());
    if (!dp_.RemoveMediaSession(s.id())) {
      r.set_error("no media session " + std::to_string(s.id()));
      continue;
    }
    ReleasePorts(s.id());
  }
  return out;
}

std::vector<schema::MediaSession> MediaService::List() const {
  std::lock_guard lock(mutex_);
  std::vector<schema::MediaSession> out;
  dp_.VisitMediaSessions([&](const dataplane::MediaSession& s) {
    schema::MediaSession& r = out.emplace_back();
    r.set_id(s.id);
    const auto names = interfaces_.find(s.id);
    for (int l = 0; l < 2; ++l) {
      const dataplane::MediaLeg& leg = s.legs[l];
      schema::MediaLeg* m = r.add_legs();
      if (names != interfaces_.end()) m->set_interface(names->second[l]);
      m->set_local(dataplane::ToText(leg.spec.local));
      if (leg.remote_known) m->set_remote(dataplane::ToText(leg.remote));
      m->set_latched(leg.remote_known && !leg.spec.remote.has_value());
      m->set_rtcp_mux(leg.spec.rtcp_mux);
      if (leg.srtp) m->set_suite(static_cast<schema::SrtpSuite>(static_cast<int>(leg.from_leg.suite) + 1));
      m->set_clock_rate(leg.spec.clock_rate);
      m->set_packets_in(leg.counters.packets_in);
      m->set_bytes_in(leg.counters.bytes_in);
      m->set_packets_out(leg.counters.packets_out);
      m->set_bytes_out(leg.counters.bytes_out);
      m->set_wrong_source(leg.counters.wrong_source);
      m->set_auth_failures(leg.from_leg.counters.auth_failures);
      m->set_replays(leg.from_leg.counters.replays);
      m->set_sequence_gaps(leg.rtp_stats.gaps());
      m->set_jitter(leg.rtp_stats.jitter());
    }
  });
  for (const auto& e : ended_) out.push_back(e);
  return out;
}

std::vector<uint64_t> MediaService::ExpireIdle() {
  const dataplane::MediaSettings settings = dp_.media_settings();
  if (settings.idle_timeout_s == 0) return {};
  std::lock_guard lock(mutex_);
  const std::vector<uint64_t> ended = dp_.RemoveIdleMediaSessions(settings.idle_timeout_s);
  for (uint64_t id : ended) {
    ReleasePorts(id);
    schema::MediaSession& e = ended_.emplace_back();
    e.set_id(id);
    e.set_ended("idle");
    if (ended_.size() > kEndedKept) ended_.pop_front();
    if (log_) log_("media session " + std::to_string(id) + " ended: no media either way for " +
                   std::to_string(settings.idle_timeout_s) + " s");
  }
  return ended;
}

}  // namespace sbc::firmware
