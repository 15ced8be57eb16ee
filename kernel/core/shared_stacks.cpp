// Shared-stack tasklets: binding, the restorer, copying out and in (core/shared_stacks.hpp),
// and the per-thread default stack mode (tasklets/stack.hpp).
#include "core/shared_stacks.hpp"

#include "arch_context.hpp"
#include "core/tasklet_life.hpp"
#include "core/thread_check.hpp"
#include "core/throw_into.hpp"
#include "kernel_switch.h"

#include <tasklets/channel.hpp>

#include <tasklets/errors.hpp>
#include <tasklets/stack.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#if TASKLETS_ASAN
#include <unistd.h>
#endif

namespace tasklets::detail {

namespace {

std::byte* top_of(const exec_stack& e) noexcept { return e.top; }

// The unused waiter slot (shared_stack_state::hole) of a live part [sp, top), or null if
// there is none in it. The same at copying out and in: `hole` does not change meanwhile.
// It lies above the switch's frame, which copy_in writes apart (arch::copy_switch_frame).
std::byte* hole_in(const shared_stack_state& st, std::byte* sp, std::byte* top) noexcept {
    if (st.hole == 0) return nullptr;
    std::byte* const at = top - st.hole;
    return at >= sp + arch::switch_frame_bytes && st.hole >= sizeof(waiter_slot) ? at : nullptr;
}

// The bytes at the top of every live part that are the same for every tasklet bound to an
// execution stack (arch::constant_top_bytes): copying leaves them in place. All of them are
// copied under ASan, whose shadow travels with whole parts.
constexpr std::size_t unkept_top = instrument::copies_shadow ? 0 : arch::constant_top_bytes;

// An out tasklet's real stack pointer: below the top by the bytes left in place, the bytes
// its buffer keeps, and the waiter slot the copy left out if it left one out (copy_out
// clears `hole` otherwise). Not kept in shared_stack_state: 8 bytes of every parked tasklet.
std::byte* resident_sp(const shared_stack_state& st, std::byte* top) noexcept {
    return top - unkept_top - st.saved_size - (st.hole ? sizeof(waiter_slot) : 0);
}

// Is o waiting on a channel with its record in one of its boxes (channels/off_stack_wait.cpp)?
// Then that wait noted the caller's unused waiter slot (`hole`) and where its value is
// (frame_value); any other park leaves both stale.
bool waits_in_a_box(const tasklet_impl* o, const shared_stack_state& st) noexcept {
    const void* const record = o->waiters;
    return record == st.inline_box || (st.has_heap_box && record == st.heap_box().memory);
}

// Makes st's buffer hold at least `need` bytes; what it held goes.
void make_room(shared_stack_state& st, std::size_t need) noexcept {
    if (need <= st.saved_capacity) return;
    std::free(st.saved);
    st.saved = static_cast<std::byte*>(std::malloc(need));
    if (st.saved == nullptr) fatal_misuse("out of memory copying a shared-stack tasklet's frames out");
    st.saved_capacity = static_cast<std::uint32_t>(need);
}

// Copies the parked occupant o's live part into its buffer, but for an unused waiter slot
// and the bytes at the top left in place; o is out afterwards. A wait's value in the
// frame moves to the box first.
void copy_out(shared_stacks& sh, exec_stack& e, tasklet_impl* o) noexcept {
    shared_stack_state& st = *o->shared;
    const bool in_box = waits_in_a_box(o, st);
    if (in_box && st.frame_value == frame_value_place::in_frame) evacuate_frame_wait(o);  // the value is never poisoned
    auto* sp = static_cast<std::byte*>(o->sp);
    std::byte* const top = top_of(e);
    const std::size_t n = static_cast<std::size_t>(top - sp);
    std::byte* const hole = in_box ? hole_in(st, sp, top) : nullptr;
    const std::size_t kept = n - unkept_top - (hole ? sizeof(waiter_slot) : 0);
    if (instrument::copies_shadow && st.poisoned) {
        // ASan: its shadow already waits after room for the part (guard_parked_frames_asan).
        // Other builds never poison, and test nothing here.
        instrument::unpoison(sp, n);
        st.poisoned = false;
    } else {
        make_room(st, kept + instrument::shadow_bytes(n));
        instrument::take_shadow(sp, n, reinterpret_cast<unsigned char*>(st.saved + kept));  // ASan: no hole, kept == n
    }
    if (hole) {
        const std::size_t below = static_cast<std::size_t>(hole - sp);
        std::memcpy(st.saved, sp, below);
        std::memcpy(st.saved + below, hole + sizeof(waiter_slot), kept - below);
    } else {
        std::memcpy(st.saved, sp, kept);
    }
    st.saved_size = static_cast<std::uint32_t>(kept);
    ++sh.copies_out;
    sh.bytes_copied_out += kept;
    if (!hole) st.hole = 0;  // resident_sp() tells from it whether the slot was left out
    st.out = true;
    o->sp = sh.restorer_sp;
    instrument::stack_bounds(o->tools, sh.restorer_region.base, sh.restorer_region.size);
}

// Puts t's frames on its execution stack: a first frame, or its buffer copied back.
void copy_in(exec_stack& e, tasklet_impl* t) noexcept {
    shared_stack_state& st = *t->shared;
    if (t->awaiting_entry) {
        instrument::open_for_copy(e.region.base, e.region.size);
        t->sp = first_frame(t, e.region);
    } else {
        std::byte* const top = top_of(e);
        std::byte* const sp = resident_sp(st, top);
        const std::size_t n = static_cast<std::size_t>(top - sp);
        const std::size_t kept = st.saved_size;
        instrument::open_for_copy(sp, n);
        constexpr std::size_t f = arch::switch_frame_bytes;
        if (std::byte* const hole = hole_in(st, sp, top)) {
            const std::size_t below = static_cast<std::size_t>(hole - sp);
            std::memcpy(sp + f, st.saved + f, below - f);
            std::memcpy(hole + sizeof(waiter_slot), st.saved + below, kept - below);
        } else {
            std::memcpy(sp + f, st.saved + f, kept - f);
        }
        // The switch's frame last, by stores of the widths the switch loads it with.
        arch::copy_switch_frame(sp, st.saved);
        instrument::give_shadow(sp, n, reinterpret_cast<unsigned char*>(st.saved + kept));
        t->sp = sp;
        if (st.frame_value == frame_value_place::in_box) finish_frame_wait(t);
    }
    st.out = false;
    instrument::stack_bounds(t->tools, e.region.base, e.region.size);
}

// An occupant copied out of e had outgrown the thread's shared_stack_limit(): from 2 KiB
// of live frames on, a round trip that copies both ways costs more than ten that do not
// (177 against 15 ns at 2,256 bytes, bench/stacks/shared_switch_chart.sh), and the heap buffer
// saves at most half a page over a stack of its own. Frames cannot move (they point into
// themselves), so the tasklet cannot go to another stack: its stack leaves the rotation
// instead. The tasklets bound to it keep taking turns there until they end, and none is
// bound to it again, so once the others have ended the big one is its only tasklet and is
// never copied again. The slot gets a new stack at its next binding.
[[gnu::noinline]] void keep_stack(shared_stacks& sh, exec_stack& e) noexcept {
    for (exec_stack*& slot : sh.stacks)
        if (slot == &e) slot = nullptr;
    e.kept = true;
    ++sh.kept_count;
    e.kept_prev = nullptr;
    e.kept_next = sh.kept;
    if (sh.kept) sh.kept->kept_prev = &e;
    sh.kept = &e;
}

// Frees an execution stack: no tasklet is bound to it.
void free_stack(scheduler& s, exec_stack* e) noexcept {
    s.stacks.release(e->region);
    delete e;
}

// One pass of the restorer, on its stack: brings s.current in, copying out the occupant of
// its execution stack first, and says where to resume it.
inline tasklets_restorer_next bring_in(scheduler& s) noexcept {
    tasklet_impl* t = s.current;
    exec_stack& e = *t->shared->stack;
    tasklet_impl* o = e.occupant;
    // A dead occupant's frames are abandoned: release_dead frees it afterwards.
    if (o != nullptr && o != t && o->alive) {
        copy_out(*s.shared, e, o);
        if (o->shared->saved_size > s.shared_limit && !e.kept) [[unlikely]] keep_stack(*s.shared, e);
    }
    e.occupant = t;
    copy_in(e, t);
    return {t->sp, wants_resume_hook(t)};
}

// ASan builds, and the ports without a restorer frame (arch::has_restorer_frame):
// the restorer's whole life, a context like any other. Suspended at its one switch until a
// switch to an out tasklet resumes it; then it brings s.current in and resumes it. Its
// first run only returns to its maker (shared_stacks_of), which leaves it suspended at the
// switch: from then on its stack pointer there is sh.restorer_sp, the same every time.
[[noreturn]] void restorer_main(void*) noexcept {
    scheduler& s = *tls_scheduler;
    shared_stacks& sh = *s.shared;
    instrument::after_switch(sh.restorer_tools, s.current->tools);
    tasklets_restorer_next next{sh.primer_sp, 0};
    for (;;) {
        instrument::restorer_leaves(sh.restorer_tools, s.current->tools);
        tasklets_kernel_switch(&sh.restorer_sp, next.target_sp, next.run_resume_hook);
        // A switch that ran the resume hook has finished the sanitizer's switch there
        // (restorer_arrived); ASan builds run it for every tasklet but a new one.
        if constexpr (instrument::needs_resume_hook)
            if (s.current->awaiting_entry) instrument::after_switch(sh.restorer_tools, s.previous->tools);
        next = bring_in(s);
    }
}

// ASan builds tell ASan of every switch into and out of the restorer (restorer_main); the
// others use the port's restorer frame where it has one (TSan too: the restorer runs as the
// fiber it brings in, so it needs no switch of its own).
constexpr bool restorer_is_a_frame = arch::has_restorer_frame && !instrument::needs_resume_hook;

#if TASKLETS_ASAN
// ASan's report of a use of a parked tasklet's poisoned frames calls the address a wild
// pointer: this adds whose frames they are, when the access came from their thread (the
// usual case: a tasklet kept a pointer to another's local). It runs inside ASan's report,
// so it only formats into a local buffer and writes.
void name_parked_frames(const char*) {
    const auto* addr = static_cast<const std::byte*>(__asan_get_report_address());
    const scheduler* s = tls_scheduler;
    if (addr == nullptr || s == nullptr || s->shared == nullptr) return;
    const auto in_frames_of = [addr](const exec_stack& e) -> const tasklet_impl* {
        const tasklet_impl* o = e.occupant;
        if (o == nullptr || !o->alive || !o->shared->poisoned) return nullptr;
        if (addr < static_cast<const std::byte*>(o->sp) || addr >= e.top) return nullptr;
        return o;
    };
    const tasklet_impl* o = nullptr;
    for (const exec_stack* e : s->shared->stacks)
        if (e && (o = in_frames_of(*e))) break;
    for (const exec_stack* e = s->shared->kept; e && !o; e = e->kept_next) o = in_frames_of(*e);
    if (o) {
        const char* name = o->name();
        char line[512];
        const int n = std::snprintf(line, sizeof line,
                                    "tasklets: 0x%" PRIxPTR " is in the frames of tasklet %" PRIu64 "%s%s%s, parked on "
                                    "a shared stack: a pointer to its locals was kept and used while it waits "
                                    "(docs/shared-stacks.md)\n",
                                    reinterpret_cast<std::uintptr_t>(addr), static_cast<std::uint64_t>(o->id),
                                    name ? " \"" : "", name ? name : "", name ? "\"" : "");
        if (n > 0) (void)!::write(2, line, std::min(static_cast<std::size_t>(n), sizeof line - 1));
    }
}
#endif

// The thread's shared stacks and restorer, made and started on first use.
shared_stacks& shared_stacks_of(scheduler& s) {
    if (s.shared) return *s.shared;
    auto* sh = new shared_stacks;
    try {
        sh->stack_size = (default_stack_size() + s.page_size - 1) / s.page_size * s.page_size;
        sh->restorer_region = s.stacks.allocate(sh->stack_size);
    } catch (...) {
        delete sh;
        throw;
    }
    // The restorer runs as whichever tasklet it brings in (TSan: as that fiber), so it has
    // ASan bounds of its own but no fiber.
    instrument::open_for_copy(sh->restorer_region.base, sh->restorer_region.size);
    instrument::stack_bounds(sh->restorer_tools, sh->restorer_region.base, sh->restorer_region.size);
    s.shared = sh;
#if TASKLETS_ASAN
    __asan_set_error_report_callback(&name_parked_frames);  // replaces any earlier one: documented
#endif
    if constexpr (restorer_is_a_frame) {
        sh->restorer_sp = arch::prepare_restorer_frame(sh->restorer_region.start(), arch::current_fp_control());
    } else {
        // Run it once: it suspends itself at its switch and comes straight back.
#if defined(_WIN32)
        std::byte* const bottom = sh->restorer_region.base - stack_pool::guard_bytes();
#else
        std::byte* const bottom = sh->restorer_region.base;
#endif
        void* fresh =
            arch::prepare_stack(bottom, sh->restorer_region.start(), &restorer_main, arch::current_fp_control());
        tasklet_impl* self = s.current;
        instrument::restorer_leaves(self->tools, sh->restorer_tools);  // ASan only, as in the loop
        tasklets_kernel_switch(&sh->primer_sp, fresh, 0);
        instrument::after_switch(self->tools, sh->restorer_tools);
    }
    return *sh;
}

}  // namespace

void make_shared_mode(scheduler& s, tasklet_impl* t, void* state) {
    shared_stacks& sh = shared_stacks_of(s);
    if (t->stack.size > sh.stack_size)
        throw std::invalid_argument("tasklets: a shared-stack tasklet runs on its thread's execution stacks of " +
                                    std::to_string(sh.stack_size) + " bytes, and this one asks for " +
                                    std::to_string(t->stack.size) +
                                    "; give it stack_mode::dedicated, or raise default_stack_size() before the "
                                    "thread's first shared-stack tasklet");
    t->stack_kind = stack_shared;
    t->shared = ::new (state) shared_stack_state;  // bound to an execution stack when it first runs
    t->block_trap = static_cast<std::uint8_t>(t->block_trap | trap_frames);
}

void bind_to_shared_stack(scheduler& s, tasklet_impl* t) {
    shared_stacks& sh = *s.shared;
    exec_stack*& slot = sh.stacks[sh.next];
    if (slot == nullptr) {
        auto made = std::make_unique<exec_stack>();
        made->region = s.stacks.allocate(sh.stack_size);
        made->top = made->region.start();
        instrument::open_for_copy(made->region.base, made->region.size);  // a pooled stack keeps its last user's poison
        slot = made.release();
    }
    exec_stack& e = *slot;
    ++e.bound;
    sh.next = (sh.next + 1) % shared_stacks::count;
    shared_stack_state& st = *t->shared;
    st.stack = &e;
    st.out = true;
    t->stack = e.region;  // for overflow reports and stack_size()
    t->sp = sh.restorer_sp;
    instrument::fiber_created(t->tools);
    instrument::stack_bounds(t->tools, sh.restorer_region.base, sh.restorer_region.size);
}

void leave_shared_stack(scheduler& s, tasklet_impl* t) noexcept {
    shared_stack_state* st = t->shared;
    exec_stack& e = *st->stack;
    if (e.occupant == t) e.occupant = nullptr;
    // Nobody runs on a kept stack whose last tasklet ended (release_dead runs on the
    // stack of the tasklet that runs next, or the restorer's).
    if (--e.bound == 0 && e.kept) [[unlikely]] {
        shared_stacks& sh = *s.shared;
        (e.kept_prev ? e.kept_prev->kept_next : sh.kept) = e.kept_next;
        if (e.kept_next) e.kept_next->kept_prev = e.kept_prev;
        --sh.kept_count;
        free_stack(s, &e);
    }
    std::free(st->saved);
    st->drop_heap_box();
    st->~shared_stack_state();  // its memory is the control block's cell
    t->shared = nullptr;
}

void restorer_arrived(scheduler& s) noexcept {
    if constexpr (instrument::needs_resume_hook) {
        instrument::after_switch(s.shared->restorer_tools, s.previous->tools);
        // The tasklet we came from may be freed here, and the hook that ends the restorer's
        // switch reads s.previous again: the switch then came from nowhere else.
        if (s.dead != nullptr && s.dead == s.previous) s.previous = s.current;
    }
    if (s.dead) release_dead(s);
}

void guard_parked_frames_asan(scheduler& s) noexcept {
    tasklet_impl* const t = s.current;
    if (t->stack_kind == stack_shared && t->shared->poisoned) {
        shared_stack_state& st = *t->shared;
        auto* const sp = static_cast<std::byte*>(t->sp);
        const std::size_t n = static_cast<std::size_t>(top_of(*st.stack) - sp);
        instrument::unpoison(sp, n);
        instrument::give_shadow(sp, n, reinterpret_cast<unsigned char*>(st.saved + n));
        st.poisoned = false;
    }
    // From a tasklet that parked: not one that ended (its frames are abandoned), nor one
    // already copied out by the restorer that brought t in.
    tasklet_impl* const o = s.previous;
    if (o == t || o->stack_kind != stack_shared || !o->alive || o->shared->out) return;
    shared_stack_state& st = *o->shared;
    auto* const sp = static_cast<std::byte*>(o->sp);
    const std::size_t n = static_cast<std::size_t>(top_of(*st.stack) - sp);
    make_room(st, n + instrument::shadow_bytes(n));  // copy_out then finds the shadow where it keeps it
    instrument::poison_parked(sp, n, reinterpret_cast<unsigned char*>(st.saved + n));
    st.poisoned = true;
    // A wait whose value stays in the caller's frame: a partner moves it in place.
    if (waits_in_a_box(o, st) && st.frame_value == frame_value_place::in_frame)
        instrument::unpoison(st.wait_transfer, st.wait_ops->size);
}

std::size_t shared_stack_depth(const tasklet_impl* t) noexcept {
    if (t->shared == nullptr || t->awaiting_entry) return 0;
    const shared_stack_state& st = *t->shared;
    std::byte* const top = top_of(*st.stack);
    const auto* sp = st.out ? resident_sp(st, top) : static_cast<const std::byte*>(t->sp);
    return static_cast<std::size_t>(top - sp);
}

void check_wait(const tasklet_impl* t, bool record_in_frame, const char* operation) {
    if (t->block_trap & trap_user) throw_state_error("this tasklet does not like to be blocked.");
    if (!(t->block_trap & trap_frames) || !record_in_frame) return;
    throw state_error(std::string("tasklets: ") + operation +
                      " keeps its wait record in the waiting tasklet's frame, and a shared-stack tasklet's "
                      "frames are copied out while it waits; it is not available to stack_mode::shared "
                      "tasklets yet: give this tasklet stack_mode::dedicated (docs/shared-stacks.md)");
}

void end_shared_stacks(scheduler& s) noexcept {
    shared_stacks* sh = s.shared;
    if (!sh) return;
    for (exec_stack* e : sh->stacks)
        if (e) free_stack(s, e);
    while (exec_stack* e = sh->kept) {
        sh->kept = e->kept_next;
        free_stack(s, e);
    }
    s.stacks.release(sh->restorer_region);
    delete sh;
    s.shared = nullptr;
}

}  // namespace tasklets::detail

