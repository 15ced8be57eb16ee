// Telling the debugging tools about tasklet stacks and switches.
//
// - AddressSanitizer (-fsanitize=address): every switch is announced with
//   __sanitizer_start_switch_fiber just before it and completed with
//   __sanitizer_finish_switch_fiber first thing on the resumed side (for which the
//   kernel switch always runs its resume hook in ASan builds); a dying tasklet passes no
//   fake-stack slot so ASan frees its fake stack; a pooled stack is unpoisoned when it is
//   handed out again.
// - ThreadSanitizer (-fsanitize=thread): each tasklet is a TSan fiber, created when it
//   first runs, switched to just before the switch, destroyed once it is dead.
// - Valgrind: every stack of a slab is registered when the slab is mapped and
//   deregistered when it is unmapped, so memcheck knows the stack switches are real.
//   Client requests cost a few instructions and do nothing outside Valgrind, so this is
//   always compiled in when <valgrind/valgrind.h> is available.
//
// In a build with none of the sanitizers every function here is an empty inline.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#define TASKLETS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TASKLETS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TASKLETS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TASKLETS_TSAN 1
#endif
#endif

#if TASKLETS_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if TASKLETS_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define TASKLETS_VALGRIND 1
#endif

namespace tasklets::detail::instrument {

/// What the tools need to remember per tasklet (empty in a plain build).
struct tasklet_state {
#if TASKLETS_ASAN
    void* fake_stack = nullptr;     // ASan's fake stack of a suspended tasklet
    const void* bottom = nullptr;   // the stack's lowest address and size, as ASan sees it
    std::size_t size = 0;
#endif
#if TASKLETS_TSAN
    void* fiber = nullptr;
#endif
};

/// Must the kernel switch always run its resume hook (so that after_switch runs)?
inline constexpr bool needs_resume_hook =
#if TASKLETS_ASAN
    true;
#else
    false;
#endif

/// The main tasklet's stack: ASan learns its bounds from the first switch away from it.
inline void adopt_thread(tasklet_state& main) noexcept {
#if TASKLETS_TSAN
    main.fiber = __tsan_get_current_fiber();
#endif
    (void)main;
}

/// A tasklet got its stack [bottom, bottom + size).
inline void stack_assigned(tasklet_state& t, void* bottom, std::size_t size) noexcept {
#if TASKLETS_ASAN
    __asan_unpoison_memory_region(bottom, size);  // a pooled stack keeps its last user's poison
    t.bottom = bottom;
    t.size = size;
#endif
#if TASKLETS_TSAN
    t.fiber = __tsan_create_fiber(0);
#endif
    (void)t, (void)bottom, (void)size;
}

/// Right before switching from `from` to `to`. `from_dies`: it will never run again.
inline void before_switch(tasklet_state& from, tasklet_state& to, bool from_dies) noexcept {
#if TASKLETS_ASAN
    __sanitizer_start_switch_fiber(from_dies ? nullptr : &from.fake_stack, to.bottom, to.size);
#endif
#if TASKLETS_TSAN
    __tsan_switch_to_fiber(to.fiber, 0);
#endif
    (void)from, (void)to, (void)from_dies;
}

/// First thing on the resumed side. `self` is the tasklet now running (null fake stack
/// for one that runs for the first time); `previous` the one we came from.
inline void after_switch(tasklet_state& self, tasklet_state& previous) noexcept {
#if TASKLETS_ASAN
    const void* old_bottom = nullptr;
    std::size_t old_size = 0;
    __sanitizer_finish_switch_fiber(self.fake_stack, &old_bottom, &old_size);
    if (previous.size == 0) {  // the main tasklet: now we know its stack
        previous.bottom = old_bottom;
        previous.size = old_size;
    }
#endif
    (void)self, (void)previous;
}

// ---- shared stacks (core/shared_stacks.cpp) ------------------------------------------
// A shared-stack tasklet's frames are copied between its thread's execution stack and a
// heap buffer by the restorer, a context with its own stack. ASan must know, for every
// switch, the bounds of the stack really resumed: the restorer's while the tasklet is
// out, the execution stack's once it is in. The poison of its frames (their redzones)
// travels with the bytes.

/// A shared-stack tasklet's first run: a TSan fiber (ASan bounds come with stack_bounds).
inline void fiber_created(tasklet_state& t) noexcept {
#if TASKLETS_TSAN
    t.fiber = __tsan_create_fiber(0);
#endif
    (void)t;
}

/// Where a switch to t lands from now on.
inline void stack_bounds(tasklet_state& t, const void* bottom, std::size_t size) noexcept {
#if TASKLETS_ASAN
    t.bottom = bottom;
    t.size = size;
#endif
    (void)t, (void)bottom, (void)size;
}

/// The restorer resumes `to` (ASan only: TSan already switched to to's fiber).
inline void restorer_leaves(tasklet_state& restorer, tasklet_state& to) noexcept {
#if TASKLETS_ASAN
    __sanitizer_start_switch_fiber(&restorer.fake_stack, to.bottom, to.size);
#endif
    (void)restorer, (void)to;
}

/// Do copied-out stack parts carry their ASan shadow (take_shadow, give_shadow)? Then they
/// are copied whole: the shadow is kept for the whole part.
inline constexpr bool copies_shadow =
#if TASKLETS_ASAN
    true;
#else
    false;
#endif

/// Extra bytes a copied-out stack part of n bytes needs for its ASan shadow.
inline std::size_t shadow_bytes(std::size_t n) noexcept {
#if TASKLETS_ASAN
    std::size_t scale = 0, offset = 0;
    __asan_get_shadow_mapping(&scale, &offset);
    return (n >> scale) + 1;
#else
    (void)n;
    return 0;
#endif
}

#if TASKLETS_ASAN
// Code that reads or writes shadow bytes itself must not be instrumented: its checks would
// look up the shadow of the shadow, which ASan keeps unmapped.
#define TASKLETS_SHADOW_ACCESS __attribute__((no_sanitize_address))
inline unsigned char* shadow_of(const void* p) noexcept {
    std::size_t scale = 0, offset = 0;
    __asan_get_shadow_mapping(&scale, &offset);
    return reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(p) >> scale) + offset);
}
#else
#define TASKLETS_SHADOW_ACCESS
#endif

