// The per-thread scheduler: its life cycle, starting and ending tasklets, and the
// module-level operations schedule(), schedule_remove() and run().
#include "scheduler.hpp"

#include "arch_context.hpp"
#include "system.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cxxabi.h>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tasklets::detail {

thread_local constinit scheduler* tls_scheduler __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local constinit std::int32_t tick_countdown __attribute__((tls_model("initial-exec"))) = 0;

namespace {

void destroy_scheduler(scheduler& s) noexcept;

// Its destructor runs at thread exit (for the main thread: at exit()) and tears the
// thread's scheduler down. Touched once, in create_scheduler, to register it.
struct scheduler_owner {
    ~scheduler_owner() {
        if (tls_scheduler) destroy_scheduler(*tls_scheduler);
    }
};
thread_local scheduler_owner owner;

void link_all(scheduler& s, tasklet_impl* t) noexcept {
    t->all_prev = nullptr;
    t->all_next = s.all;
    if (s.all) s.all->all_prev = t;
    s.all = t;
}

void unlink_all(scheduler& s, tasklet_impl* t) noexcept {
    if (t->all_prev) t->all_prev->all_next = t->all_next;
    else s.all = t->all_next;
    if (t->all_next) t->all_next->all_prev = t->all_prev;
}

std::size_t body_offset() noexcept {
    constexpr std::size_t align = alignof(std::max_align_t);
    return (sizeof(tasklet_impl) + align - 1) / align * align;
}

void tasklet_entry(void*) noexcept;

// Kills the started, alive tasklet t from the current one and waits for it to end.
void kill_now(scheduler& s, tasklet_impl* t) {
    throw_into(s, t, std::make_exception_ptr(tasklet_exit{}), false);
}

// Kills the tasklets that paused themselves after their last handle was gone: nothing
// can ever resume them, and their destructors must still run.
void kill_abandoned(scheduler& s) {
    while (!s.abandoned.empty()) {
        tasklet_impl* t = s.abandoned.back();
        s.abandoned.pop_back();
        if (t->alive && !t->in_ring && !is_blocked(t) && !t->waiting_in_run && t->handles == 0) {
            t->handles = 1;  // keep it while we kill it
            try {
                kill_now(s, t);
            } catch (...) {
                release(t);
                throw;
            }
            release(t);
        }
    }
}

void destroy_scheduler(scheduler& s) noexcept {
    if (s.current != &s.main) return;  // the thread ends inside a tasklet: nothing is safe to free
    // Kill what still runs, so that destructors on tasklet stacks run and stacks return.
    std::vector<tasklet_impl*> victims;
    for (tasklet_impl* t = s.all; t; t = t->all_next)
        if (t != &s.main && t->alive && t->started) victims.push_back(t);
    for (tasklet_impl* t : victims) retain(t);
    for (tasklet_impl* t : victims) {
        try {
            if (t->alive) kill_now(s, t);
        } catch (...) {
            // An exception from a dying tasklet at thread exit has nowhere to go.
        }
    }
    for (tasklet_impl* t : victims) release(t);
    // Tasklets that never ran hold no stack: unbind and unschedule them.
    for (tasklet_impl* t = s.all; t; t = t->all_next) {
        if (t == &s.main || t->started || !t->alive) continue;
        if (is_blocked(t)) unblock(t);
        if (t->in_ring) ring_unlink(s, t);
        t->body->~tasklet_body();
        t->body = nullptr;
        t->alive = false;
    }
    for (tasklet_impl* t = s.all; t;) {
        tasklet_impl* next = t->all_next;
        if (t != &s.main && t->handles == 0 && !t->alive && t->stack.base == nullptr) free_tasklet(s, t);
        t = next;
    }
    remove_overflow_reporting(s);
    bool survivors = false;
    for (tasklet_impl* t = s.all; t; t = t->all_next) survivors |= t != &s.main;
    if (survivors) return;  // handles outlive their thread: keep what they point to
    tls_scheduler = nullptr;
    delete &s;
}

}  // namespace

