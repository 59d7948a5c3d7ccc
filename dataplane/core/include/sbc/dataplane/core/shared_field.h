// Fields that one thread writes and others read while it runs: a worker's counters
// and statistics, which the control thread lists. The writer stores through
// std::atomic_ref, relaxed (a plain move on x86: no locked instruction, no fence); a
// reader loads the same way. Any other access to such a field from two threads at once
// is a data race under the C++ memory model, however harmless it looks.
//
// Only for fields of at most 8 bytes with one writer: a read-modify-write from two
// threads would lose updates. A group of fields that must be read together (an
// address and its port) is a PublishedEndpoint (media_table.h) or a snapshot instead.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace sbc::dataplane {

template <typename T>
concept SharedScalar =
    std::is_trivially_copyable_v<T> && sizeof(T) <= 8 && std::atomic_ref<T>::is_always_lock_free;

// The single writer: `field` = `value`, visible to readers whole.
template <SharedScalar T>
inline void StoreShared(T& field, T value) noexcept {
  std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

// The single writer: `counter` += `amount` (the writer may read its own field plainly).
inline void AddShared(uint64_t& counter, uint64_t amount = 1) noexcept {
  StoreShared(counter, counter + amount);
}

// Any thread: the field's value as last stored, never torn.
template <SharedScalar T>
[[nodiscard]] inline T LoadShared(const T& field) noexcept {
  // atomic_ref<const T> is not C++20; a relaxed load writes nothing.
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_relaxed);
}

}  // namespace sbc::dataplane
