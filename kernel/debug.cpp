// Stack usage (tasklets/debug.hpp) and the table the gdb extension reads.
#include "scheduler.hpp"
#include "system.hpp"

#include <tasklets/debug.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

// ---- for debuggers ------------------------------------------------------------------------
// tools/gdb/tasklets_gdb.py reads the control blocks through debug information (fields by
// name) and the suspended-context frame through this table, made from the port's frame
// header, so that neither the kernel's field order nor a port's frame layout is written
// down twice. The symbol is referenced with -Wl,--undefined by everything that links
// tasklets (see the top-level CMakeLists.txt and tasklets.pc), so a static link keeps it.
extern "C" {

struct tasklets_debug_frame_slot {
    const char* name;        // e.g. "TASKLETS_FRAME_R12"
    std::uint32_t offset;    // bytes from the saved stack pointer
};

struct tasklets_debug_info_type {
    std::uint32_t layout;    // this struct's version; bumped when fields change meaning
    const char* arch;        // "x86_64", "aarch64", "riscv64"
    const tasklets_debug_frame_slot* frame;  // ends with a null name
};

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) {#name, value},
static const tasklets_debug_frame_slot tasklets_debug_frame_slots[] = {
#if defined(__x86_64__)
#include "frame_x86_64.h"
#define TASKLETS_DEBUG_ARCH "x86_64"
#elif defined(__aarch64__)
#include "frame_aarch64.h"
#define TASKLETS_DEBUG_ARCH "aarch64"
#elif defined(__riscv) && __riscv_xlen == 64
#include "frame_riscv64.h"
#define TASKLETS_DEBUG_ARCH "riscv64"
#else
#error "tasklets: kernel/debug.cpp does not know this architecture's frame header"
#endif
    {nullptr, 0},
};
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern const tasklets_debug_info_type tasklets_debug_info;
__attribute__((used)) const tasklets_debug_info_type tasklets_debug_info = {1, TASKLETS_DEBUG_ARCH, tasklets_debug_frame_slots};

}  // extern "C"

// ---- stack usage ------------------------------------------------------------------------------
namespace tasklets {

namespace {

using detail::tasklet_impl;

/// The tasklet's own stack, or null when it has none (main, unstarted, finished).
const detail::stack_block* own_stack(const tasklet& t) noexcept {
    const tasklet_impl* impl = t.impl();
    if (impl == nullptr || impl->is_main || !impl->started || impl->stack.base == nullptr) return nullptr;
    return &impl->stack;
}

/// The lowest address of the tasklet's stack that is live right now.
const std::byte* live_bottom(const tasklet& t, const detail::stack_block& stack) noexcept {
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

}  // namespace

std::size_t stack_high_water(const tasklet& t) noexcept {
    const detail::stack_block* stack = own_stack(t);
    if (stack == nullptr) return 0;
    const std::size_t page = detail::sys::page_size();
    const std::size_t pages = stack->size / page;
    // 16 pages (64 KiB) in one go on the stack; larger stacks in chunks, bottom first,
    // stopping at the first resident page.
    unsigned char vec[256];
    for (std::size_t first = 0; first < pages;) {
        const std::size_t n = std::min<std::size_t>(pages - first, sizeof vec);
        if (::mincore(stack->base + first * page, n * page, vec) != 0) return stack->size;  // cannot tell: say all
        for (std::size_t i = 0; i < n; ++i)
            if (vec[i] & 1) return stack->size - (first + i) * page;
        first += n;
    }
    return 0;
}

std::size_t stack_depth(const tasklet& t) noexcept {
    const detail::stack_block* stack = own_stack(t);
    if (stack == nullptr) return 0;
    return static_cast<std::size_t>(stack->top() - live_bottom(t, *stack));
}

bool reset_stack_high_water(const tasklet& t) noexcept {
    const detail::stack_block* stack = own_stack(t);
    if (stack == nullptr) return false;
    const std::uintptr_t page = detail::sys::page_size();
    const auto bottom = reinterpret_cast<std::uintptr_t>(live_bottom(t, *stack));
    std::uintptr_t keep_from = bottom & ~(page - 1);
    // The running tasklet: madvise's own frame lies below ours; keep one more page for it.
    const detail::scheduler* s = detail::tls_scheduler;
    if (s != nullptr && s->current == t.impl()) keep_from -= page;
    const auto base = reinterpret_cast<std::uintptr_t>(stack->base);
    if (keep_from <= base) return true;  // nothing below the live part
    return ::madvise(stack->base, keep_from - base, MADV_DONTNEED) == 0;
}

}  // namespace tasklets