scheduler& create_scheduler() {
    auto* s = new scheduler;
    tasklet_impl& m = s->main;
    m.next = m.prev = &m;
    m.in_ring = true;
    m.alive = true;
    m.started = true;
    m.is_main = true;
    m.id = 1;
    m.handles = 1;  // the scheduler's own: main is never freed through a handle
    link_all(*s, &m);
    s->current = &m;
    s->eh_globals = reinterpret_cast<eh_state*>(abi::__cxa_get_globals());
    s->page_size = sys::page_size();
    instrument::adopt_thread(m.tools);
    s->watchdogs.reserve(8);
    tls_scheduler = s;
    (void)&owner;
    install_overflow_reporting(*s);
    return *s;
}

// ---- control blocks -----------------------------------------------------------------

namespace {

[[noreturn]] void stack_too_small(std::size_t requested) {
    throw std::invalid_argument("tasklets: a stack of " + std::to_string(requested) +
                                " bytes is too small; the minimum is " + std::to_string(min_stack_size) +
                                " bytes (tasklets::min_stack_size)");
}

std::size_t round_to_pages(const scheduler& s, std::size_t bytes) noexcept {
    return (bytes + s.page_size - 1) / s.page_size * s.page_size;
}

std::size_t stack_bytes_for(scheduler& s, std::size_t requested) {
    if (requested != 0) {
        if (requested < min_stack_size) stack_too_small(requested);
        return round_to_pages(s, requested);
    }
    const std::size_t by_default = default_stack_size();  // validated when set
    if (by_default != s.default_stack_request) {
        s.default_stack_request = by_default;
        s.default_stack_rounded = round_to_pages(s, by_default);
    }
    return s.default_stack_rounded;
}

// Out of memory for a control block: std::system_error(ENOMEM) saying what and what to do.
void* new_block(std::size_t bytes) {
    try {
        if (sys::inject_failure("tasklet control block")) throw std::bad_alloc();
        return ::operator new(bytes);
    } catch (const std::bad_alloc&) {
        throw std::system_error(ENOMEM, std::generic_category(),
                                "tasklets: cannot allocate a tasklet control block of " + std::to_string(bytes) +
                                    " bytes (operator new failed); reduce the number of live tasklets or the size "
                                    "of the callables and arguments they hold, or make more memory available");
    }
}

std::size_t block_request(std::size_t cls) noexcept { return cls * block_cache::granule - sizeof(void*); }

void* allocate_block(block_cache& cache, std::size_t bytes, std::uint8_t& block_class) {
    const std::size_t cls = (bytes + sizeof(void*) + block_cache::granule - 1) / block_cache::granule;
    if (cls > block_cache::classes) {
        block_class = 0;
        return new_block(bytes);
    }
    block_class = static_cast<std::uint8_t>(cls);
    if (block_cache::free_block* b = cache.head[cls]) {
        cache.head[cls] = b->next;
        --cache.count[cls];
        return b;
    }
    return new_block(block_request(cls));
}

void free_block(block_cache& cache, void* memory, std::uint8_t cls) noexcept {
    if (cls == 0 || cache.count[cls] == block_cache::max_per_class) {
        ::operator delete(memory);
        return;
    }
    auto* b = static_cast<block_cache::free_block*>(memory);
    b->next = cache.head[cls];
    cache.head[cls] = b;
    ++cache.count[cls];
}

}  // namespace

block_cache::~block_cache() {
    for (free_block*& list : head)
        while (free_block* b = list) {
            list = b->next;
            ::operator delete(b);
        }
}

tasklet_impl* allocate_tasklet(std::size_t body_size, const tasklet_options& options) {
    scheduler& s = sched();
    const std::size_t stack_bytes = stack_bytes_for(s, options.stack_size);
    std::uint8_t block_class;
    void* memory = allocate_block(s.blocks, body_offset() + body_size, block_class);
    auto* t = ::new (memory) tasklet_impl;
    t->block_class = block_class;
    t->stack_size = stack_bytes;
    t->fp_control = arch::current_fp_control();  // inherited, as by a new thread
    t->id = s.next_id++;
    t->next = t->prev = t;
    if (!options.name.empty()) {
        try {
            t->set_name(options.name);
        } catch (...) {
            t->~tasklet_impl();
            free_block(s.blocks, memory, block_class);
            throw;
        }
    }
    link_all(s, t);
    return t;
}