/// Before [p, p + n) is copied out: keeps its shadow in `out` (shadow_bytes(n) bytes) and
/// unpoisons it so the copy may read it. p is 16-byte aligned.
TASKLETS_SHADOW_ACCESS inline void take_shadow(void* p, std::size_t n, unsigned char* out) noexcept {
#if TASKLETS_ASAN
    const std::size_t k = shadow_bytes(n);
    const unsigned char* sh = shadow_of(p);
    for (std::size_t i = 0; i < k; ++i) out[i] = sh[i];
    __asan_unpoison_memory_region(p, n);
#endif
    (void)p, (void)n, (void)out;
}

/// Before [p, p + n) is copied back: unpoisons it for the copy. Then give_shadow.
/// Valgrind: memcheck marks a stack's bytes below the lowest stack pointer it saw there
/// as inaccessible once that code returned; the bytes are made writable (undefined) and
/// the copy brings the saved bytes' definedness with it.
inline void open_for_copy(void* p, std::size_t n) noexcept {
#if TASKLETS_ASAN
    __asan_unpoison_memory_region(p, n);
#endif
#if TASKLETS_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
    (void)p, (void)n;
}

/// After the copy back: its shadow as take_shadow kept it (its frames' redzones).
/// What lies below p is not poisoned: the tasklet's deeper calls will use it, and frames
/// without instrumented locals, or uninstrumented code, write there without unpoisoning
/// first (tried: ASan then reports the tasklet's own calls).
TASKLETS_SHADOW_ACCESS inline void give_shadow(void* p, std::size_t n, const unsigned char* in) noexcept {
#if TASKLETS_ASAN
    const std::size_t k = shadow_bytes(n);
    unsigned char* sh = shadow_of(p);
    // The last shadow byte also covers bytes above the region: keep it whole.
    for (std::size_t i = 0; i + 1 < k; ++i) sh[i] = in[i];
#endif
    (void)p, (void)n, (void)in;
}

/// A shared-stack tasklet parked with its frames in place, at [p, p + n): their shadow is
/// kept in `out` (shadow_bytes(n) bytes), as take_shadow keeps it, and the whole part is
/// poisoned, so that another tasklet's use of a pointer into them is reported. p is
/// 16-byte aligned, p + n 8-byte aligned.
TASKLETS_SHADOW_ACCESS inline void poison_parked(void* p, std::size_t n, unsigned char* out) noexcept {
#if TASKLETS_ASAN
    take_shadow(p, n, out);
    __asan_poison_memory_region(p, n);
#endif
    (void)p, (void)n, (void)out;
}

/// [p, p + n) may be used again: a parked tasklet's value that a partner moves in place,
/// or its frames about to be copied out or resumed (then give_shadow).
inline void unpoison(const void* p, std::size_t n) noexcept {
#if TASKLETS_ASAN
    __asan_unpoison_memory_region(p, n);
#endif
    (void)p, (void)n;
}

/// A dead tasklet's stack goes back to the pool (we are on another stack now).
inline void tasklet_buried(tasklet_state& t) noexcept {
#if TASKLETS_TSAN
    if (t.fiber) __tsan_destroy_fiber(t.fiber);
    t.fiber = nullptr;
#endif
    (void)t;
}

/// Memory of stacks is about to be unmapped: its ASan shadow is cleared.
inline void memory_unmapped(void* p, std::size_t n) noexcept {
#if TASKLETS_ASAN
    __asan_unpoison_memory_region(p, n);
#endif
    (void)p, (void)n;
}

/// Is the process running under Valgrind? (Registration is needed only then.)
inline bool on_valgrind() noexcept {
#if TASKLETS_VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

/// Valgrind stack registration; returns an id for deregistration (0 outside Valgrind).
inline unsigned register_stack([[maybe_unused]] void* bottom, [[maybe_unused]] std::size_t size) noexcept {
#if TASKLETS_VALGRIND
    return VALGRIND_STACK_REGISTER(bottom, static_cast<char*>(bottom) + size);
#else
    return 0;
#endif
}
inline void deregister_stack([[maybe_unused]] unsigned id) noexcept {
#if TASKLETS_VALGRIND
    VALGRIND_STACK_DEREGISTER(id);
#endif
}

}  // namespace tasklets::detail::instrument
