// Test-only API of the library (not in the public headers): fault injection into the
// kernel's system allocations, and a count of mapped stack slabs. Defined in
// kernel/os/system.cpp; per thread, so one test's injection never reaches another thread.
//
// Counted calls (each one is a place where the system may refuse memory):
//   "mmap of a stack slab"                          map_slab
//   "madvise(MADV_NOHUGEPAGE) of a stack slab"      advice only: a failure is ignored
//   "madvise(MADV_GUARD_INSTALL) of a stack guard"  install_guard, guard pages by madvise
//   "mprotect(PROT_NONE) of a stack guard"          install_guard, mprotect fallback
//   "tasklet control block"                         allocate_block, on a cache miss
// An injected failure behaves as if the system had refused with ENOMEM.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tasklets::detail {

/// Makes the k-th counted call from now (on this thread) fail, once; k = 0 disarms.
/// Also resets injection_calls() and injected_failure_site().
void inject_failure_after(std::uint64_t k) noexcept;
/// Counted calls since the last inject_failure_after while armed.
std::uint64_t injection_calls() noexcept;
/// The call that failed because of the injection (one of the names above), or null.
const char* injected_failure_site() noexcept;
/// Stack slabs currently mapped, all threads together.
std::size_t slabs_mapped() noexcept;

}  // namespace tasklets::detail