void tasklet_impl::set_name(std::string_view text) {
    char* copy = nullptr;
    if (!text.empty()) {
        copy = new char[text.size() + 1];
        std::memcpy(copy, text.data(), text.size());
        copy[text.size()] = '\0';
    }
    delete[] std::exchange(name, copy);
}

void* body_storage(tasklet_impl* t) noexcept { return reinterpret_cast<std::byte*>(t) + body_offset(); }

void free_unbound(tasklet_impl* t) noexcept { free_tasklet(sched(), t); }

void bind_and_schedule(tasklet_impl* t, tasklet_body* body) noexcept {
    t->body = body;
    t->alive = true;
    ring_append(sched(), t);
}

void free_tasklet(scheduler& s, tasklet_impl* t) noexcept {
    unlink_all(s, t);
    if (t->body) t->body->~tasklet_body();
    const std::uint8_t cls = t->block_class;
    t->~tasklet_impl();
    free_block(s.blocks, t, cls);
}

void retain(tasklet_impl* t) noexcept { ++t->handles; }

void release(tasklet_impl* t) noexcept {
    if (--t->handles != 0 || t->is_main) return;
    scheduler& s = sched();
    if (!t->alive) {
        if (t != s.dead) free_tasklet(s, t);  // else release_dead frees it
        return;
    }
    if (t->in_ring || is_blocked(t) || t == s.current || t->waiting_in_run) return;  // still running
    if (!t->started) {
        free_tasklet(s, t);
        return;
    }
    // Started and paused, and now unreachable: kill it so its stack unwinds.
    t->handles = 1;
    try {
        kill_now(s, t);
    } catch (...) {
        // A destructor cannot report it; the kill itself has happened.
    }
    release(t);
}

// ---- starting, resuming, ending -----------------------------------------------------

void start_tasklet(scheduler& s, tasklet_impl* t) {
    t->stack = s.stacks.allocate(t->stack_size);
    instrument::stack_assigned(t->tools, t->stack.base, t->stack.size);
    t->sp = arch::prepare_stack(t->stack.start(), &tasklet_entry, t->fp_control);
    t->started = true;
    t->fresh = true;
}

void release_dead(scheduler& s) noexcept {
    tasklet_impl* t = s.dead;
    s.dead = nullptr;
    instrument::tasklet_buried(t->tools);
    s.stacks.release(t->stack);
    t->stack = stack_block{};
    if (t->handles == 0) free_tasklet(s, t);
}

void raise_pending(tasklet_impl* self) {
    std::exception_ptr e = std::move(self->pending);
    self->pending = nullptr;
    std::rethrow_exception(std::move(e));
}

void revive(scheduler& s, tasklet_impl* w, bool with_deadlock_error) {
    if (is_blocked(w)) {
        if (with_deadlock_error && w->blocked_on)
            w->pending = std::make_exception_ptr(deadlock_error(
                blocked_in_select(w)       ? "the main tasklet is waiting in a select without a partner available."
                : w->direction == receiving ? "the main tasklet is receiving without a sender available."
                                            : "the main tasklet is sending without a receiver available."));
        unblock(w);
    }
    if (!w->in_ring) ring_append(s, w);
}

namespace {
bool abandons(const tasklet_impl* t) noexcept { return t->handles == 0 && !t->is_main && !t->waiting_in_run; }
}  // namespace

void make_room_to_leave_ring(scheduler& s, const tasklet_impl* t) {
    if (abandons(t) && s.abandoned.size() == s.abandoned.capacity()) s.abandoned.reserve(2 * s.abandoned.size() + 8);
}

void leave_ring(scheduler& s, tasklet_impl* t) noexcept {
    ring_unlink(s, t);
    if (abandons(t)) s.abandoned.push_back(t);  // cannot allocate: make_room_to_leave_ring ran
}

