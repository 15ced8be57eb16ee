// Shared-stack tasklets (stack_mode::shared; docs/shared-stacks.md).
//
// A shared-stack tasklet has no stack of its own. Its thread keeps a few execution
// stacks, and the tasklet is bound to one of them when it first runs. Its frames always
// live at the same addresses on that stack, because frames point into themselves (saved
// frame pointers, addresses of locals). One tasklet at a time *occupies* an execution
// stack: its frames are there. Every other tasklet bound to it is *out*: its live part,
// from its saved stack pointer to the top, waits in a heap buffer of exactly that size.
//
// Copying is lazy. A tasklet that parks stays on its execution stack until another one
// bound to the same stack must run; only then is it copied out, and the newcomer copied
// in. The copying is done by the *restorer*, a small context with a stack of its own (one
// per thread): the tasklet that switched away may be the occupant, and no code can
// overwrite the stack it runs on.
//
// How switches reach the restorer without a test on any hot path: an out tasklet's saved
// stack pointer (tasklet_impl::sp) is the restorer's. Every switch site sets s.current to
// its target and resumes target->sp; for an out tasklet that resumes the restorer, which
// brings s.current in and resumes its real stack pointer. The restorer always suspends
// itself at the one switch in its loop, at the same depth, so its stack pointer is one
// constant per thread (shared_stacks::restorer_sp):
//
//      restorer stack                      execution stack E
//   +--------------------+  top         +------------------------+ start()
//   | restorer_main      |              | occupant's frames      |  copied out to the
//   |  loop: switch  ----+-- S          |  ...                   |  occupant's buffer
//   +--------------------+              +------------------------+ occupant's sp
//                                       | (no frames)            |  the newcomer's part
//   every out tasklet: sp == S          |                        |  is copied back to
//                                       +------------------------+ its own saved sp
//
// On x86-64 System V (arch::has_restorer_frame; not in ASan builds) S is not a suspended
// context but a frame that is never saved again: resuming it enters an assembly stub
// (switch_x86_64.asm) that runs tasklets_restorer_step() below it and resumes what that
// returns. Elsewhere the restorer suspends itself at its switch each time; both run the
// same step (bring_in).
//
// What points into a parked tasklet's frames must not be used while it is out. The
// kernel's own records are kept off the stack for these tasklets: channel waits and
// selects use a heap box (channels/off_stack_wait.cpp), timer and epoll I/O waits a heap
// io_wait, timeouts a heap timer (io/channel_timeouts.cpp), shared channels and selects
// over them a heap wait, records and values (threads/shared_channel.cpp,
// shared_select.cpp), io_uring requests and helper-thread calls a heap record
// (io/reactor_uring.cpp, io/reactor.cpp). Every wait a tasklet can make is covered; a wait
// that kept its record in the frame would be refused (check_wait) rather than go wrong.
#pragma once

#include "core/scheduler.hpp"

#include <cstddef>
#include <cstdint>
#include <new>

