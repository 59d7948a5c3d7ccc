#include "sbc/dataplane/media_table.h"

#include <arpa/inet.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstring>

namespace sbc::dataplane {
namespace {

struct HashKey {
  uint8_t family;
  uint8_t pad;
  uint16_t port;
  uint8_t address[16];
};
static_assert(sizeof(HashKey) == 20);

HashKey KeyOf(const MediaEndpoint& e) {
  HashKey k{};
  k.family = static_cast<uint8_t>(e.family);
  k.port = e.port;
  std::memcpy(k.address, e.address.data(), sizeof(k.address));
  if (e.family == Family::kIpv4) std::memset(k.address + 4, 0, 12);  // whatever the caller left there
  return k;
}

}  // namespace

std::string ToText(const MediaEndpoint& e) {
  char address[INET6_ADDRSTRLEN] = {};
  inet_ntop(e.family == Family::kIpv6 ? AF_INET6 : AF_INET, e.address.data(), address, sizeof(address));
  return e.family == Family::kIpv6 ? "[" + std::string(address) + "]:" + std::to_string(e.port)
                                   : std::string(address) + ":" + std::to_string(e.port);
}

std::expected<std::unique_ptr<MediaTable>, std::string> MediaTable::Create(uint32_t max_sessions, rte_rcu_qsbr* qsbr,
                                                                          SrtpStreamFactory* srtp) {
  static std::atomic<int> serial{0};
  const std::string name = "sbc_media_" + std::to_string(serial++);
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = std::max<uint32_t>(8, max_sessions * 4);
  params.key_len = sizeof(HashKey);
  params.hash_func = rte_jhash;
  params.socket_id = static_cast<int>(rte_socket_id());
  // Lock-free readers; one writer (the control lcore); key slots freed after a grace period.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  std::unique_ptr<MediaTable> table(new MediaTable());
  table->hash_ = rte_hash_create(&params);
  if (table->hash_ == nullptr) return std::unexpected(std::string("media table: cannot create its hash"));
  table->qsbr_ = qsbr;
  table->srtp_ = srtp;
  return table;
}

MediaTable::~MediaTable() {
  while (!sessions_.empty()) (void)Remove(sessions_.begin()->first);
  rte_hash_free(hash_);
}

std::expected<void, std::string> MediaTable::Add(const MediaSessionSpec& spec) {
  if (sessions_.contains(spec.id)) return std::unexpected("media session " + std::to_string(spec.id) + " exists");
  if (spec.legs[0].local.family != spec.legs[1].local.family)
    return std::unexpected(std::string("legs of different address families are not relayed"));
  auto session = std::make_unique<MediaSession>();
  session->id = spec.id;
  for (uint8_t l = 0; l < 2; ++l) {
    const MediaLegSpec& ls = spec.legs[l];
    MediaLeg& leg = session->legs[l];
    leg.spec = ls;
    if (ls.remote) {
      if (ls.remote->family != ls.local.family)
        return std::unexpected("leg " + std::to_string(l) + ": remote and relay address families differ");
      leg.remote_known = true;
      leg.remote = *ls.remote;
    }
    if (ls.srtp_from_leg.has_value() != ls.srtp_to_leg.has_value())
      return std::unexpected("leg " + std::to_string(l) + ": SRTP needs keys both ways");
    if (ls.srtp_from_leg) {
      if (srtp_ == nullptr) return std::unexpected(std::string("SRTP asked for, but this dataplane has no crypto device"));
      if (auto ok = srtp_->Build(*ls.srtp_from_leg, SrtpDirection::kUnprotect, &leg.from_leg); !ok)
        return std::unexpected(ok.error());
      if (auto ok = srtp_->Build(*ls.srtp_to_leg, SrtpDirection::kProtect, &leg.to_leg); !ok) {
        srtp_->Release(&leg.from_leg);
        return std::unexpected(ok.error());
      }
      leg.srtp = true;
      // The streams hold what the fast path needs; the session keys go no further.
      leg.spec.srtp_from_leg.reset();
      leg.spec.srtp_to_leg.reset();
    }
    session->ports[session->port_count++] = {session.get(), l, false, ls.local};
    if (!ls.rtcp_mux) {
      MediaEndpoint rtcp = ls.local;
      rtcp.port = static_cast<uint16_t>(ls.local.port + 1);
      session->ports[session->port_count++] = {session.get(), l, true, rtcp};
    }
  }
  // Every relay port must be free before any is taken.
  for (uint8_t p = 0; p < session->port_count; ++p) {
    const HashKey key = KeyOf(session->ports[p].local);
    bool clash = rte_hash_lookup(hash_, &key) >= 0;
    for (uint8_t q = 0; q < p; ++q) clash |= session->ports[q].local == session->ports[p].local;
    if (clash) {
      const std::string why = "relay port " + ToText(session->ports[p].local) + " is in use";
      Free(std::move(session));
      return std::unexpected(why);
    }
  }
  for (uint8_t p = 0; p < session->port_count; ++p) {
    const HashKey key = KeyOf(session->ports[p].local);
    if (rte_hash_add_key_data(hash_, &key, &session->ports[p]) < 0) {
      for (uint8_t q = 0; q < p; ++q) {
        const HashKey undo = KeyOf(session->ports[q].local);
        (void)rte_hash_del_key(hash_, &undo);
      }
      Free(std::move(session));
      return std::unexpected(std::string("media table full"));
    }
    uint16_t lo = min_port_.load(), hi = max_port_.load();
    min_port_.store(std::min(lo, session->ports[p].local.port), std::memory_order_relaxed);
    max_port_.store(std::max(hi, session->ports[p].local.port), std::memory_order_relaxed);
  }
  session->last_active_tsc.store(rte_get_tsc_cycles(), std::memory_order_relaxed);
  const uint64_t id = session->id;
  sessions_.emplace(id, std::move(session));
  return {};
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
  int32_t positions[4];
  for (uint8_t p = 0; p < session->port_count; ++p) {
    const HashKey key = KeyOf(session->ports[p].local);
    positions[p] = rte_hash_del_key(hash_, &key);
  }
  // No worker may still hold the session or its key slots.
  if (qsbr_ != nullptr) rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  for (uint8_t p = 0; p < session->port_count; ++p)
    if (positions[p] >= 0) rte_hash_free_key_with_position(hash_, positions[p]);
  Free(std::move(session));
  return true;
}

std::vector<uint64_t> MediaTable::RemoveIdle(uint64_t now_tsc, uint64_t idle_tsc) {
  std::vector<uint64_t> idle;
  for (const auto& [id, s] : sessions_)
    if (now_tsc - s->last_active_tsc.load(std::memory_order_relaxed) >= idle_tsc) idle.push_back(id);
  for (uint64_t id : idle) (void)Remove(id);
  return idle;
}

std::vector<const MediaSession*> MediaTable::Sessions() const {
  std::vector<const MediaSession*> out;
  for (const auto& [id, s] : sessions_) out.push_back(s.get());
  std::sort(out.begin(), out.end(), [](const MediaSession* a, const MediaSession* b) { return a->id < b->id; });
  return out;
}

const MediaPort* MediaTable::Find(const MediaEndpoint& local) const noexcept {
  const HashKey key = KeyOf(local);
  void* data = nullptr;
  if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
  return static_cast<const MediaPort*>(data);
}

void MediaTable::FindBulk(const MediaEndpoint* const* locals, uint32_t count, const MediaPort** found) const noexcept {
  HashKey keys[RTE_HASH_LOOKUP_BULK_MAX];
  const void* key_pointers[RTE_HASH_LOOKUP_BULK_MAX];
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  for (uint32_t done = 0; done < count;) {
    const uint32_t n = std::min<uint32_t>(count - done, RTE_HASH_LOOKUP_BULK_MAX);
    for (uint32_t i = 0; i < n; ++i) {
      keys[i] = KeyOf(*locals[done + i]);
      key_pointers[i] = &keys[i];
    }
    uint64_t hits = 0;
    rte_hash_lookup_bulk_data(hash_, key_pointers, n, &hits, data);
    for (uint32_t i = 0; i < n; ++i)
      found[done + i] = (hits >> i) & 1 ? static_cast<const MediaPort*>(data[i]) : nullptr;
    done += n;
  }
}

bool MediaTable::MayBeMedia(const PacketMeta& meta) const noexcept {
  return meta.protocol == kProtoUdp && !meta.later_fragment &&
         meta.dst_port >= min_port_.load(std::memory_order_relaxed) &&
         meta.dst_port <= max_port_.load(std::memory_order_relaxed);
}

}  // namespace sbc::dataplane