namespace {

// A finished tasklet leaves for good: to the next in the ring, or to the watchdog when
// the ring is empty or an exception escaped. Its stack is freed by whoever resumes.
[[noreturn]] void finish(scheduler& s, tasklet_impl* self, std::exception_ptr escaped) noexcept {
    self->alive = false;
    tasklet_impl* target = nullptr;
    if (!escaped && self->next == self) refill_ring(s, self);
    if (!escaped && self->next != self) {
        target = self->next;
        try {
            prepare(s, target);
        } catch (...) {
            escaped = std::current_exception();  // no stack for the next one: tell the watchdog
        }
    }
    if (escaped) {
        target = watchdog(s);
        revive(s, target, false);
        target->pending = std::move(escaped);
    } else if (!target) {
        target = watchdog(s);
        revive(s, target, true);
    }
    ring_unlink(s, self);
    s.dead = self;
    if (s.switch_flags & (budget_armed | schedule_watched)) [[unlikely]] target = on_switch(s, self, target);
    self->eh = eh_state{};
    *s.eh_globals = target->eh;
    s.current = target;
    s.previous = self;
    instrument::before_switch(self->tools, target->tools, true);
    void* abandoned_sp;
    tasklets_kernel_switch(&abandoned_sp, target->sp, !target->fresh);  // the hook frees our stack
    __builtin_unreachable();
}

// Every tasklet starts here, on its own stack, and never returns: exceptions stop here.
void tasklet_entry(void*) noexcept {
    scheduler& s = *tls_scheduler;
    tasklet_impl* self = s.current;
    instrument::after_switch(self->tools, s.previous->tools);
    self->fresh = false;
    std::exception_ptr escaped;
    try {
        after_resume(s, self);  // an exception thrown before the first run fires here
        self->body->invoke();
    } catch (const tasklet_exit&) {
    } catch (...) {
        escaped = std::current_exception();
    }
    if (escaped && s.on_error) {
        error_handler handler = s.on_error;  // it may replace itself
        try {
            handler(escaped);
            escaped = nullptr;  // handled: swallowed
        } catch (const tasklet_exit&) {
            escaped = nullptr;
        } catch (...) {
            escaped = std::current_exception();  // goes to the watchdog instead
        }
    }
    // The function and its bound arguments are destroyed here, on the tasklet's stack.
    self->body->~tasklet_body();
    self->body = nullptr;
    finish(s, self, std::move(escaped));
}

}  // namespace

void throw_into(scheduler& s, tasklet_impl* t, std::exception_ptr e, bool pending) {
    if (t == s.current) std::rethrow_exception(std::move(e));
    if (!pending) {
        guard_switch(s);
        prepare(s, t);
    }
    t->pending = std::move(e);
    if (is_blocked(t)) unblock(t);
    if (!t->in_ring) ring_append(s, t);
    if (!pending) switch_to_tasklet(s, t);
}

[[noreturn]] void throw_state_error(const char* message) { throw state_error(message); }

// ---- waiting for events (timers, I/O) ---------------------------------------------------

void unblock(tasklet_impl* t) noexcept {
    if (event_wait* w = t->event) {
        t->event = nullptr;
        w->cancel(w);
    } else {
        unblock_from_channel(t);
    }
}

bool poll_within_budget(scheduler& s) noexcept {
    std::int64_t max_wait = -1;
    run_budget& b = s.budget;
    if ((s.switch_flags & budget_armed) && b.time_budget.count() > 0) {
        const auto now = std::chrono::steady_clock::now();
        if (b.slice_restarted) {  // a switch began a new slice: the wait starts it
            b.slice_restarted = false;
            b.slice_start = now;
        }
        b.last_look = now;
        const auto left = b.slice_start + b.time_budget - now;
        if (left.count() <= 0) return false;
        max_wait = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    }
    s.events->poll(s, true, max_wait);
    return true;
}

bool refill_ring(scheduler& s, tasklet_impl* self) noexcept {
    while (self->next == self) {
        if (s.events == nullptr || !s.events->has_waiters()) return false;
        if (!poll_within_budget(s)) return false;
    }
    return true;
}

void wake_from_event(scheduler& s, tasklet_impl* t) noexcept {
    t->event = nullptr;
    if (!t->in_ring) ring_append(s, t);  // the running tasklet may be woken before it parks
}