namespace tasklets::detail {

struct transfer_ops;

/// One execution stack for shared-stack tasklets. On the heap, so that a kept one outlives
/// its slot; a line of its own, since the restorer reads it at every switch between
/// tasklets of one stack (the same-stack round trips measured no slower than with the
/// stacks inside shared_stacks' page: docs/shared-stacks.md).
struct alignas(64) exec_stack {
    stack_region region;                // allocated with it, when a tasklet is first bound to its slot
    std::byte* top = nullptr;           // region.start(): where frames begin
    tasklet_impl* occupant = nullptr;   // whose frames are on it (running or parked), or null
    std::uint32_t bound = 0;            // tasklets bound to it that have not ended
    // Kept: out of the rotation since a tasklet copied out of it had outgrown the thread's
    // shared_stack_limit() (bring_in). No tasklet is bound to it any more; it is freed
    // when the last one bound to it ends. Listed in shared_stacks::kept.
    bool kept = false;
    exec_stack* kept_prev = nullptr;
    exec_stack* kept_next = nullptr;
};

/// A thread's execution stacks and its restorer (scheduler::shared, made on first use).
/// It starts a 4 KiB page, so the fields the restorer reads at every switch between
/// tasklets of one execution stack lie at the low end of a page, while the frames being
/// copied lie at the high end of theirs (execution stacks' tops are page aligned). On x86 a
/// load whose address matches a pending store's in the low 12 bits waits for that store
/// ("4K aliasing"): with this struct at page offsets 3,664 on, which is where an
/// unaligned allocation put it in one benchmark run and not another, a schedule round trip
/// on one execution stack took 53 ns instead of 40 (docs/shared-stacks.md).
struct alignas(4096) shared_stacks {
    /// Execution stacks per thread. Tasklets are bound to them in turn: tasklets that
    /// talk to each other a lot seldom share one, and then switch without copying.
    static constexpr std::size_t count = 4;
    exec_stack* stacks[count] = {};     // the rotation; a slot is made when a tasklet is bound to it
    std::size_t next = 0;               // the slot the next tasklet is bound to
    exec_stack* kept = nullptr;         // kept stacks (exec_stack::kept), a list
    std::size_t kept_count = 0;         // statistics: shared_stacks_kept
    std::uint64_t copies_out = 0;       // statistics: shared_copies_out
    std::uint64_t bytes_copied_out = 0;
    std::size_t stack_size = 0;         // of every execution stack: default_stack_size() when made
    stack_region restorer_region;
    void* restorer_sp = nullptr;        // S in the picture: where every out tasklet's sp points
    void* primer_sp = nullptr;          // while the restorer is made: its maker's context
    instrument::tasklet_state restorer_tools;
};

/// A heap box kept between a shared-stack tasklet's channel waits whose values do not fit
/// its inline box (channels/off_stack_wait.cpp): made on its first such wait, reused by the
/// next, freed by a wait that uses the inline box or by the tasklet's end. It is noted in
/// the inline box itself, which no wait uses meanwhile, rather than in fields of its own,
/// which every parked tasklet would pay for.
struct kept_heap_box {
    void* memory;
    std::uint32_t size;
    std::uint8_t align_shift;  // its alignment: 1 << this
};

/// Where the value of a plain channel wait that keeps its record in the inline box is
/// (shared_stack_state::frame_value).
enum class frame_value_place : std::uint8_t {
    none,      // the wait keeps its value in the box from the start, or there is no such wait
    in_frame,  // the caller's own, in its frame: the tasklet is on its execution stack
    in_box,    // moved to the box when the tasklet was copied out (evacuate_frame_wait)
};

/// Per shared-stack tasklet, from its spawn to its end (tasklet_impl::shared), in its
/// control block's cell after the bound function (core/control_blocks.cpp). 112 bytes:
/// every parked tasklet has one (sizes fit 32 bits: a stack is far smaller than 4 GiB).
struct shared_stack_state {
    exec_stack* stack = nullptr;        // bound when it first runs
    std::byte* saved = nullptr;         // while out: its live part, from its stack pointer to the top, but for the hole (+ ASan shadow)
    // While it waits on a channel off the stack (channels/off_stack_wait.cpp): the caller's
    // value (sending) or storage (receiving), and its type's operations. Here rather than
    // in the wait's frame, which is copied out and in with the tasklet's other frames.
    void* wait_transfer = nullptr;
    const transfer_ops* wait_ops = nullptr;
    std::uint32_t saved_size = 0;       // bytes in `saved`: the live part but for the hole
    std::uint32_t saved_capacity = 0;   // the buffer is kept while it runs, for its next park
    bool out = true;                    // its frames are not on the execution stack
    bool has_heap_box = false;          // inline_box holds a kept_heap_box
    // Where a plain channel wait with its record in inline_box keeps its value
    // (channels/off_stack_wait.cpp): in the caller's frame while the tasklet stays on its
    // execution stack, so that a partner moves it as for a dedicated tasklet; in inline_box
    // after copy_out moved it there. Stale once the wait is over: read only while
    // the tasklet waits on that record (core/shared_stacks.cpp, waits_in_a_box), or when in_box.
    frame_value_place frame_value = frame_value_place::none;
    // While it waits on a channel: where, in bytes below the stack's top, the caller's
    // waiter_slot lies (include/tasklets/channel.hpp), which the off-stack wait leaves
    // unused; copying out and in skip it. 0: none (not waiting, too deep, or ASan, whose
    // shadow bytes travel with the whole live part). While it is out, nonzero exactly when
    // the copy left the slot out: its stack pointer is found from this and saved_size.
    std::uint16_t hole = 0;
    // ASan builds: it parked with its frames in place, and they are poisoned until it runs
    // or is copied out; their shadow waits in `saved`, after room for the live part
    // (guard_parked_frames).
    bool poisoned = false;
    // The box of a wait whose value takes 8 bytes or less (a channel_waiter, then the
    // value): most channels' values, and then the box costs no allocation of its own and
    // no allocator header (1,000,000 tasklets parked on channel<int>: 16 bytes each less).
    // Between waits it may note a kept_heap_box instead (has_heap_box).
    alignas(16) std::byte inline_box[64];

