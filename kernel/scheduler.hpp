// The kernel's private view: the tasklet control block, the per-thread scheduler, the
// ring, and the one place where a switch happens (switch_to_tasklet).
//
// Ownership. A tasklet's control block is freed when no handle refers to it and the
// scheduler no longer needs it (dead, or never started and not scheduled). The scheduler
// needs a tasklet while it is in the ring, blocked on a channel, running, or waiting
// inside run(); those states cost no reference-count traffic on the hot paths.
#pragma once

#include "instrument.hpp"
#include "stack_pool.hpp"

#include <tasklets/channel.hpp>
#include <tasklets/context.hpp>
#include <tasklets/tasklet.hpp>
#include <tasklets/watchdog.hpp>

#include <chrono>

#include <cstdint>
#include <exception>

extern "C" {
/// The scheduler's switch, in assembly in every port (arch/<arch>/switch_*; a port
/// without one gets kernel/kernel_switch_portable.cpp). Saves the running context to
/// *save_sp and resumes target_sp; if run_resume_hook is non-zero the resumed side first
/// runs tasklets_resume_hook(), which may throw into it.
void tasklets_kernel_switch(void** save_sp, void* target_sp, std::uintptr_t run_resume_hook);
/// after_resume() for the tasklet just resumed; entered as if called by the resumed code.
void tasklets_resume_hook();
}
#include <string>
#include <vector>

namespace tasklets::detail {

struct channel_core;
struct channel_waiter;
struct scheduler;

/// Something other than a channel that a tasklet can wait for (a timer, a readable
/// descriptor), registered with an event_source before the tasklet parks.
struct event_wait {
    /// Called when the tasklet is woken by other means (kill, throw_exception): remove
    /// every registration that could still wake it. Must not switch.
    void (*cancel)(event_wait* self) noexcept = nullptr;
};

/// Timers and I/O plug into the scheduler through this (one per scheduler). The
/// scheduler asks it for work before it lets the ring run empty, and polls it without
/// blocking every poll_interval safe points so busy tasklets cannot starve I/O.
class event_source {
public:
    virtual ~event_source() = default;
    /// Are tasklets waiting for events this source will deliver?
    virtual bool has_waiters() const noexcept = 0;
    /// Wakes (wake_from_event) the tasklets whose events are ready. With `block`, first
    /// waits until one is ready or the next timer is due, but no longer than
    /// `max_wait_ns` of real time if that is not negative (a run() time budget's end).
    /// Must not switch.
    virtual void poll(scheduler& s, bool block, std::int64_t max_wait_ns) noexcept = 0;
};

/// The per-stack part of the C++ runtime's exception state (__cxa_eh_globals: the
/// caught-exception chain and the uncaught count). It is per *thread* in the runtime, so
/// each tasklet keeps its own copy and the switch swaps it: a tasklet may switch inside
/// a catch block or during unwinding without corrupting another tasklet's.
struct eh_state {
    void* caught = nullptr;
    unsigned int uncaught = 0;
    unsigned int padding = 0;  // the runtime's struct is 16 bytes too: copied whole, as one vector move
};
static_assert(sizeof(eh_state) == 16, "__cxa_eh_globals on an LP64 Itanium C++ ABI: a pointer and an unsigned int");

enum : std::int8_t { receiving = -1, not_blocked = 0, sending = 1 };

struct tasklet_impl {
    void* sp = nullptr;               // saved context while not running
    tasklet_impl* next = nullptr;     // ring links
    tasklet_impl* prev = nullptr;
    channel_core* blocked_on = nullptr;  // blocked on a channel (a select: its first case's)
    event_wait* event = nullptr;      // waiting for a timer or I/O (blocked, not on a channel)
    channel_waiter* waiters = nullptr;  // while blocked on channels: its waiter record(s), on its stack (channel_core.hpp)
    std::exception_ptr pending;       // raised when this tasklet next resumes
    tasklet_body* body = nullptr;     // bound function; null once finished
    eh_state eh;
    std::uint32_t handles = 1;
    std::int8_t direction = not_blocked;
    std::uint8_t block_class = 0;     // control-block cache class (0: allocated exactly)
    bool in_ring = false;
    bool alive = false;
    bool started = false;             // has a stack (main: always)
    bool fresh = false;               // started but not yet entered: resumes in tasklet_entry
    bool waiting_in_run = false;      // inside run() as a watchdog
    bool is_main = false;
    bool atomic = false;
    bool block_trap = false;
    stack_block stack;
    std::size_t stack_size = 0;       // requested usable size (bytes, page multiple)
    std::uint64_t fp_control = 0;     // the creator's FP control, for the first frame
    std::uint64_t id = 0;
    [[no_unique_address]] instrument::tasklet_state tools;  // sanitizer bookkeeping (empty in plain builds)
    tasklet_impl* all_next = nullptr; // every control block of the thread (for teardown and debuggers)
    tasklet_impl* all_prev = nullptr;
    char* name = nullptr;             // owned, NUL-terminated; most tasklets have none