void wait_for_event(scheduler& s, event_wait* w) {
    tasklet_impl* self = s.current;
    if (self->block_trap) throw_state_error("this tasklet does not like to be blocked.");
    if (self->next == self && !s.watchdogs.empty() && s.watchdogs.back() != self) {
        // Nobody else to run, but a run() caller waits: it does the waiting (its loop
        // polls the event source within its budget, and returns when that is spent).
        guard_switch(s);
        ring_append(s, s.watchdogs.back());
    }
    self->event = w;
    while (self->next == self) {  // nobody else to run and no run() caller: wait in place
        if (s.events == nullptr || !s.events->has_waiters()) {
            unblock(self);
            throw deadlock_error("Deadlock: the last runnable tasklet cannot be blocked.");
        }
        s.events->poll(s, true, -1);
        if (!self->event) return;  // ours came while we were still running
    }
    tasklet_impl* target = self->next;
    try {
        guard_switch(s);
        prepare(s, target);
    } catch (...) {
        unblock(self);
        throw;
    }
    ring_unlink(s, self);
    switch_to_tasklet(s, target);
}

// ---- ticks, budgets, callbacks -------------------------------------------------------------

namespace {

// Takes the safe points passed since the countdown was armed off every account.
void account_ticks(scheduler& s) noexcept {
    const std::int64_t passed = std::int64_t{s.tick_period} - tick_countdown;
    s.tick_period = tick_countdown;
    s.poll_ticks_left -= passed;
    if ((s.switch_flags & budget_armed) && s.budget.tick_budget) s.budget.ticks_left -= passed;
}

// Arms the countdown for whichever comes first: the next poll or the end of the budget.
void arm_ticks(scheduler& s) noexcept {
    std::int64_t next = s.poll_ticks_left;
    if ((s.switch_flags & budget_armed) && s.budget.tick_budget) next = std::min(next, s.budget.ticks_left);
    next = std::clamp<std::int64_t>(next, 1, poll_interval);
    tick_countdown = s.tick_period = static_cast<std::int32_t>(next - 1);
}

bool budget_spent(scheduler& s) {
    run_budget& b = s.budget;
    if (b.tick_budget && b.ticks_left <= 0) return true;
    if (b.time_budget.count() == 0) return false;
    const auto now = std::chrono::steady_clock::now();  // here, at most every 64 safe points
    if (b.slice_restarted) {
        // A switch happened since the last reading: the slice began between then and now.
        // Taking the earlier time errs against the new slice by at most 64 safe points,
        // but never lets time spent before a first safe point go uncounted.
        b.slice_restarted = false;
        b.slice_start = b.last_look;
    }
    b.last_look = now;
    return now - b.slice_start >= b.time_budget;
}

// Hard interruption: the running tasklet leaves the ring where it stands, paused, and
// the budget's watchdog takes its place and returns it from run().
void interrupt(scheduler& s) {
    tasklet_impl* victim = s.current;
    tasklet_impl* w = s.budget.watchdog;
    ++victim->handles;  // the handle run() will return
    s.budget.interrupted = victim;
    ring_insert_after(s, victim, w);
    ring_unlink(s, victim);
    switch_to_tasklet(s, w);  // back here when the host inserts and runs it again
}

// Calls a callback with switching refused; a callback that throws terminates, as a
// noexcept function would: there is no sane place to deliver it mid-switch.
template <class F>
void in_callback_scope(scheduler& s, F&& call) noexcept {
    const std::uint8_t before = s.switch_flags;
    s.switch_flags |= in_callback;
    call();
    s.switch_flags = static_cast<std::uint8_t>((s.switch_flags & ~in_callback) | (before & in_callback));
}

}  // namespace

