// Hand-offs ThreadSanitizer cannot see. DPDK comes from Debian's packages, built
// without -fsanitize=thread, so what synchronises inside its shared libraries (a PMD's
// receive and transmit, the EAL's wait for an lcore) is invisible to TSan: the first
// touch of an mbuf by the thread that received it would be reported as a race with the
// last touch by the thread that sent it. The sender marks what it hands over, the
// receiver what it takes over; in every build but the tsan preset both are nothing.
//
// Rings and RCU whose both ends are inlined into our code need no marks: the tsan
// preset builds them with DPDK's C11 memory model (RTE_USE_C11_MEM_MODEL), whose
// atomics TSan sees.
#pragma once

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace sbc::drivers::sanitizer {

// HandOver: before `object` passes to another thread by a way TSan cannot see.
// TakeOver: after `object` came from another thread by such a way.
#if defined(__SANITIZE_THREAD__)
inline void HandOver(const void* object) noexcept { __tsan_release(const_cast<void*>(object)); }
inline void TakeOver(const void* object) noexcept { __tsan_acquire(const_cast<void*>(object)); }
#else
inline void HandOver(const void*) noexcept {}
inline void TakeOver(const void*) noexcept {}
#endif

// A burst of them (mbufs); compiled away where the marks are nothing.
template <typename T>
inline void HandOver(T* const* objects, unsigned count) noexcept {
  for (unsigned i = 0; i < count; ++i) HandOver(static_cast<const void*>(objects[i]));
}
template <typename T>
inline void TakeOver(T* const* objects, unsigned count) noexcept {
  for (unsigned i = 0; i < count; ++i) TakeOver(static_cast<const void*>(objects[i]));
}

}  // namespace sbc::drivers::sanitizer
