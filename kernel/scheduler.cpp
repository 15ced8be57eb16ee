// The per-thread scheduler: its life cycle, starting and ending tasklets, and the
// module-level operations schedule(), schedule_remove() and run().
#include "scheduler.hpp"

#include "arch_context.hpp"
#include "system.hpp"

#include <algorithm>
#include <cerrno>
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

void* allocate_block(block_cache& cache, std::size_t bytes, std::uint8_t& block_class) {
    const std::size_t cls = (bytes + block_cache::granule - 1) / block_cache::granule;
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
    return new_block(cls * block_cache::granule);
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
            t->name = options.name;
        } catch (...) {
            t->~tasklet_impl();
            free_block(s.blocks, memory, block_class);
            throw;
        }
    }
    link_all(s, t);
    return t;
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
    t->sp = arch::prepare_stack(t->stack.top(), &tasklet_entry, t->fp_control);
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
                w->direction == receiving ? "the main tasklet is receiving without a sender available."
                                          : "the main tasklet is sending without a receiver available."));
        unblock(w);
    }
    if (!w->in_ring) ring_append(s, w);
}

void leave_ring(scheduler& s, tasklet_impl* t) noexcept {
    ring_unlink(s, t);
    if (t->handles == 0 && !t->is_main && !t->waiting_in_run) s.abandoned.push_back(t);
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
    // The function and its bound arguments are destroyed here, on the tasklet's stack.
    self->body->~tasklet_body();
    self->body = nullptr;
    finish(s, self, std::move(escaped));
}

}  // namespace

void throw_into(scheduler& s, tasklet_impl* t, std::exception_ptr e, bool pending) {
    if (t == s.current) std::rethrow_exception(std::move(e));
    if (!pending) prepare(s, t);
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

bool refill_ring(scheduler& s, tasklet_impl* self) noexcept {
    while (self->next == self) {
        if (s.events == nullptr || !s.events->has_waiters()) return false;
        s.events->poll(s, true);
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
    self->event = w;
    while (self->next == self) {  // nobody else to run: wait for the events in place
        if (s.events == nullptr || !s.events->has_waiters()) {
            unblock(self);
            throw deadlock_error("Deadlock: the last runnable tasklet cannot be blocked.");
        }
        s.events->poll(s, true);
        if (!self->event) return;  // ours came while we were still running
    }
    tasklet_impl* target = self->next;
    try {
        prepare(s, target);
    } catch (...) {
        unblock(self);
        throw;
    }
    ring_unlink(s, self);
    switch_to_tasklet(s, target);
}

void slow_safe_point(scheduler& s) {
    tick_countdown = poll_interval;
    if (s.events && s.events->has_waiters()) s.events->poll(s, false);
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

void schedule() {
    scheduler& s = sched();
    safe_point(s);
    tasklet_impl* next = s.current->next;
    if (next == s.current) return;
    prepare(s, next);
    switch_to_tasklet(s, next);
}

void schedule_remove() {
    scheduler& s = sched();
    tasklet_impl* self = s.current;
    safe_point(s);
    tasklet_impl* target = self->next;
    if (target == self && refill_ring(s, self)) target = self->next;
    if (target != self) {
        prepare(s, target);
    } else {
        target = watchdog(s);
        if (target == self) return;  // alone, and nobody to hand over to: stay
        revive(s, target, true);
    }
    leave_ring(s, self);
    switch_to_tasklet(s, target);
}

void run() {
    scheduler& s = sched();
    tasklet_impl* self = s.current;
    while (s.runcount > 1 || refill_ring(s, self)) {
        tasklet_impl* target = self->next;
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
        // the watchdog arrives (thrown from here), or when someone switched to us.
        switch_to_tasklet(s, target);
    }
    if (s.watchdogs.empty()) kill_abandoned(s);
}

}  // namespace tasklets
