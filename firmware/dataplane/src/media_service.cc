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
    if (close == std::string::npos)
      return std::unexpected("\"" + text + "\" is not [address]:port");
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
  if (inet_pton(e.family == Family::kIpv6 ? AF_INET6 : AF_INET, host.c_str(), e.address.data()) !=
      1)
    return std::unexpected("\"" + host + "\" is not an IP address");
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p == 0 || p > 65535)
    return std::unexpected("\"" + port + "\" is not a port");
  e.port = static_cast<uint16_t>(p);
  return e;
}

// A session refused: its id and why, nothing half-made (least of all a key).
schema::MediaSession Refusal(uint64_t id, const std::string& why) {
  schema::MediaSession refused;
  refused.set_id(id);
  refused.set_error(why);
  return refused;
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

std::vector<schema::MediaSession> MediaService::EachUnderLock(
    const std::vector<schema::MediaSession>& sessions, OneSession one) {
  const dataplane::MediaSettings settings = dp_.media_settings();
  std::lock_guard lock(mutex_);
  std::vector<schema::MediaSession> out;
  out.reserve(sessions.size());
  for (const auto& s : sessions) out.push_back((this->*one)(s, settings));
  return out;
}

std::vector<schema::MediaSession> MediaService::Create(
    const std::vector<schema::MediaSession>& sessions) {
  return EachUnderLock(sessions, &MediaService::CreateOne);
}

schema::MediaSession MediaService::CreateOne(const schema::MediaSession& request,
                                             const dataplane::MediaSettings& settings) {
  schema::MediaSession reply;
  reply.set_id(request.id());
  auto refuse = [&request](const std::string& why) { return Refusal(request.id(), why); };
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
      auto asked = ParseEndpoint(leg.local_address().find(':') != std::string::npos &&
                                         leg.local_address()[0] != '['
                                     ? "[" + leg.local_address() + "]:1"
                                     : leg.local_address() + ":1");
      if (!asked) return refuse(at + "local_address: " + asked.error());
      want_v6 = asked->family == Family::kIpv6;
      for (const auto& a : settings.service_addresses)
        if (a.ipv6 == want_v6 &&
            std::memcmp(a.address.data(), asked->address.data(), want_v6 ? 16 : 4) == 0)
          service = &a;
      if (service == nullptr)
        return refuse(at + "local_address " + leg.local_address() +
                      " is not a media service address");
      if (ls.remote && ls.remote->family != asked->family)
        return refuse(at + "local_address and remote are of different address families");
    } else {
      for (const auto& a : settings.service_addresses)
        if (a.ipv6 == want_v6 && service == nullptr) service = &a;
    }
    if (service == nullptr) return refuse(at + "no media service address of the remote's family");
    ls.local = {
        .family = want_v6 ? Family::kIpv6 : Family::kIpv4, .address = service->address, .port = 0};
    ls.rtcp_mux = leg.rtcp_mux();
    ls.clock_rate = leg.clock_rate() ? leg.clock_rate() : 8000;
    ls.latching = static_cast<dataplane::Latching>(settings.latching);
    schema::MediaLeg* answer = reply.add_legs();
    if (leg.suite() != schema::SRTP_SUITE_UNSPECIFIED) {
      auto suite = AllowedSuite(leg.suite(), settings);
      if (!suite) return refuse(at + suite.error());
      auto theirs = TheirKeys(leg.leg_key(), *suite);
      if (!theirs) return refuse(at + theirs.error());
      auto ours = OurKeys(*suite);
      if (!ours) return refuse(at + ours.error());
      ls.srtp_from_leg = *theirs;
      ls.srtp_to_leg = ours->keys;
      answer->set_our_key(ours->sdes);
    }
  }
  // Relay ports: even, with port + 1 for RTCP, from the configured range: the first
  // free one from a random start, so no one who has seen one call's ports can tell the
  // next call's (and send to them first, where plain RTP latches on its first packet).
  const uint32_t span = (settings.port_max - settings.port_min) / 2 + 1;
  for (int l = 0; l < 2; ++l) {
    uint16_t port = 0;
    uint32_t start = 0;
    if (getrandom(&start, sizeof(start), 0) != sizeof(start))
      return refuse("no randomness for a relay port");
    for (uint32_t tries = 0; tries < span && port == 0; ++tries) {
      const uint32_t offset = (start + tries) % span;
      const auto candidate = static_cast<uint16_t>(settings.port_min + 2 * offset);
      if (candidate + 1u <= settings.port_max && !ports_in_use_.contains(candidate))
        port = candidate;
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
  auto added = dp_.AddMediaSession(spec);
  for (auto& leg : spec.legs)  // the streams hold what they need now
    for (auto* keys : {&leg.srtp_from_leg, &leg.srtp_to_leg})
      if (keys->has_value()) dataplane::Wipe(**keys);
  if (!added) {
    for (uint16_t p : taken) ports_in_use_.erase(p);
    return refuse(added.error());
  }
  ports_[id] = taken;
  interfaces_[id] = interfaces;
  if (picked) next_id_ = id + 1;
  reply.set_id(id);
  return reply;
}

std::expected<dataplane::SrtpSuite, std::string> MediaService::AllowedSuite(
    schema::SrtpSuite suite, const dataplane::MediaSettings& settings) {
  if (!settings.allowed_suites.empty() &&
      std::find(settings.allowed_suites.begin(), settings.allowed_suites.end(), suite) ==
          settings.allowed_suites.end())
    return std::unexpected(schema::SrtpSuite_Name(suite) + " is not in media.allowed_suites");
  return static_cast<dataplane::SrtpSuite>(suite - 1);
}

std::expected<dataplane::SrtpStreamKeys, std::string> MediaService::TheirKeys(
    const std::string& sdes, dataplane::SrtpSuite suite) {
  const dataplane::SrtpSuiteSizes sizes = dataplane::SizesOf(suite);
  if (sdes.size() != size_t{sizes.master_key} + sizes.master_salt)
    return std::unexpected("leg_key must be " +
                           std::to_string(sizes.master_key + sizes.master_salt) +
                           " bytes (master key and salt) for " + dataplane::SrtpSuiteName(suite));
  dataplane::SrtpMasterKey master;
  master.suite = suite;
  std::memcpy(master.key, sdes.data(), sizes.master_key);
  std::memcpy(master.salt, sdes.data() + sizes.master_key, sizes.master_salt);
  auto keys = dp_.DeriveSrtpKeys(master);
  dataplane::Wipe(master);  // the master key does not outlive this call
  return keys;
}

std::expected<MediaService::DrawnKeys, std::string> MediaService::OurKeys(
    dataplane::SrtpSuite suite) {
  const dataplane::SrtpSuiteSizes sizes = dataplane::SizesOf(suite);
  dataplane::SrtpMasterKey master;
  master.suite = suite;
  if (getrandom(master.key, sizes.master_key, 0) != sizes.master_key ||
      getrandom(master.salt, sizes.master_salt, 0) != sizes.master_salt)
    return std::unexpected(std::string("cannot draw a key from the OS"));
  auto keys = dp_.DeriveSrtpKeys(master);
  DrawnKeys drawn;
  if (keys) {
    drawn.keys = *keys;
    drawn.sdes.assign(reinterpret_cast<char*>(master.key), sizes.master_key);
    drawn.sdes.append(reinterpret_cast<char*>(master.salt), sizes.master_salt);
  }
  dataplane::Wipe(master);
  if (keys) dataplane::Wipe(*keys);  // copied into `drawn`
  if (!keys) return std::unexpected(keys.error());
  return drawn;
}

std::vector<schema::MediaSession> MediaService::Update(
    const std::vector<schema::MediaSession>& sessions) {
  return EachUnderLock(sessions, &MediaService::UpdateOne);
}

schema::MediaSession MediaService::UpdateOne(const schema::MediaSession& request,
                                             const dataplane::MediaSettings& settings) {
  schema::MediaSession reply;
  reply.set_id(request.id());
  auto refuse = [&request](const std::string& why) { return Refusal(request.id(), why); };
  const uint64_t id = request.id();
  // What stays: each leg's relay port and address, data port and RTCP multiplexing.
  struct Current {
    dataplane::MediaEndpoint local;
    bool rtcp_mux = false;
    bool srtp = false;
    dataplane::SrtpSuite suite{};
  };
  std::array<Current, 2> current;
  const std::optional<dataplane::MediaSessionSnapshot> live = dp_.MediaSession(id);
  if (!live || !interfaces_.contains(id)) return refuse("no media session " + std::to_string(id));
  for (int l = 0; l < 2; ++l) {
    const dataplane::MediaLegSnapshot& leg = live->legs[l];
    current[l] = {leg.spec.local, leg.spec.rtcp_mux, leg.suite.has_value(),
                  leg.suite.value_or(dataplane::SrtpSuite{})};
  }
  if (request.legs_size() != 2) return refuse("a media session has exactly 2 legs");

  dataplane::MediaSessionUpdate update{.id = id};
  for (int l = 0; l < 2; ++l) {
    const schema::MediaLeg& leg = request.legs(l);
    const Current& now = current[l];
    const std::string at = "legs[" + std::to_string(l) + "]: ";
    const std::string& interface = interfaces_[id][l];
    if (!leg.interface().empty() && leg.interface() != interface) {
      std::string why = at;
      why += "a live leg stays on its data port (";
      why += interface;
      why += "); create a new session to move it";
      return refuse(why);
    }
    if (leg.rtcp_mux() != now.rtcp_mux)
      return refuse(at + "rtcp_mux of a live leg stays as created (" +
                    (now.rtcp_mux ? "on" : "off") + ")");
    dataplane::MediaLegUpdate& u = update.legs[l];
    if (!leg.remote().empty()) {
      auto remote = ParseEndpoint(leg.remote());
      if (!remote) return refuse(at + "remote: " + remote.error());
      u.remote = *remote;
    }
    u.clock_rate = leg.clock_rate() ? leg.clock_rate() : 8000;
    schema::MediaLeg* answer = reply.add_legs();
    answer->set_interface(interface);
    answer->set_local(dataplane::ToText(now.local));
    answer->set_rtcp_mux(now.rtcp_mux);
    answer->set_suite(leg.suite());
    if (leg.suite() == schema::SRTP_SUITE_UNSPECIFIED) continue;
    auto suite = AllowedSuite(leg.suite(), settings);
    if (!suite) return refuse(at + suite.error());
    u.srtp = true;
    const bool same_suite = now.srtp && now.suite == *suite;
    // The party's key: the same again keeps its stream (the table tells); none keeps it too.
    if (!leg.leg_key().empty()) {
      auto theirs = TheirKeys(leg.leg_key(), *suite);
      if (!theirs) return refuse(at + theirs.error());
      u.srtp_from_leg = *theirs;
    } else if (!same_suite) {
      return refuse(at + "leg_key is needed for " + schema::SrtpSuite_Name(leg.suite()));
    }
    // Ours: kept while the suite stays, unless a new one is asked for.
    if (!same_suite || leg.new_our_key()) {
      auto ours = OurKeys(*suite);
      if (!ours) return refuse(at + ours.error());
      u.srtp_to_leg = ours->keys;
      answer->set_our_key(ours->sdes);
    }
  }
  if (auto updated = dp_.UpdateMediaSession(update); !updated) return refuse(updated.error());
  return reply;
}

void MediaService::ReleasePorts(uint64_t id) {
  for (uint16_t p : ports_[id]) ports_in_use_.erase(p);
  ports_.erase(id);
  interfaces_.erase(id);
}

std::vector<schema::MediaSession> MediaService::Delete(
    const std::vector<schema::MediaSession>& sessions) {
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
  for (const dataplane::MediaSessionSnapshot& s : dp_.MediaSessions()) {
    schema::MediaSession& r = out.emplace_back();
    r.set_id(s.id);
    const auto names = interfaces_.find(s.id);
    for (int l = 0; l < 2; ++l) {
      const dataplane::MediaLegSnapshot& leg = s.legs[l];
      schema::MediaLeg* m = r.add_legs();
      if (names != interfaces_.end()) m->set_interface(names->second[l]);
      m->set_local(dataplane::ToText(leg.spec.local));
      if (leg.remote) m->set_remote(dataplane::ToText(*leg.remote));
      m->set_latched(leg.latched);
      m->set_rtcp_mux(leg.spec.rtcp_mux);
      if (leg.suite) m->set_suite(static_cast<schema::SrtpSuite>(static_cast<int>(*leg.suite) + 1));
      m->set_clock_rate(leg.spec.clock_rate);
      m->set_packets_in(leg.counters.packets_in);
      m->set_bytes_in(leg.counters.bytes_in);
      m->set_packets_out(leg.counters.packets_out);
      m->set_bytes_out(leg.counters.bytes_out);
      m->set_wrong_source(leg.counters.wrong_source);
      m->set_auth_failures(leg.auth_failures);
      m->set_replays(leg.replays);
      m->set_sequence_gaps(leg.sequence_gaps);
      m->set_jitter(leg.jitter);
    }
  }
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
    if (log_)
      log_("media session " + std::to_string(id) + " ended: no media either way for " +
           std::to_string(settings.idle_timeout_s) + " s");
  }
  return ended;
}

}  // namespace sbc::firmware
