// Moving a started tasklet to another thread (threads/migration.hpp).
//
// A migratable tasklet moves only at a call it makes itself, so it is never blocked,
// never in a ring, and no kernel frame of another operation lies on its stack when it
// goes. The move is three steps on two threads:
//
//   thread A, the tasklet itself        thread A, whoever takes over     thread B
//   ----------------------------        ----------------------------     --------
//   leave the ring, the list of every   resume hook: post the tasklet    deliver: join the
//   block and the counts; switch away   to B's inbox (it is off its      list and the counts,
//   (dead = self, departing = mail)     stack now: its context is        append to the ring;
//                                        saved, nobody runs on it)        it runs on B's turn
//
// The post is the hand-over: the inbox's lock releases everything A wrote (the saved
// registers on the stack, the block) to B's acquire. Nothing on the way needs the old
// thread afterwards: a migratable tasklet's block and stack were allocated alone, so any
// thread frees them, and its id was taken from a range no thread hands out.
#include "threads/migration.hpp"

#include "core/callbacks.hpp"
#include "core/deadlock.hpp"
#include "core/handover.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/switch.hpp"
#include "core/tasklet_life.hpp"
#include "core/waits.hpp"
#include "io/reactor.hpp"
#include "threads/inbox.hpp"

#include <tasklets/errors.hpp>
#include <tasklets/thread_ref.hpp>

#include <mutex>
#include <string>
#include <unordered_map>

