#include "sbc/dataplane/media/media_table.h"

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstring>

#include "media_session.h"
#include "sbc/dataplane/core/table_slot.h"

namespace sbc::dataplane {
namespace {

constexpr size_t kPortNumbers = 65536;

// The relay address of `port` is `local` (the port numbers are equal: same list).
bool SameRelayAddress(const MediaEndpoint& port, const MediaEndpoint& local) {
  if (port.family != local.family) return false;
  // Fixed-size compares, inlined: a call to memcmp would wait on the port's line anyway.
  if (local.family == Family::kIpv4)
    return std::memcmp(port.address.data(), local.address.data(), 4) == 0;
  return std::memcmp(port.address.data(), local.address.data(), 16) == 0;
}

// TSC ticks to units of an RTP clock, 32.32 fixed point.
uint64_t RtpUnitsPerTscQ32(uint32_t clock_rate) {
  const uint64_t hz = rte_get_tsc_hz();
  return hz == 0 ? 0
                 : static_cast<uint64_t>((static_cast<unsigned __int128>(clock_rate) << 32) / hz);
}

MediaSessionSnapshot SnapshotOfSession(const MediaSession& s) {
  MediaSessionSnapshot out{.id = s.id, .owner = s.owner, .last_active_tsc = s.LastActiveTsc()};
  for (int l = 0; l < 2; ++l) {
    const MediaLeg& leg = s.legs[l];
    MediaLegSnapshot& o = out.legs[l];
    o.spec = leg.spec;  // the control lcore's own
    // `srtp` and the suite change only while the control lcore waits in Update().
    o.remote = leg.published_remote.Load();
    o.latched = o.remote.has_value() && !leg.spec.remote.has_value();
    if (leg.srtp) o.suite = leg.from_leg.suite;
    const MediaLegCounters& c = leg.counters;
    o.counters = {.packets_in = LoadShared(c.packets_in),
                  .bytes_in = LoadShared(c.bytes_in),
                  .wrong_source = LoadShared(c.wrong_source),
                  .packets_out = LoadShared(c.packets_out),
                  .bytes_out = LoadShared(c.bytes_out),
                  .latches = LoadShared(c.latches)};
    o.auth_failures = LoadShared(leg.from_leg.counters.auth_failures);
    o.replays = LoadShared(leg.from_leg.counters.replays);
    o.sequence_gaps = leg.rtp_stats.gaps();
    o.jitter = leg.rtp_stats.jitter();
  }
  return out;
}

// What a relay port tells the relay ahead of the session's lines: its owner's (Add,
// before the session is linked, or the owner applying a change).
void SetPortHints(MediaSession& session) {
  for (uint8_t p = 0; p < session.port_count; ++p) {
    MediaPort& port = session.ports[p];
    const MediaLeg& leg = session.legs[port.leg];
    port.unprotect_session = !leg.srtp   ? nullptr
                             : port.rtcp ? leg.from_leg.rtcp_session
                                         : leg.from_leg.rtp_sessions[0].session;
    port.unprotect_session_lines = leg.srtp ? leg.from_leg.session_lines : 0;
    port.other_leg_srtp = session.legs[1 - port.leg].srtp;
  }
}

// The owner's part of an update (or the control lcore's, when no worker polls): the
// runtime state only, nothing allocated or freed.
void Apply(MediaSessionChange& change) noexcept {
  MediaSession& session = *change.session;
  for (uint8_t l = 0; l < 2; ++l) {
    MediaSessionChange::Leg& c = change.legs[l];
    MediaLeg& leg = session.legs[l];
    if (c.remote) {
      leg.remote = *c.remote;
      leg.remote_known = true;
      leg.remote_given = true;
    } else if (leg.remote_given) {
      leg.remote_known = false;  // was given, is now to be learnt
      leg.remote_given = false;
    }
    leg.published_remote.Store(leg.remote_known ? std::optional(leg.remote) : std::nullopt);
    leg.rtp_units_per_tsc_q32 = c.rtp_units_per_tsc_q32;
    SrtpStream* current[2] = {&leg.from_leg, &leg.to_leg};
    for (int d = 0; d < 2; ++d) {
      if (!c.replace[d]) continue;  // goes on as it is
      const SrtpStream old = *current[d];
      *current[d] = c.stream[d];
      c.stream[d] = old;
    }
    leg.srtp = c.srtp;
  }
  SetPortHints(session);
}

}  // namespace

void PublishedEndpoint::Store(const std::optional<MediaEndpoint>& endpoint) noexcept {
  const uint32_t sequence = sequence_.load(std::memory_order_relaxed);
  sequence_.store(sequence + 1, std::memory_order_relaxed);
  // Release stores: a reader that sees any of them sees the odd sequence too.
  uint64_t words[2] = {};
  uint32_t known_family_port = 0;
  if (endpoint) {
    std::memcpy(words, endpoint->address.data(), sizeof(words));
    known_family_port =
        (1u << 24) | (uint32_t{static_cast<uint8_t>(endpoint->family)} << 16) | endpoint->port;
  }
  address_[0].store(words[0], std::memory_order_release);
  address_[1].store(words[1], std::memory_order_release);
  known_family_port_.store(known_family_port, std::memory_order_release);
  sequence_.store(sequence + 2, std::memory_order_release);
}

std::optional<MediaEndpoint> PublishedEndpoint::Load() const noexcept {
  for (;;) {
    const uint32_t before = sequence_.load(std::memory_order_acquire);
    const uint64_t words[2] = {address_[0].load(std::memory_order_acquire),
                               address_[1].load(std::memory_order_acquire)};
    const uint32_t known_family_port = known_family_port_.load(std::memory_order_acquire);
    if ((before & 1) != 0 || sequence_.load(std::memory_order_relaxed) != before) {
      rte_pause();  // a store is under way: a few instructions long
      continue;
    }
    if ((known_family_port & (1u << 24)) == 0) return std::nullopt;
    MediaEndpoint endpoint{.family = static_cast<Family>((known_family_port >> 16) & 0xff),
                           .port = static_cast<uint16_t>(known_family_port)};
    std::memcpy(endpoint.address.data(), words, sizeof(words));
    return endpoint;
  }
}

uint64_t MediaSession::LastActiveTsc() const {
  uint64_t last = 0;
  for (uint8_t p = 0; p < port_count; ++p)
    last = std::max(last, ports[p].last_active_tsc.load(std::memory_order_relaxed));
  return last;
}

std::string ToText(const MediaEndpoint& e) {
  char address[INET6_ADDRSTRLEN] = {};
  inet_ntop(e.family == Family::kIpv6 ? AF_INET6 : AF_INET, e.address.data(), address,
            sizeof(address));
  return e.family == Family::kIpv6 ? "[" + std::string(address) + "]:" + std::to_string(e.port)
                                   : std::string(address) + ":" + std::to_string(e.port);
}

std::expected<std::unique_ptr<MediaTable>, std::string> MediaTable::Create(
    uint32_t max_sessions, rte_rcu_qsbr* qsbr, SrtpStreamFactory* srtp,
    const std::atomic<uint64_t>* clock) {
  if (max_sessions == 0) return std::unexpected(std::string("media table: room for no session"));
  std::unique_ptr<MediaTable> table(new MediaTable());
  table->max_sessions_ = max_sessions;
  table->by_port_ = std::make_unique<std::atomic<MediaPort*>[]>(kPortNumbers);
  for (size_t p = 0; p < kPortNumbers; ++p)
    table->by_port_[p].store(nullptr, std::memory_order_relaxed);
  table->qsbr_ = qsbr;
  table->srtp_ = srtp;
  table->clock_ = clock;
  return table;
}

MediaTable::~MediaTable() {
  while (!sessions_.empty()) (void)Remove(sessions_.begin()->first);
}

// A port goes in fully formed, then becomes visible with one release store.
void MediaTable::Link(MediaPort* port) {
  std::atomic<MediaPort*>& head = by_port_[port->local.port];
  port->next.store(head.load(std::memory_order_relaxed), std::memory_order_relaxed);
  head.store(port, std::memory_order_release);
}

// A reader on `port` still finds its way on through port->next, which stays as it is
// until the session is freed after a grace period.
void MediaTable::Unlink(MediaPort* port) {
  std::atomic<MediaPort*>* link = &by_port_[port->local.port];
  for (MediaPort* p = link->load(std::memory_order_relaxed); p != nullptr;
       link = &p->next, p = link->load(std::memory_order_relaxed)) {
    if (p == port) {
      link->store(port->next.load(std::memory_order_relaxed), std::memory_order_release);
      return;
    }
  }
}

std::expected<void, std::string> MediaTable::Add(const MediaSessionSpec& spec) {
  if (sessions_.contains(spec.id))
    return std::unexpected("media session " + std::to_string(spec.id) + " exists");
  if (sessions_.size() >= max_sessions_)
    return std::unexpected("media table full (" + std::to_string(max_sessions_) + " sessions)");
  if (spec.legs[0].local.family != spec.legs[1].local.family)
    return std::unexpected(std::string("legs of different address families are not relayed"));
  for (uint8_t l = 0; l < 2; ++l) {
    const MediaLegSpec& ls = spec.legs[l];
    if (ls.remote && ls.remote->family != ls.local.family)
      return std::unexpected("leg " + std::to_string(l) +
                             ": remote and relay address families differ");
    if (ls.srtp_from_leg.has_value() != ls.srtp_to_leg.has_value())
      return std::unexpected("leg " + std::to_string(l) + ": SRTP needs keys both ways");
    if (ls.srtp_from_leg && srtp_ == nullptr)
      return std::unexpected(
          std::string("SRTP asked for, but this dataplane has no crypto device"));
    if (!ls.rtcp_mux && ls.local.port == 0xffff)
      return std::unexpected("leg " + std::to_string(l) + ": RTCP needs port " +
                             std::to_string(ls.local.port) + " + 1");
  }
  auto session = std::make_unique<MediaSession>();
  session->id = spec.id;
  session->owner = spec.owner;
  // RTP ports first (see MediaSession), then RTCP's.
  auto add_port = [&session, &spec](uint8_t leg, bool rtcp) {
    MediaPort& port = session->ports[session->port_count++];
    port.session = session.get();
    port.owner = spec.owner;
    port.leg = leg;
    port.rtcp = rtcp;
    port.local = spec.legs[leg].local;
    if (port.local.family == Family::kIpv4) std::memset(port.local.address.data() + 4, 0, 12);
    if (rtcp) ++port.local.port;
  };
  for (uint8_t l = 0; l < 2; ++l) add_port(l, false);
  for (uint8_t l = 0; l < 2; ++l)
    if (!spec.legs[l].rtcp_mux) add_port(l, true);
  // Every relay port must be free before any is taken.
  for (uint8_t p = 0; p < session->port_count; ++p) {
    const MediaEndpoint& local = session->ports[p].local;
    bool clash = Find(local) != nullptr;
    for (uint8_t q = 0; q < p; ++q) clash |= session->ports[q].local == local;
    if (clash) return std::unexpected("relay port " + ToText(local) + " is in use");
  }
  for (uint8_t l = 0; l < 2; ++l) {
    const MediaLegSpec& ls = spec.legs[l];
    MediaLeg& leg = session->legs[l];
    leg.spec = ls;
    leg.local = ls.local;
    leg.rtcp_mux = ls.rtcp_mux;
    leg.port_slot = ls.port_slot;
    leg.latching = ls.latching;
    leg.rtp_units_per_tsc_q32 = RtpUnitsPerTscQ32(ls.clock_rate);
    if (ls.remote) {
      leg.remote_given = true;
      leg.remote_known = true;
      leg.remote = *ls.remote;
      if (leg.remote.family == Family::kIpv4) std::memset(leg.remote.address.data() + 4, 0, 12);
      leg.published_remote.Store(leg.remote);
    }
    if (ls.srtp_from_leg && ls.srtp_to_leg) {  // both or neither (checked above)
      if (auto ok = srtp_->Build(*ls.srtp_from_leg, SrtpDirection::kUnprotect, &leg.from_leg);
          !ok) {
        Free(std::move(session));
        return std::unexpected(ok.error());
      }
      if (auto ok = srtp_->Build(*ls.srtp_to_leg, SrtpDirection::kProtect, &leg.to_leg); !ok) {
        srtp_->Release(&leg.from_leg);
        Free(std::move(session));
        return std::unexpected(ok.error());
      }
      leg.srtp = true;
      // The streams hold what the fast path needs; the session keys go no further.
      Wipe(leg.spec.srtp_from_leg.value());
      Wipe(leg.spec.srtp_to_leg.value());
      leg.spec.srtp_from_leg.reset();
      leg.spec.srtp_to_leg.reset();
    }
  }
  SetPortHints(*session);
  const uint64_t now =
      clock_ == nullptr ? rte_get_tsc_cycles() : clock_->load(std::memory_order_relaxed);
  for (uint8_t p = 0; p < session->port_count; ++p)
    session->ports[p].last_active_tsc.store(now, std::memory_order_relaxed);
  for (uint8_t l = 0; l < 2; ++l) AddRelayAddress(session->legs[l].local);
  for (uint8_t p = 0; p < session->port_count; ++p) {
    const uint16_t number = session->ports[p].local.port;
    Link(&session->ports[p]);
    min_port_.store(std::min(min_port_.load(std::memory_order_relaxed), number),
                    std::memory_order_relaxed);
    max_port_.store(std::max(max_port_.load(std::memory_order_relaxed), number),
                    std::memory_order_relaxed);
  }
  const uint64_t id = session->id;
  sessions_.emplace(id, std::move(session));
  return {};
}

std::expected<void, std::string> MediaTable::Update(const MediaSessionUpdate& update) {
  const auto it = sessions_.find(update.id);
  if (it == sessions_.end())
    return std::unexpected("no media session " + std::to_string(update.id));
  MediaSession& session = *it->second;
  for (uint8_t l = 0; l < 2; ++l) {
    const MediaLegUpdate& u = update.legs[l];
    const MediaLeg& leg = session.legs[l];
    if (u.remote && u.remote->family != leg.local.family)
      return std::unexpected("leg " + std::to_string(l) +
                             ": remote and relay address families differ");
    if (u.srtp && !leg.srtp && (!u.srtp_from_leg || !u.srtp_to_leg))
      return std::unexpected("leg " + std::to_string(l) + ": SRTP needs keys both ways");
    if (u.srtp && srtp_ == nullptr)
      return std::unexpected(
          std::string("SRTP asked for, but this dataplane has no crypto device"));
  }
  // New streams first, so a failure changes nothing.
  struct Fresh {
    SrtpStream stream;
    bool built = false;
  };
  Fresh fresh[2][2];  // [leg][0: from the leg, 1: to the leg]
  auto release_fresh = [&] {
    for (auto& leg : fresh)
      for (Fresh& f : leg)
        if (f.built) srtp_->Release(&f.stream);
  };
  for (uint8_t l = 0; l < 2; ++l) {
    const MediaLegUpdate& u = update.legs[l];
    const MediaLeg& leg = session.legs[l];
    if (!u.srtp) continue;
    const std::optional<SrtpStreamKeys>* keys[2] = {&u.srtp_from_leg, &u.srtp_to_leg};
    const SrtpStream* current[2] = {&leg.from_leg, &leg.to_leg};
    const SrtpDirection direction[2] = {SrtpDirection::kUnprotect, SrtpDirection::kProtect};
    for (int d = 0; d < 2; ++d) {
      const std::optional<SrtpStreamKeys>& wanted = *keys[d];
      if (!wanted.has_value() || (leg.srtp && BuiltFrom(*current[d], *wanted))) continue;
      if (auto ok = srtp_->Build(*wanted, direction[d], &fresh[l][d].stream); !ok) {
        release_fresh();
        return std::unexpected(ok.error());
      }
      fresh[l][d].built = true;
    }
  }
  // The rest is the owner's to write (see MediaSessionChange).
  MediaSessionChange change{.session = &session};
  for (uint8_t l = 0; l < 2; ++l) {
    const MediaLegUpdate& u = update.legs[l];
    MediaSessionChange::Leg& c = change.legs[l];
    c.remote = u.remote;
    if (c.remote && c.remote->family == Family::kIpv4)
      std::memset(c.remote->address.data() + 4, 0, 12);
    c.rtp_units_per_tsc_q32 = RtpUnitsPerTscQ32(u.clock_rate);
    c.srtp = u.srtp;
    for (int d = 0; d < 2; ++d) {
      c.replace[d] = !u.srtp || fresh[l][d].built;
      c.retired[d] = c.replace[d] && session.legs[l].srtp;
      if (fresh[l][d].built) c.stream[d] = fresh[l][d].stream;
    }
  }
  ApplyByOwner(change);
  for (uint8_t l = 0; l < 2; ++l) {
    MediaLeg& leg = session.legs[l];
    leg.spec.remote = update.legs[l].remote;
    leg.spec.clock_rate = update.legs[l].clock_rate;
    for (int d = 0; d < 2; ++d)  // no worker holds them now
      if (change.legs[l].retired[d]) srtp_->Release(&change.legs[l].stream[d]);
  }
  return {};
}

void MediaTable::ApplyByOwner(MediaSessionChange& change) {
  if (qsbr_ == nullptr) {  // no workers
    Apply(change);
    return;
  }
  pending_change_.store(&change, std::memory_order_release);
  // A worker takes a change at the start of a poll and reports a quiescent state at its
  // end. After one grace period every online worker has begun a poll since the change
  // was posted, after two it has finished one: if the owner has not taken it by then,
  // it is not polling (stopped, or never started) and no worker writes the session.
  for (int period = 0; period < 2; ++period) {
    WaitForGracePeriod(qsbr_);
    if (change.applied.load(std::memory_order_acquire)) return;
  }
  MediaSessionChange* expected = &change;
  if (pending_change_.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
    Apply(change);
    return;
  }
  while (!change.applied.load(std::memory_order_acquire))  // the owner took it just now
    rte_pause();
}

bool MediaTable::ChangePendingFor(uint8_t worker) const noexcept {
  const MediaSessionChange* change = pending_change_.load(std::memory_order_acquire);
  return change != nullptr && change->session->owner == worker;
}

void MediaTable::ApplyChangesFor(uint8_t worker) const noexcept {
  MediaSessionChange* change = pending_change_.load(std::memory_order_acquire);
  if (change == nullptr || change->session->owner != worker) [[likely]]  // owner never changes
    return;
  if (!pending_change_.compare_exchange_strong(change, nullptr, std::memory_order_acq_rel))
    return;  // the control lcore took it back
  Apply(*change);
  change->applied.store(true, std::memory_order_release);
}

void MediaTable::Free(std::unique_ptr<MediaSession> session) {
  for (MediaLeg& leg : session->legs) {
    if (!leg.srtp) continue;
    srtp_->Release(&leg.from_leg);
    srtp_->Release(&leg.to_leg);
  }
}

bool MediaTable::Remove(uint64_t id) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  std::unique_ptr<MediaSession> session = std::move(it->second);
  sessions_.erase(it);
  for (uint8_t p = 0; p < session->port_count; ++p) Unlink(&session->ports[p]);
  // No worker may still hold the session.
  if (qsbr_ != nullptr) WaitForGracePeriod(qsbr_);
  Free(std::move(session));
  return true;
}