void slow_safe_point(scheduler& s) {
    account_ticks(s);
    if (s.poll_ticks_left <= 0) {
        s.poll_ticks_left = poll_interval;
        if (s.events && s.events->has_waiters()) s.events->poll(s, false, -1);
    }
    if ((s.switch_flags & budget_armed) && !s.budget.soft_expired && !s.budget.interrupted && budget_spent(s)) {
        if (s.budget.soft) {
            s.budget.soft_expired = true;  // on_switch stops at the next voluntary switch
        } else if (s.current->atomic || (s.switch_flags & (switch_trapped | in_callback)) ||
                   s.current == s.budget.watchdog) {
            // Not now: look again at every safe point until it can be interrupted.
            tick_countdown = s.tick_period = 0;
            return;
        } else {
            arm_ticks(s);
            interrupt(s);
            return;
        }
    }
    arm_ticks(s);
}

tasklet_impl* on_switch(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept {
    if (s.switch_flags & budget_armed) {
        run_budget& b = s.budget;
        if (b.soft_expired && !b.stopped && to != b.watchdog) {
            b.stopped = true;  // the watchdog goes in front of the one that would have run
            if (!b.watchdog->in_ring) ring_insert_before(s, to, b.watchdog);
            to = b.watchdog;
        }
        if (!b.total) {  // a new slice begins
            account_ticks(s);
            b.ticks_left = b.tick_budget;
            b.slice_restarted = true;
            arm_ticks(s);
        }
    }
    if (s.switch_flags & schedule_watched) {
        const tasklet previous = tasklet::from_impl(from);
        const tasklet next = tasklet::from_impl(to);
        in_callback_scope(s, [&] { s.on_schedule(previous, next); });
    }
    return to;
}

void notify_channel(scheduler& s, const channel_core* c, int balance, bool sending, bool will_block) {
    const tasklet actor = tasklet::from_impl(s.current);
    const channel_event event{c, balance};
    in_callback_scope(s, [&] { s.on_channel(event, actor, sending, will_block); });
}

[[noreturn]] void refuse_switch(scheduler& s) {
    if (s.switch_flags & in_callback) throw state_error("tasklets: a schedule or channel callback cannot switch tasklets");
    throw state_error("switch_trap");
}

void slow_check() { slow_safe_point(sched()); }

}  // namespace tasklets::detail

extern "C" void tasklets_resume_hook() {
    using namespace tasklets::detail;
    scheduler& s = *tls_scheduler;
    if constexpr (instrument::needs_resume_hook) instrument::after_switch(s.current->tools, s.previous->tools);
    after_resume(s, s.current);
}

