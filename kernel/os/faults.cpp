// Fault injection (test-only API: tests/support/faults.hpp) and the count of slab
// mappings alive, shared by the Linux and Windows system layers (os/system*.cpp).
#include "os/system.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace tasklets::detail {

namespace {
thread_local constinit std::uint64_t fault_countdown = 0;  // 0: disarmed
thread_local constinit std::uint64_t fault_calls = 0;      // counted calls since arming
thread_local constinit const char* fault_site = nullptr;   // where the injected failure hit
// Slab mappings alive, process-wide: a figure the fault tests read. Relaxed: it
// orders nothing, and the read-modify-writes keep the count exact.
std::atomic<std::size_t> mapped_slabs{0};
}  // namespace

void inject_failure_after(std::uint64_t k) noexcept {
    fault_countdown = k;
    fault_calls = 0;
    fault_site = nullptr;
}
std::uint64_t injection_calls() noexcept { return fault_calls; }
const char* injected_failure_site() noexcept { return fault_site; }
std::size_t slabs_mapped() noexcept { return mapped_slabs.load(std::memory_order_relaxed); }

}  // namespace tasklets::detail

namespace tasklets::detail::sys {

bool inject_failure(const char* site) noexcept {
    if (fault_countdown == 0) [[likely]] return false;
    ++fault_calls;
    if (--fault_countdown != 0) return false;
    fault_site = site;
    errno = ENOMEM;
    return true;
}

void count_slabs(int delta) noexcept {
    if (delta > 0) mapped_slabs.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
    else mapped_slabs.fetch_sub(static_cast<std::size_t>(-delta), std::memory_order_relaxed);
}

}  // namespace tasklets::detail::sys