std::vector<uint64_t> MediaTable::RemoveIdle(uint64_t now_tsc, uint64_t idle_tsc) {
  std::vector<uint64_t> idle;
  for (const auto& [id, s] : sessions_) {
    // A worker may have stamped a port after `now_tsc` was read: that session is busy,
    // not 2^64 ticks idle.
    const uint64_t last = s->LastActiveTsc();
    if (last < now_tsc && now_tsc - last >= idle_tsc) idle.push_back(id);
  }
  for (uint64_t id : idle) (void)Remove(id);
  return idle;
}

std::vector<const MediaSession*> MediaTable::Sessions() const {
  std::vector<const MediaSession*> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) out.push_back(s.get());
  std::sort(out.begin(), out.end(),
            [](const MediaSession* a, const MediaSession* b) { return a->id < b->id; });
  return out;
}

const MediaSession* MediaTable::Get(uint64_t id) const {
  const auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

std::vector<MediaSessionSnapshot> MediaTable::Snapshot() const {
  std::vector<MediaSessionSnapshot> out;
  out.reserve(sessions_.size());
  for (const MediaSession* s : Sessions()) out.push_back(SnapshotOfSession(*s));
  return out;
}

std::optional<MediaSessionSnapshot> MediaTable::SnapshotOf(uint64_t id) const {
  const MediaSession* s = Get(id);
  if (s == nullptr) return std::nullopt;
  return SnapshotOfSession(*s);
}

const MediaPort* MediaTable::FindIn(const MediaPort* head,
                                    const MediaEndpoint& local) const noexcept {
  for (const MediaPort* port = head; port != nullptr;
       port = port->next.load(std::memory_order_acquire))
    if (SameRelayAddress(port->local, local)) return port;
  return nullptr;
}

const MediaPort* MediaTable::Find(const MediaEndpoint& local) const noexcept {
  return FindIn(by_port_[local.port].load(std::memory_order_acquire), local);
}

void MediaTable::FindBulk(const MediaEndpoint* const* locals, uint32_t count,
                          const MediaPort** found) const noexcept {
  // Ask for every port's first list entry (inside its session, read next anyway), then walk.
  for (uint32_t i = 0; i < count; ++i) {
    const MediaPort* head = by_port_[locals[i]->port].load(std::memory_order_acquire);
    found[i] = head;
    if (head != nullptr) rte_prefetch0(head);
  }
  for (uint32_t i = 0; i < count; ++i)
    if (found[i] != nullptr) found[i] = FindIn(found[i], *locals[i]);
}

void MediaTable::AddRelayAddress(const MediaEndpoint& local) {
  const uint8_t count = relay_address_count_.load(std::memory_order_relaxed);
  for (uint8_t i = 0; i < count; ++i)
    if (SameRelayAddress(relay_addresses_[i], local)) return;
  if (count == kMaxRelayAddresses) {
    any_relay_address_.store(true, std::memory_order_relaxed);
    return;
  }
  relay_addresses_[count] = {.family = local.family, .address = local.address, .port = 0};
  if (local.family == Family::kIpv4) std::memset(relay_addresses_[count].address.data() + 4, 0, 12);
  relay_address_count_.store(static_cast<uint8_t>(count + 1), std::memory_order_release);
}

}  // namespace sbc::dataplane