// The restorer frame's step (arch::has_restorer_frame), called by the port's assembly.
extern "C" tasklets_restorer_next tasklets_restorer_step() noexcept {
    return tasklets::detail::bring_in(*tasklets::detail::tls_scheduler);
}

// For the gdb extension (tools/gdb/tasklets_gdb.py), which puts a copied-out tasklet's
// frames back in place to unwind them: the bytes at the top that copies leave in place.
extern "C" {
extern const std::size_t tasklets_shared_unkept_top;
__attribute__((used)) const std::size_t tasklets_shared_unkept_top = tasklets::detail::unkept_top;
}

namespace tasklets {

stack_mode default_stack_mode() {
    return detail::sched().shared_by_default ? stack_mode::shared : stack_mode::dedicated;
}

std::size_t shared_stack_limit() {
    const std::uint32_t limit = detail::sched().shared_limit;
    return limit == std::numeric_limits<std::uint32_t>::max() ? 0 : limit;
}

void set_shared_stack_limit(std::size_t bytes) {
    // Stored as the largest copy that does not keep a stack: "never" is the largest value.
    detail::sched().shared_limit =
        bytes == 0 ? std::numeric_limits<std::uint32_t>::max()
                   : static_cast<std::uint32_t>(std::min<std::size_t>(bytes, std::numeric_limits<std::uint32_t>::max() - 1));
}

void set_default_stack_mode(stack_mode mode) {
    if (mode == stack_mode::thread_default)
        throw std::invalid_argument(
            "tasklets: set_default_stack_mode needs stack_mode::dedicated or stack_mode::shared; thread_default "
            "names the setting itself");
    detail::sched().shared_by_default = mode == stack_mode::shared;
}

}  // namespace tasklets