namespace tasklets::detail {

struct migrant_mail : mail {
    tasklet_impl* t = nullptr;
    std::shared_ptr<thread_inbox> to;
    std::exception_ptr refused;  // made before the move: raising it must not allocate
};

namespace {

// The directory (migration.hpp). One lock for the process: it is taken only by moves of
// tasklets a remote_tasklet names and by requests that missed, never on other paths.
struct migrant_place {
    std::shared_ptr<thread_inbox> where;  // null while it travels
    mail* held = nullptr;                 // requests that came while it travelled (linked by next), oldest first
    mail* held_tail = nullptr;
};
struct migrant_directory {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, migrant_place> places;
};
migrant_directory& directory() {
    static migrant_directory* d = new migrant_directory;  // never destroyed: threads may outlive exit()'s destructors
    return *d;
}

// `t` left its thread: requests for it are kept until it arrives.
void note_departure(const tasklet_impl* t) {
    migrant_directory& d = directory();
    std::lock_guard lock(d.mutex);
    if (auto it = d.places.find(t->id); it != d.places.end()) it->second.where = nullptr;
}

// `t` arrived on the thread of `s` (it is in its lists): the requests kept meanwhile are
// delivered to it now, in the order they came.
void note_arrival(scheduler& s, const tasklet_impl* t) noexcept {
    migrant_directory& d = directory();
    mail* held = nullptr;
    {
        std::lock_guard lock(d.mutex);
        auto it = d.places.find(t->id);
        if (it == d.places.end()) return;
        it->second.where = get_reactor(s).inbox();
        held = std::exchange(it->second.held, nullptr);
        it->second.held_tail = nullptr;
    }
    while (held) {
        mail* next = held->next;
        held->next = nullptr;
        held->deliver(held, s);
        held = next;
    }
}

std::string describe(const tasklet_impl* t) {
    std::string text = "tasklet " + std::to_string(t->id);
    if (t->name()) text += " \"" + std::string(t->name_view()) + "\"";
    return text;
}

// Joins `t` to this thread: the list of every block, the counts, and the ring (a
// tasklet that arrives is runnable) or not (paused, to be killed at the thread's end).
void adopt(scheduler& s, tasklet_impl* t, bool runnable) noexcept {
    t->home = &s;
    link_all(s, t);
    ++s.counts.alive;
    if (runnable) ring_append(s, t);
    else note_paused(s);
    note_arrival(s, t);
}

// On B, inside its reactor's poll.
void deliver_migrant(mail* m, scheduler& s) noexcept {
    std::unique_ptr<migrant_mail> mine(static_cast<migrant_mail*>(m));
    adopt(s, mine->t, true);
    worker_gained_work();
}

// B ended with the tasklet still in its inbox: B's inbox closes at its teardown, before
// its scheduler kills what is left, so the tasklet joins B paused and is killed there,
// its destructors running, like every tasklet left at a thread's end.
void discard_migrant(mail* m) noexcept {
    std::unique_ptr<migrant_mail> mine(static_cast<migrant_mail*>(m));
    if (scheduler* s = tls_scheduler) adopt(*s, mine->t, false);
}

// Who takes the thread over. Unlike a tasklet that blocks, one that moves cannot stay to
// poll the thread's events in place when the ring runs empty: so the next in the ring;
// else the watchdog (main, or the innermost run() caller), paused, in run() or waiting for
// an event, whose wait goes on; else any tasklet waiting for an event. If none of them
// exists, every tasklet left waits on a channel of this thread that only the mover could
// serve: the mover gets the deadlock error, as the last runnable tasklet does (§5).
tasklet_impl* successor(scheduler& s, tasklet_impl* self) {
    if (self->next != self) return self->next;
    tasklet_impl* w = watchdog(s);
    if (!on_channel(w)) return w;
    for (tasklet_impl* t = s.all; t; t = t->all_next)
        if (t->event) return t;
    throw_deadlock(s, last_runnable_message);
}

void check_movable(const tasklet_impl* self) {
    if (self->is_main)
        throw state_error("tasklets: move_to() called outside any tasklet (by a thread's main tasklet), which cannot "
                          "move; call it from a tasklet spawned with tasklet_options::migratable = true");
    if (self->stack_kind != stack_alone)
        throw state_error("tasklets: move_to(): " + describe(self) +
                          " was not spawned migratable, and a started tasklet stays on its thread; spawn it with "
                          "tasklet_options::migratable = true (docs/multicore.md, \"Migration\")");
    if (self->handles != 0)
        throw state_error("tasklets: move_to(): " + describe(self) + " is referred to by " + std::to_string(self->handles) +
                          " tasklet handle(s), which belong to its thread and cannot follow it; drop them before it "
                          "moves (a shared_channel reaches it wherever it runs)");
    if (self->atomic)
        throw state_error("tasklets: move_to(): " + describe(self) + " is atomic, and a move switches; leave the atomic section first");
    if (self->waiting_in_run)
        throw state_error("tasklets: move_to(): " + describe(self) + " is inside run(), watching its thread's other tasklets; "
                          "it cannot leave them");
}

}  // namespace

migrant_mail* plan_move(scheduler& s, std::shared_ptr<thread_inbox> to, bool told, tasklet_impl*& target) {
    tasklet_impl* self = s.current;
    check_movable(self);
    if (to->closed())
        throw thread_error("tasklets: move_to() a thread that has ended; the tasklet stays on its thread");
    auto m = std::make_unique<migrant_mail>();
    m->deliver = &deliver_migrant;
    m->discard = &discard_migrant;
    m->t = self;
    m->to = std::move(to);
    if (told)
        m->refused = std::make_exception_ptr(thread_error("tasklets: move_to(): the target thread ended before " +
                                                          describe(self) + " arrived; it stayed on its thread"));
    target = successor(s, self);
    guard_switch(s);
    prepare(s, target);
    // Nothing throws from here on.
    if (!target->in_ring) {
        if (target->event) ring_append(s, target);  // it goes on waiting, in place (core/waits.cpp)
        else revive(s, target, false);              // the watchdog, paused or in run()
    }
    return m.release();
}

void depart(scheduler& s, migrant_mail* m, tasklet_impl* target) {
    tasklet_impl* self = s.current;
    ring_unlink(s, self);
    unlink_all(s, self);
    note_ended(s);  // from this thread's count of live tasklets; adopt() counts it on B
    note_departure(self);
    s.dead = self;
    s.departing = m;
    if (s.switch_flags & (budget_armed | schedule_watched)) [[unlikely]] target = on_switch(s, self, target);
    // The resume hook (or tasklet_entry) runs release_dead(), which posts us.
    if (!target->awaiting_entry) target->resume_hook = true;
    switch_plainly(s, self, target);
    // On B now, resumed by its scheduler; or back on A, refused (raising m->refused, if any).
}

void move_current(scheduler& s, std::shared_ptr<thread_inbox> to) {
    tasklet_impl* target = nullptr;
    migrant_mail* m = plan_move(s, std::move(to), true, target);
    depart(s, m, target);
}

void send_migrant(scheduler& s, tasklet_impl* t) noexcept {
    migrant_mail* m = std::exchange(s.departing, nullptr);
    tasklet_impl* self = s.current;
    if (!self->pending) self->resume_hook = false;  // set for this hook only (move_current)
    if (m->to->post(m)) return;  // B's now: we must not touch t again
    std::unique_ptr<migrant_mail> mine(m);
    adopt(s, t, true);
    if (mine->refused) set_pending(t, std::move(mine->refused));
}

void follow_migrant(std::uint64_t id, std::shared_ptr<thread_inbox> where) {
    migrant_directory& d = directory();
    std::lock_guard lock(d.mutex);
    auto [it, added] = d.places.try_emplace(id);
    if (added) it->second.where = std::move(where);
}

bool forward_to_migrant(std::uint64_t id, mail* request) noexcept {
    migrant_directory& d = directory();
    std::shared_ptr<thread_inbox> where;
    {
        std::lock_guard lock(d.mutex);
        auto it = d.places.find(id);
        if (it == d.places.end()) return false;
        migrant_place& p = it->second;
        if (!p.where) {
            request->next = nullptr;
            if (p.held_tail) p.held_tail->next = request;
            else p.held = request;
            p.held_tail = request;
            return true;
        }
        where = p.where;
    }
    if (!where->post(request)) request->discard(request);  // its thread ended: the tasklet was killed there
    return true;
}

void forget_migrant(std::uint64_t id) noexcept {
    migrant_directory& d = directory();
    mail* held = nullptr;
    {
        std::lock_guard lock(d.mutex);
        auto it = d.places.find(id);
        if (it == d.places.end()) return;
        held = it->second.held;
        d.places.erase(it);
    }
    while (held) {
        mail* next = held->next;
        held->discard(held);
        held = next;
    }
}

}  // namespace tasklets::detail

namespace tasklets {

void move_to(const thread_ref& to) {
    if (!to) throw state_error("tasklets: move_to() an empty thread_ref; get one from thread_ref::current() or worker_pool::worker()");
    if (to.is_current()) {
        detail::check_movable(detail::sched().current);
        return;
    }
    detail::move_current(detail::sched(), to.inbox_);
}

}  // namespace tasklets