// ---- module-level operations ------------------------------------------------------------
namespace tasklets {

using namespace detail;

tasklet current() { return tasklet::from_impl(sched().current); }
tasklet main_tasklet() { return tasklet::from_impl(&sched().main); }
int runcount() noexcept { return sched().runcount; }

namespace {
// schedule() when anything is unusual: no scheduler yet, the safe point's periodic work,
// a guard, a budget, a callback, a tasklet that never ran. The safe point is counted.
[[gnu::noinline]] void schedule_with_care() {
    scheduler& s = sched();
    if (tick_countdown < 0) slow_safe_point(s);
    tasklet_impl* next = s.current->next;
    if (next == s.current) return;
    guard_switch(s);
    prepare(s, next);
    switch_to_tasklet(s, next);
}
}  // namespace

// The common case calls nothing but the switch, so it needs no stack frame and ends in
// a tail call (everything else: schedule_with_care). tick_countdown exists before the
// scheduler does, so the safe point is counted first.
void schedule() {
    scheduler* s = tls_scheduler;
    if (--tick_countdown < 0 || s == nullptr || (s->switch_flags & switch_needs_care)) [[unlikely]]
        return schedule_with_care();
    tasklet_impl* self = s->current;
    tasklet_impl* next = self->next;
    if (next == self) return;
    if (!next->started) [[unlikely]] return schedule_with_care();
    switch_plainly(*s, self, next);
}

void schedule_remove() {
    scheduler& s = sched();
    tasklet_impl* self = s.current;
    safe_point(s);
    tasklet_impl* target = self->next;
    if (target == self && refill_ring(s, self)) target = self->next;
    if (target != self) {
        guard_switch(s);
        prepare(s, target);
        make_room_to_leave_ring(s, self);
    } else {
        target = watchdog(s);
        if (target == self) return;  // alone, and nobody to hand over to: stay
        guard_switch(s);
        make_room_to_leave_ring(s, self);
        revive(s, target, true);
    }
    leave_ring(s, self);
    switch_to_tasklet(s, target);
}

namespace {

// Arms a budget for the run() called by `self`, if it is the outermost one with a budget.
bool arm_budget(scheduler& s, tasklet_impl* self, const run_options& o) {
    const bool wanted = o.ticks > 0 || o.time.count() > 0;
    if (!wanted || (s.switch_flags & budget_armed)) return false;
    account_ticks(s);
    run_budget& b = s.budget;
    b = run_budget{};
    b.watchdog = self;
    b.tick_budget = o.ticks > 0 ? o.ticks : 0;
    b.ticks_left = b.tick_budget;
    b.time_budget = o.time.count() > 0 ? o.time : std::chrono::nanoseconds{0};
    b.slice_start = b.last_look = std::chrono::steady_clock::now();
    b.soft = o.soft;
    b.total = o.total;
    s.switch_flags |= budget_armed;
    arm_ticks(s);
    return true;
}

void disarm_budget(scheduler& s) noexcept {
    account_ticks(s);
    s.switch_flags &= static_cast<std::uint8_t>(~budget_armed);
    if (s.budget.interrupted) --s.budget.interrupted->handles;  // nobody took it (an exception)
    s.budget = run_budget{};
    arm_ticks(s);
}

}  // namespace

tasklet run(const run_options& options) {
    scheduler& s = sched();
    tasklet_impl* self = s.current;
    const bool budgeted = arm_budget(s, self, options);
    struct disarm_on_exit {
        scheduler& s;
        bool armed;
        ~disarm_on_exit() {
            if (armed) disarm_budget(s);
        }
    } disarm{s, budgeted};
    while (s.runcount > 1 || refill_ring(s, self)) {
        tasklet_impl* target = self->next;
        guard_switch(s);
        prepare(s, target);
        s.watchdogs.push_back(self);
        self->waiting_in_run = true;
        ring_unlink(s, self);
        struct stop_watching {
            scheduler& s;
            tasklet_impl* self;
            ~stop_watching() {
                self->waiting_in_run = false;
                auto it = std::find(s.watchdogs.rbegin(), s.watchdogs.rend(), self);
                s.watchdogs.erase(std::next(it).base());
            }
        } guard{s, self};
        // Back here when the ring is empty (something revived us), when an exception for
        // the watchdog arrives (thrown from here), when the budget ran out, or when
        // someone switched to us.
        switch_to_tasklet(s, target);
        if (budgeted && s.budget.interrupted) {
            tasklet_impl* victim = std::exchange(s.budget.interrupted, nullptr);
            tasklet handle = tasklet::from_impl(victim);
            --victim->handles;  // from_impl took its own reference; drop the budget's
            return handle;
        }
        if (budgeted && s.budget.stopped) return tasklet();
    }
    if (s.watchdogs.empty()) kill_abandoned(s);
    return tasklet();
}

void run() { (void)run(run_options{}); }

int switch_trap(int delta) {
    scheduler& s = sched();
    const int old = s.trap_level;
    s.trap_level += delta;
    if (s.trap_level != 0) s.switch_flags |= switch_trapped;
    else s.switch_flags &= static_cast<std::uint8_t>(~switch_trapped);
    return old;
}

namespace {
template <class F>
F install(scheduler& s, F& slot, F f, std::uint8_t flag) {
    F old = std::exchange(slot, std::move(f));
    if (slot) s.switch_flags |= flag;
    else s.switch_flags &= static_cast<std::uint8_t>(~flag);
    return old;
}
}  // namespace

schedule_callback set_schedule_callback(schedule_callback f) {
    scheduler& s = sched();
    return install(s, s.on_schedule, std::move(f), schedule_watched);
}

channel_callback set_channel_callback(channel_callback f) {
    scheduler& s = sched();
    return install(s, s.on_channel, std::move(f), channel_watched);
}

error_handler set_error_handler(error_handler h) {
    scheduler& s = sched();
    return std::exchange(s.on_error, std::move(h));
}

}  // namespace tasklets
