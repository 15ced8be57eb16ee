// Thin wrappers over the system calls the kernel makes for stacks, each failing with an
// exception that says what failed, the errno text and what to do.
#pragma once

#include <cstddef>

namespace tasklets::detail::sys {

std::size_t page_size() noexcept;

/// How guard regions are made, decided once per process (see choose_guard_method).
enum class guard_method {
    madvise_guard,  ///< MADV_GUARD_INSTALL (Linux >= 6.13): no extra memory mappings
    mprotect,       ///< PROT_NONE: splits the mapping, two mappings per stack
#if defined(_WIN32)
    virtual_protect,  ///< VirtualProtect: PAGE_NOACCESS, then PAGE_GUARD (os/system_windows.cpp)
#endif
};
guard_method guard_method_in_use();
const char* guard_method_name(guard_method m) noexcept;

/// Reserves `bytes` of read-write, never-executable, lazily-committed memory.
void* map_slab(std::size_t bytes);
/// Unmaps a mapping made by map_slab (only those: it keeps the count of slabs mapped).
void unmap(void* p, std::size_t bytes) noexcept;
/// Makes [p, p + bytes) fault on any access, using guard_method_in_use().
void install_guard(void* p, std::size_t bytes);
/// install_guard() for `count` ranges of `bytes`, the first at `first`, `stride` apart:
/// with MADV_GUARD_INSTALL, one process_madvise(2) call for all of them where the kernel
/// allows it (a new slab's 65 guards cost one system call instead of 65).
void install_guards(std::byte* first, std::size_t stride, std::size_t count, std::size_t bytes);

/// Commits [p, p + bytes) now, zero-filled, with one madvise(MADV_POPULATE_WRITE) (Linux
/// >= 5.14): cheaper than taking a page fault per page, which is what the first write
/// would otherwise do. Advice only: where the kernel refuses, the pages fault in later.
void prefault(void* p, std::size_t bytes) noexcept;

/// Fault injection (tests only; armed through tasklets::detail::inject_failure_after,
/// declared in tests/support/faults.hpp). Every system allocation the kernel makes for
/// stacks and control blocks asks this first: true means "fail now as if the system
/// had refused with ENOMEM". Disarmed (the default) it is one thread-local load, and
/// it is only reached on slow paths (a new slab, a control-block cache miss).
bool inject_failure(const char* site) noexcept;
/// map_slab and unmap keep the count of slabs mapped (os/faults.cpp) through this.
void count_slabs(int delta) noexcept;

}  // namespace tasklets::detail::sys