    tasklet_impl() = default;
    tasklet_impl(const tasklet_impl&) = delete;
    tasklet_impl& operator=(const tasklet_impl&) = delete;
    ~tasklet_impl() { delete[] name; }
    std::string_view name_view() const noexcept { return name ? std::string_view(name) : std::string_view(); }
    void set_name(std::string_view text);
};

/// Freed control blocks, kept per 64-byte size class for reuse: spawning a tasklet then
/// costs no malloc/free in the common case. Bounded per class, freed at thread exit.
struct block_cache {
    // malloc's own granularity: a request of granule * class - sizeof(void*) bytes fills
    // a glibc chunk exactly, so a cached block costs no more memory than an exact one.
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 64;           // blocks up to 1 KiB
    static constexpr std::uint32_t max_per_class = 131072;
    struct free_block { free_block* next; };
    free_block* head[classes + 1] = {};
    std::uint32_t count[classes + 1] = {};
    ~block_cache();
};

/// Bits of scheduler::switch_flags: rare conditions the hot paths test with one load.
enum : std::uint8_t {
    switch_trapped = 1,    // switch_trap() is non-zero: switches are refused
    in_callback = 2,       // a schedule/channel callback runs: switches are refused
    budget_armed = 4,      // a run() budget is being enforced: on_switch() keeps its books
    schedule_watched = 8,  // a schedule callback is installed: on_switch() calls it
    channel_watched = 16,  // a channel callback is installed
};

/// The budget of the outermost budgeted run() (watchdog.hpp explains the rules).
struct run_budget {
    tasklet_impl* watchdog = nullptr;       // that run()'s caller
    std::int64_t tick_budget = 0;           // per slice (or in total); 0: none
    std::int64_t ticks_left = 0;
    std::chrono::nanoseconds time_budget{0};
    std::chrono::steady_clock::time_point slice_start{};
    std::chrono::steady_clock::time_point last_look{};  // the clock's last reading
    bool slice_restarted = false;           // a switch happened: the slice starts anew
    bool soft = false;
    bool total = false;
    bool soft_expired = false;              // soft: stop at the next voluntary switch
    bool stopped = false;                   // soft stop happened: run() returns empty
    tasklet_impl* interrupted = nullptr;    // hard stop happened: run() returns it (a handle held)
};

struct scheduler {
    tasklet_impl* current = nullptr;
    tasklet_impl main;
    int runcount = 1;
    std::vector<tasklet_impl*> watchdogs;  // run() callers, innermost last
    tasklet_impl* dead = nullptr;          // finished; its stack is freed once we are off it
    tasklet_impl* previous = nullptr;      // sanitizer builds: who switched to the current tasklet
    eh_state* eh_globals = nullptr;        // this thread's __cxa_eh_globals
    tasklet_impl* all = nullptr;
    std::vector<tasklet_impl*> abandoned;  // paused themselves with no handle left
    std::uint64_t next_id = 2;
    void* alt_stack = nullptr;             // our sigaltstack mapping, if we made one
    std::size_t page_size = 0;
    std::size_t default_stack_request = 0; // default_stack_size() last seen...
    std::size_t default_stack_rounded = 0; // ...and rounded up to whole pages
    block_cache blocks;
    event_source* events = nullptr;        // timers and I/O, when in use
    std::uint8_t switch_flags = 0;
    int trap_level = 0;                    // switch_trap()
    std::int32_t tick_period = 0;          // what tick_countdown was last armed with
    std::int64_t poll_ticks_left = 0;      // safe points until the next I/O poll
    run_budget budget;
    schedule_callback on_schedule;
    channel_callback on_channel;
    error_handler on_error;
    stack_pool stacks;
};

scheduler& create_scheduler();

/// Per-thread overflow reporting: an alternate signal stack, and (once per process) the
/// SIGSEGV handler that names the tasklet whose guard was hit. In overflow.cpp.
void install_overflow_reporting(scheduler& s);
void remove_overflow_reporting(scheduler& s) noexcept;

// The scheduler pointer is read on every operation: initial-exec TLS is one load.
extern thread_local constinit scheduler* tls_scheduler __attribute__((tls_model("initial-exec")));

inline scheduler& sched() {
    scheduler* s = tls_scheduler;
    if (s == nullptr) [[unlikely]] return create_scheduler();
    return *s;
}

/// Safe points (every switch attempt and channel operation, and tasklets::check()) count
/// down tick_countdown; at zero, slow_safe_point() does the periodic work: polling the
/// event source, the watchdog's budget.
inline constexpr std::int32_t poll_interval = 64;
void slow_safe_point(scheduler& s);
inline void safe_point(scheduler& s) {
    if (--tick_countdown < 0) [[unlikely]] slow_safe_point(s);
}

/// Every operation that is about to switch calls this before it changes any state, so
/// that a refused switch (switch_trap, or inside a callback) changes nothing.
[[noreturn]] void refuse_switch(scheduler& s);
inline void guard_switch(scheduler& s) {
    if (s.switch_flags & (switch_trapped | in_callback)) [[unlikely]] refuse_switch(s);
}

/// The rare work around a switch (callbacks, budget books, a soft stop). Returns the
/// tasklet to switch to: `to`, or the budget's watchdog when a soft budget ran out.
tasklet_impl* on_switch(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept;

/// Calls the channel callback (channel_watched is set).
void notify_channel(scheduler& s, const channel_core* c, int balance, bool sending, bool will_block);

inline bool is_blocked(const tasklet_impl* t) noexcept { return t->blocked_on != nullptr || t->event != nullptr; }

/// Parks the current tasklet until wake_from_event(), with `w` registered. While it is
/// the only runnable tasklet, the event source is polled in place (blocking) instead.
/// Throws what is thrown into it meanwhile (w->cancel has run by then).
void wait_for_event(scheduler& s, event_wait* w);
/// Ends t's event wait and makes it runnable (appended to the ring). Safe to call from
/// event_source::poll, also for the tasklet that is still running (it then never parks).
void wake_from_event(scheduler& s, tasklet_impl* t) noexcept;
/// The ring is down to `self`: lets the event source wake someone. False if it has
/// nobody waiting, or if a run() time budget ran out while waiting (the budget's run()
/// should get control), so the ring stays empty but for self.
bool refill_ring(scheduler& s, tasklet_impl* self) noexcept;
/// One blocking poll of the event source (there must be one with waiters), bounded by
/// a run() time budget: waiting for events counts as time of the current slice (or of
/// the whole run() call, with total). False, without polling, once that is spent.
bool poll_within_budget(scheduler& s) noexcept;

// ---- the ring -----------------------------------------------------------------------
inline void ring_insert_before(scheduler& s, tasklet_impl* pos, tasklet_impl* t) noexcept {
    t->next = pos;
    t->prev = pos->prev;
    pos->prev->next = t;
    pos->prev = t;
    t->in_ring = true;
    ++s.runcount;
}
inline void ring_insert_after(scheduler& s, tasklet_impl* pos, tasklet_impl* t) noexcept {
    ring_insert_before(s, pos->next, t);
}
inline void ring_unlink(scheduler& s, tasklet_impl* t) noexcept {
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = t;
    t->in_ring = false;
    --s.runcount;
}
/// Appends t at the end of the round, just before the running tasklet (which every
/// caller keeps in the ring until it has appended what it needs to).
inline void ring_append(scheduler& s, tasklet_impl* t) noexcept { ring_insert_before(s, s.current, t); }

// ---- switching ----------------------------------------------------------------------
/// Gives t its stack if it never ran. Throws if no stack can be had; call it before
/// changing any state so that a failure leaves everything as it was.
void start_tasklet(scheduler& s, tasklet_impl* t);
inline void prepare(scheduler& s, tasklet_impl* t) {
    if (!t->started) [[unlikely]] start_tasklet(s, t);
}

/// Work every resumed tasklet does first: free the stack of a tasklet that just died,
/// and raise an exception thrown into this one (kill, throw_exception, send_exception,
/// a deadlock report, an exception escaping a tasklet for the watchdog).
void release_dead(scheduler& s) noexcept;
[[noreturn]] void raise_pending(tasklet_impl* self);
inline void after_resume(scheduler& s, tasklet_impl* self) {
    if (s.dead) [[unlikely]] release_dead(s);
    if (self->pending) [[unlikely]] raise_pending(self);
}

/// Conditions a switch cannot ignore: a refused switch (switch_trapped, in_callback) and
/// the work of on_switch (budget_armed, schedule_watched). Hot paths test them all with
/// one instruction and leave everything rare to a slow path.
inline constexpr std::uint8_t switch_needs_care = switch_trapped | in_callback | budget_armed | schedule_watched;

/// Swaps the runtime's exception state: from's is saved, to's installed (whole 16-byte
/// structs: one vector move each way on x86-64, aligned doubleword moves elsewhere).
inline void swap_eh_state(scheduler& s, tasklet_impl* from, const tasklet_impl* to) noexcept {
    eh_state* globals = s.eh_globals;
    from->eh = *globals;
    *globals = to->eh;
}

/// switch_to_tasklet() for callers that found no switch_needs_care condition (after
/// guard_switch, the only ones left are budget_armed and schedule_watched).
inline void switch_plainly(scheduler& s, tasklet_impl* from, tasklet_impl* to) {
    swap_eh_state(s, from, to);
    s.current = to;
    if constexpr (instrument::needs_resume_hook) s.previous = from;
    instrument::before_switch(from->tools, to->tools, false);
    // A fresh tasklet does its resume work in tasklet_entry; a dead stack is only ever
    // left behind by finish(), which asks for the hook itself.
    const bool hook = !to->fresh && (instrument::needs_resume_hook || to->pending);
    tasklets_kernel_switch(&from->sp, to->sp, hook);
}

/// Suspends the current tasklet and resumes `to` (prepared, in the ring). Returns when
/// something switches back; may throw what was thrown into this tasklet meanwhile.
/// Callers end with it (a tail call), so that the switch saves the *user's* return
/// address and the resumed tasklet executes no mispredicted ret (see the asm).
inline void switch_to_tasklet(scheduler& s, tasklet_impl* to) {
    tasklet_impl* from = s.current;
    if (s.switch_flags & (budget_armed | schedule_watched)) [[unlikely]] to = on_switch(s, from, to);
    switch_plainly(s, from, to);
}

/// The tasklet that takes over when the ring runs empty: the innermost run() caller, or
/// the main tasklet.
inline tasklet_impl* watchdog(scheduler& s) noexcept {
    return s.watchdogs.empty() ? &s.main : s.watchdogs.back();
}
/// Makes the watchdog runnable so that control can go to it. If it is blocked on a
/// channel, it is taken off with `error` pending (when given).
void revive(scheduler& s, tasklet_impl* w, bool with_deadlock_error);

/// The running tasklet leaves the ring (it is paused afterwards). If no handle refers to
/// it, it goes on the abandoned list (killed when the outermost run() ends), in room
/// that make_room_to_leave_ring() made before anything changed.
void leave_ring(scheduler& s, tasklet_impl* t) noexcept;
/// Call before any state changes on the way to leave_ring(s, t): may throw bad_alloc.
void make_room_to_leave_ring(scheduler& s, const tasklet_impl* t);

/// Ends a blocked tasklet's wait without waking it: off its channel (balance adjusted),
/// or its event registration cancelled.
void unblock(tasklet_impl* t) noexcept;
void unblock_from_channel(tasklet_impl* t) noexcept;
/// Is t (blocked on channels) waiting in a select rather than a plain send/receive?
bool blocked_in_select(const tasklet_impl* t) noexcept;

/// Raises `e` in t following Stackless's throw rules (tasklet::throw_exception).
void throw_into(scheduler& s, tasklet_impl* t, std::exception_ptr e, bool pending);

/// Destroys a control block no handle and no scheduler state refers to any more.
void free_tasklet(scheduler& s, tasklet_impl* t) noexcept;

[[noreturn]] void throw_state_error(const char* message);

}  // namespace tasklets::detail
