// The life cycle of a thread's scheduler: created on the thread's first tasklet
// operation, torn down at thread exit with its remaining tasklets killed so that their
// destructors run (docs/semantics.md §9).
#include "core/handles.hpp"
#include "core/shared_stacks.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/scheduler.hpp"
#include "core/stack_overflow.hpp"
#include "core/tasklet_life.hpp"
#include "core/thread_check.hpp"
#include "core/throw_into.hpp"
#include "core/waits.hpp"
#include "os/system.hpp"

#include <cxxabi.h>
#if defined(_WIN32)
#include <pthread.h>
#endif

#include <vector>

namespace tasklets::detail {

thread_local constinit scheduler* tls_scheduler __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local constinit std::int32_t tick_countdown __attribute__((tls_model("initial-exec"))) = 0;

namespace {

void destroy_scheduler(scheduler& s) noexcept;

// The thread's end: on Windows the reactor lets go first (on Linux its own thread_local
// owner does, destroyed before ours), then the scheduler is torn down.
void end_thread(scheduler& s) noexcept {
#if defined(_WIN32)
    if (s.events) s.events->thread_ends();
#endif
    destroy_scheduler(s);
}

// Its destructor runs at thread exit (for the main thread: at exit()) and tears the
// thread's scheduler down. Touched once, in create_scheduler, to register it. It holds
// nothing itself (see the Windows note below).
struct scheduler_owner {
    ~scheduler_owner() {
        if (tls_scheduler) end_thread(*tls_scheduler);
    }
};
thread_local scheduler_owner owner;

#if defined(_WIN32)
// Windows (MinGW-w64): thread_local lives in libgcc's emulated TLS, whose per-thread block
// is freed by a winpthreads key destructor; the C++ runtime runs thread_local destructors
// from a key of its own, created later, so they run after that block is gone and read
// fresh zeroed storage (tls_scheduler == nullptr: nothing would be torn down, the
// tasklets' destructors would never run). So the teardown of threads other than main
// runs from a key created before any thread_local is touched (the earliest constructor
// priority), whose destructor winpthreads calls first, with the TLS still intact. The
// main thread has no key destructors; its scheduler_owner above runs at exit().
pthread_key_t teardown_key;
bool teardown_key_made = false;

void teardown_from_key(void* p) noexcept {
    if (tls_scheduler == static_cast<scheduler*>(p)) end_thread(*tls_scheduler);
}

__attribute__((constructor(101))) void make_teardown_key() {
    teardown_key_made = pthread_key_create(&teardown_key, &teardown_from_key) == 0;
}
#endif

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
        note_ended(s);
    }
    for (tasklet_impl* t = s.all; t;) {
        tasklet_impl* next = t->all_next;
        if (t != &s.main && t->handles == 0 && !t->alive && t->stack.base == nullptr) free_tasklet(s, t);
        t = next;
    }
    end_shared_stacks(s);  // every shared-stack tasklet has ended or never ran
    stop_observing(s);  // the trace is kept for writing
    remove_overflow_reporting(s);
    bool survivors = s.main.handles > 1;  // the scheduler's own count, and handles held elsewhere
    for (tasklet_impl* t = s.all; t; t = t->all_next) survivors |= t != &s.main;
    // Handles that outlive their thread keep what they point to, together; from now on
    // any thread may let go of them (core/thread_check.cpp). relaxed: the thread's own
    // keeper is still held.
    if (survivors) s.keepers.fetch_add(1, std::memory_order_relaxed);
    // What keeps the block from here on (orphans, bound channels) needs no stack and no
    // more cells than the orphans' own: the rest goes back now, not when the last goes.
    s.stacks.unmap_unused();
    s.cells.release_empty();
    s.job_blocks.drain();
    // release: a thread that sees `ended` (to let go of an orphan) sees the teardown above.
    s.ended.store(true, std::memory_order_release);
    tls_scheduler = nullptr;
    drop_keeper(&s);  // the thread's own: deleted now unless orphans or bound channels keep it
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
    m.home = s;
    m.handles = 1;  // the scheduler's own: main is never freed through a handle
    link_all(*s, &m);
    s->current = &m;
    s->eh_globals = reinterpret_cast<eh_state*>(abi::__cxa_get_globals());
    s->page_size = sys::page_size();
    instrument::adopt_thread(m.tools);
    s->watchdogs.reserve(8);
    tls_scheduler = s;
    (void)&owner;
#if defined(_WIN32)
    if (teardown_key_made) pthread_setspecific(teardown_key, s);
#endif
    install_overflow_reporting(*s);
    observe_from_environment(*s);
    return *s;
}

}  // namespace tasklets::detail