    kept_heap_box& heap_box() noexcept { return *std::launder(reinterpret_cast<kept_heap_box*>(inline_box)); }
    const kept_heap_box& heap_box() const noexcept {
        return *std::launder(reinterpret_cast<const kept_heap_box*>(inline_box));
    }
    /// Frees the kept heap box, if there is one.
    void drop_heap_box() noexcept {
        if (!has_heap_box) return;
        has_heap_box = false;
        ::operator delete(heap_box().memory, std::align_val_t{std::size_t{1} << heap_box().align_shift});
    }
};
static_assert(sizeof(shared_stack_state) <= 112 || sizeof(void*) != 8, "shared_stack_state grew: every parked tasklet pays");

/// Makes t (not yet spawned) a shared-stack tasklet (stack_kind), its shared_stack_state
/// constructed at `state` (room in its cell). Throws std::invalid_argument if it asks for
/// a stack larger than the thread's execution stacks, or what making them throws.
void make_shared_mode(scheduler& s, tasklet_impl* t, void* state);

/// start_tasklet() for a shared-stack tasklet: binds it to an execution stack; its first
/// frame is made by the restorer when it first runs. Throws, with nothing changed, if no
/// stack can be had.
void bind_to_shared_stack(scheduler& s, tasklet_impl* t);
/// release_dead() for a shared-stack tasklet: it leaves its execution stack, and its
/// shared_stack_state is freed.
void leave_shared_stack(scheduler& s, tasklet_impl* t) noexcept;

/// The resume hook found s.current out: the switch landed in the restorer, which is
/// about to bring it in. Finishes the sanitizer's switch and frees a dead tasklet's stack.
void restorer_arrived(scheduler& s) noexcept;

/// ASan builds, first thing on the resumed side of a switch (the resume hook, a new
/// tasklet's entry): the resumed tasklet's frames get their shadow back if they were
/// poisoned, and those of the tasklet we came from, if it is a shared-stack tasklet that
/// parked with its frames in place, are poisoned while it waits. Another tasklet that
/// keeps a pointer to its locals and uses it is then reported (docs/shared-stacks.md).
/// Only what nobody runs on is poisoned: the running tasklet's deeper calls never meet it.
void guard_parked_frames_asan(scheduler& s) noexcept;
inline void guard_parked_frames(scheduler& s) noexcept {
    if constexpr (instrument::copies_shadow) guard_parked_frames_asan(s);
    (void)s;
}

/// Bytes of t's frames, from its stack pointer to the top, copied out or in place. 0 if
/// never run.
std::size_t shared_stack_depth(const tasklet_impl* t) noexcept;

/// t (running) is about to wait on a channel with its record off the stack, so the
/// waiter_slot its caller reserved (`slot`) stays unused: while t is parked, copying out
/// and in skip it (shared_stack_state::hole). forget_hole when the wait is over.
inline void note_hole(tasklet_impl* t, const void* slot) noexcept {
    if constexpr (instrument::copies_shadow) return;  // the shadow is kept for whole parts
    shared_stack_state& st = *t->shared;
    // Below the top by at most 64 KiB (one unsigned comparison for both). The slot is in the
    // tasklet's own frame on this stack; copying checks it against the parked sp as well.
    const auto below = reinterpret_cast<std::uintptr_t>(st.stack->top) - reinterpret_cast<std::uintptr_t>(slot);
    st.hole = below - 1 < 0xFFFF ? static_cast<std::uint16_t>(below) : 0;
}
inline void forget_hole(tasklet_impl* t) noexcept { t->shared->hole = 0; }

/// copy_out of a tasklet whose plain channel wait keeps its value in its frame
/// (frame_value in_frame): moves a send's value into the box and points the record there,
/// where a partner finds it while the frame is away. In channels/off_stack_wait.cpp.
void evacuate_frame_wait(tasklet_impl* t) noexcept;
/// copy_in of a tasklet whose wait's value went to the box (frame_value in_box), its
/// frames back in place: a received value moves to the caller's storage, then what the
/// box holds is destroyed (a send's value, taken or not). In channels/off_stack_wait.cpp.
void finish_frame_wait(tasklet_impl* t) noexcept;

/// Before a wait whose record others reach, when t->block_trap is set: throws state_error
/// for a user's block trap, or for a shared-stack tasklet whose wait keeps its record in
/// its frame (`operation` names the wait in the message). Told, not found from the
/// address: under ASan's detect_stack_use_after_return, locals live off the stack.
void check_wait(const tasklet_impl* t, bool record_in_frame, const char* operation);

/// Thread end: gives the execution stacks and the restorer's back to the pool.
void end_shared_stacks(scheduler& s) noexcept;

}  // namespace tasklets::detail
