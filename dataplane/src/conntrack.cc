#include "sbc/dataplane/conntrack.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include <cstring>

namespace sbc::dataplane {

FlowKey MakeFlowKey(const PacketMeta& meta, bool* is_a) noexcept {
  FlowKey key{};
  key.family = static_cast<uint8_t>(meta.family);
  key.protocol = meta.protocol;
  const size_t len = meta.family == Family::kIpv6 ? 16 : 4;
  uint16_t sport = meta.src_port, dport = meta.dst_port;
  if (meta.protocol == kProtoIcmp || meta.protocol == kProtoIcmpV6)
    sport = dport = meta.dst_port;  // echo identifier on both sides
  const int cmp = std::memcmp(meta.src.data(), meta.dst.data(), len);
  *is_a = cmp < 0 || (cmp == 0 && sport <= dport);
  const uint8_t* a = *is_a ? meta.src.data() : meta.dst.data();
  const uint8_t* b = *is_a ? meta.dst.data() : meta.src.data();
  std::memcpy(key.addr_a, a, len);
  std::memcpy(key.addr_b, b, len);
  key.port_a = *is_a ? sport : dport;
  key.port_b = *is_a ? dport : sport;
  return key;
}

template <typename Key, typename Entry>
std::expected<std::unique_ptr<Table<Key, Entry>>, std::string> Table<Key, Entry>::Create(
    const std::string& name, uint32_t capacity) {
  std::unique_ptr<Table> t(new Table());
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = capacity;
  params.key_len = sizeof(Key);
  params.hash_func = rte_hash_crc;
  params.socket_id = static_cast<int>(rte_socket_id());
  // Single writer and no concurrent readers (one table per worker): no locks at
  // all. Extendable buckets so a full-looking bucket never refuses a key early.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  t->hash_ = rte_hash_create(&params);
  if (t->hash_ == nullptr)
    return std::unexpected("cannot create table " + name + " of " + std::to_string(capacity) +
                           " entries: " + rte_strerror(rte_errno));
  t->capacity_ = capacity;
  // rte_hash may hand out positions up to its internal size; size entries to match.
  t->entries_.resize(capacity + 64);
  t->occupied_.resize((t->entries_.size() + 63) / 64);
  return t;
}

template <typename Key, typename Entry>
Table<Key, Entry>::~Table() {
  rte_hash_free(hash_);
}

template <typename Key, typename Entry>
int32_t Table<Key, Entry>::Find(const Key& key) const noexcept {
  const int32_t pos = rte_hash_lookup(hash_, &key);
  return pos < 0 ? -1 : pos;
}

template <typename Key, typename Entry>
void Table<Key, Entry>::FindBulk(const Key* const* keys, uint32_t n, int32_t* positions) const noexcept {
  if (n == 0) return;
  rte_hash_lookup_bulk(hash_, reinterpret_cast<const void**>(const_cast<const Key**>(keys)), n, positions);
  for (uint32_t i = 0; i < n; ++i)
    if (positions[i] < 0) positions[i] = -1;
}

template <typename Key, typename Entry>
void Table<Key, Entry>::Prefetch(int32_t position) const noexcept {
  rte_prefetch0(&entries_[position]);
}

template <typename Key, typename Entry>
int32_t Table<Key, Entry>::Add(const Key& key) noexcept {
  if (size_ >= capacity_) return -1;
  const int32_t pos = rte_hash_add_key(hash_, &key);
  if (pos < 0 || static_cast<size_t>(pos) >= entries_.size()) {
    if (pos >= 0) rte_hash_del_key(hash_, &key);
    return -1;
  }
  ++size_;
  entries_[pos] = Entry{};
  occupied_[pos / 64] |= uint64_t{1} << (pos % 64);
  return pos;
}

template <typename Key, typename Entry>
void Table<Key, Entry>::Remove(int32_t position) noexcept {
  void* key = nullptr;
  if (rte_hash_get_key_with_position(hash_, position, &key) != 0) return;
  if (rte_hash_del_key(hash_, key) < 0) return;
  --size_;
  occupied_[position / 64] &= ~(uint64_t{1} << (position % 64));
}

template <typename Key, typename Entry>
const Key& Table<Key, Entry>::key(int32_t position) const noexcept {
  void* key = nullptr;
  rte_hash_get_key_with_position(hash_, position, &key);
  return *static_cast<const Key*>(key);
}

template <typename Key, typename Entry>
uint32_t Table<Key, Entry>::NextForSweep(int32_t* positions) noexcept {
  const uint32_t word = sweep_cursor_;
  sweep_cursor_ = word + 1 == occupied_.size() ? 0 : word + 1;
  uint32_t found = 0;
  for (uint64_t bits = occupied_[word]; bits != 0; bits &= bits - 1)
    positions[found++] = static_cast<int32_t>(word * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
  return found;
}

template class Table<FlowKey, FlowEntry>;
template class Table<SourceKey, SourceEntry>;

}  // namespace sbc::dataplane
