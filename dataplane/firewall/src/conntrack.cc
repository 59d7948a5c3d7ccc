#include "sbc/dataplane/firewall/conntrack.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include <cstring>

namespace sbc::dataplane {

namespace {

// memcmp's order of two addresses as PacketMeta holds them (16 bytes; IPv4 in the
// first 4, the rest zero, so one comparison serves both families), in two word
// compares instead of a call.
int CompareAddresses(const uint8_t* a, const uint8_t* b) noexcept {
  uint64_t a_words[2], b_words[2];
  std::memcpy(a_words, a, 16);
  std::memcpy(b_words, b, 16);
  for (int i = 0; i < 2; ++i) {
    const uint64_t x = rte_be_to_cpu_64(a_words[i]), y = rte_be_to_cpu_64(b_words[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

FlowKey MakeFlowKey(const PacketMeta& meta, uint8_t from_zone, uint8_t to_zone,
                    bool* is_a) noexcept {
  uint16_t sport = meta.src_port, dport = meta.dst_port;
  if (meta.protocol == kProtoIcmp || meta.protocol == kProtoIcmpV6)
    sport = dport = meta.dst_port;  // echo identifier on both sides
  const int cmp = CompareAddresses(meta.src.data(), meta.dst.data());
  const bool a_is_source = cmp < 0 || (cmp == 0 && sport <= dport);
  *is_a = a_is_source;
  FlowKey key;  // every byte is set below: the hash reads them all
  key.family = static_cast<uint8_t>(meta.family);
  key.protocol = meta.protocol;
  key.zone_a = a_is_source ? from_zone : to_zone;
  key.zone_b = a_is_source ? to_zone : from_zone;
  key.port_a = a_is_source ? sport : dport;
  key.port_b = a_is_source ? dport : sport;
  std::memcpy(key.addr_a, a_is_source ? meta.src.data() : meta.dst.data(), 16);
  std::memcpy(key.addr_b, a_is_source ? meta.dst.data() : meta.src.data(), 16);
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
void Table<Key, Entry>::FindBulk(const Key* const* keys, uint32_t n,
                                 int32_t* positions) const noexcept {
  if (n == 0) return;
  rte_hash_lookup_bulk(hash_, reinterpret_cast<const void**>(const_cast<const Key**>(keys)), n,
                       positions);
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
  if (position < 0 || !occupied(position)) return;
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
    positions[found++] =
        static_cast<int32_t>(word * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
  return found;
}

template class Table<FlowKey, FlowEntry>;
template class Table<SourceKey, SourceEntry>;

}  // namespace sbc::dataplane
