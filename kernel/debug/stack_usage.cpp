// Stack usage (tasklets/debug.hpp): how deep a tasklet's stack is now, and the deepest
// page it ever touched (from the kernel's record of resident pages, no canary scan).
#include "core/scheduler.hpp"
#include "os/system.hpp"
#include "core/shared_stacks.hpp"

#include <tasklets/debug.hpp>

#if defined(_WIN32)
#include <windows.h>
#include <psapi.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cstdint>
namespace tasklets {

namespace {

using detail::tasklet_impl;

/// The tasklet's own stack, or null when it has none (main, unstarted, finished).
const detail::stack_region* own_stack(const tasklet& t) noexcept {
    const tasklet_impl* impl = t.impl();
    // Another thread's tasklet: its stack changes under us (docs/semantics.md §9.1).
    // A shared-stack tasklet's execution stack holds other tasklets' frames too: its pages
    // say nothing about this one, and dropping them would lose the others' (stack_depth
    // answers for it from core/shared_stacks.cpp).
    if (impl == nullptr || impl->home != detail::tls_scheduler || impl->is_main || !impl->started ||
        impl->stack.base == nullptr || impl->stack_kind == detail::stack_shared)
        return nullptr;
    return &impl->stack;
}

/// The lowest address of the tasklet's stack that is live right now.
const std::byte* live_bottom(const tasklet& t, const detail::stack_region& stack) noexcept {
    const tasklet_impl* impl = t.impl();
    const detail::scheduler* s = detail::tls_scheduler;
    if (s != nullptr && s->current == impl) {
        // Our caller's frame is above ours: our own frame is a conservative bottom.
        return static_cast<const std::byte*>(__builtin_frame_address(0));
    }
    auto* sp = static_cast<const std::byte*>(impl->sp);
    if (sp < stack.base || sp > stack.top()) return stack.top();
    return sp;
}

#if defined(_WIN32)
// Windows has no mincore: QueryWorkingSetEx says, per page, whether it is resident (Valid).
int resident_pages(std::byte* first, std::size_t n, std::size_t page, unsigned char* vec) noexcept {
    PSAPI_WORKING_SET_EX_INFORMATION info[256];
    for (std::size_t i = 0; i < n; ++i) info[i].VirtualAddress = first + i * page;
    if (!QueryWorkingSetEx(GetCurrentProcess(), info, static_cast<DWORD>(n * sizeof info[0]))) return -1;
    for (std::size_t i = 0; i < n; ++i) vec[i] = info[i].VirtualAttributes.Valid ? 1 : 0;
    return 0;
}
// MADV_DONTNEED's equivalent: decommitted and committed again, the pages leave the working
// set and read as zero when next touched.
bool drop_pages(std::byte* first, std::size_t bytes) noexcept {
    return VirtualFree(first, bytes, MEM_DECOMMIT) && VirtualAlloc(first, bytes, MEM_COMMIT, PAGE_READWRITE) == first;
}
#else
int resident_pages(std::byte* first, std::size_t n, std::size_t page, unsigned char* vec) noexcept {
    return ::mincore(first, n * page, vec);
}
bool drop_pages(std::byte* first, std::size_t bytes) noexcept { return ::madvise(first, bytes, MADV_DONTNEED) == 0; }
#endif

}  // namespace

std::size_t stack_high_water(const tasklet& t) noexcept {
    const detail::stack_region* stack = own_stack(t);
    if (stack == nullptr) return 0;
    const std::size_t page = detail::sys::page_size();
    const std::size_t pages = stack->size / page;
    // 16 pages (64 KiB) in one go on the stack; larger stacks in chunks, bottom first,
    // stopping at the first resident page.
    unsigned char vec[256];
    for (std::size_t first = 0; first < pages;) {
        const std::size_t n = std::min<std::size_t>(pages - first, sizeof vec);
        if (resident_pages(stack->base + first * page, n, page, vec) != 0) return stack->size;  // cannot tell: say all
        for (std::size_t i = 0; i < n; ++i)
            if (vec[i] & 1) return stack->size - (first + i) * page;
        first += n;
    }
    return 0;
}

std::size_t stack_depth(const tasklet& t) noexcept {
    const tasklet_impl* impl = t.impl();
    if (impl && impl->stack_kind == detail::stack_shared && impl->home == detail::tls_scheduler && impl->started && impl->stack.base) {
        if (detail::tls_scheduler->current != impl) return detail::shared_stack_depth(impl);
        return static_cast<std::size_t>(impl->stack.start() - static_cast<const std::byte*>(__builtin_frame_address(0)));
    }
    const detail::stack_region* stack = own_stack(t);
    if (stack == nullptr) return 0;
    return static_cast<std::size_t>(stack->top() - live_bottom(t, *stack));
}

bool reset_stack_high_water(const tasklet& t) noexcept {
    const detail::stack_region* stack = own_stack(t);
    if (stack == nullptr) return false;
    const std::uintptr_t page = detail::sys::page_size();
    const auto bottom = reinterpret_cast<std::uintptr_t>(live_bottom(t, *stack));
    std::uintptr_t keep_from = bottom & ~(page - 1);
    // The running tasklet: madvise's own frame lies below ours; keep one more page for it.
    const detail::scheduler* s = detail::tls_scheduler;
    if (s != nullptr && s->current == t.impl()) keep_from -= page;
    const auto base = reinterpret_cast<std::uintptr_t>(stack->base);
    if (keep_from <= base) return true;  // nothing below the live part
    return drop_pages(stack->base, keep_from - base);
}

}  // namespace tasklets
