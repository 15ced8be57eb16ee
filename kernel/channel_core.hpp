// The channel's private state, shared by channel.cpp (send/receive) and select.cpp.
//
// A channel's FIFO queue links *waiter records*, not tasklets: each lives on the waiting
// tasklet's stack for as long as it waits. A plain send/receive waits with one record; a
// select waits with one record per case, queued on every case's channel at once (each
// counted in its channel's balance). tasklet_impl::waiters points at the record (plain) or
// at the select's first record, and blocked_on/direction name the first one's channel and
// direction (what revive() and the gdb extension read).
#pragma once

#include "scheduler.hpp"

#include <cstdint>

namespace tasklets::detail {

struct select_wait;

struct channel_waiter {
    tasklet_impl* tasklet = nullptr;
    channel_waiter* next = nullptr;  // FIFO in its channel
    channel_waiter* prev = nullptr;
    channel_core* channel = nullptr;
    void* transfer = nullptr;              // the payload (sending) or storage (receiving)
    bool transfer_is_exception = false;    // a blocked send_exception: transfer is an exception_ptr*
    std::int8_t direction = not_blocked;   // sending or receiving
    std::uint32_t case_index = 0;          // which select case (0 for plain operations)
    select_wait* select = nullptr;         // non-null when part of a select
};

/// A blocked select: its waiters (an array, one per case) and where the completed case's
/// index goes.
struct select_wait {
    channel_waiter* waiters = nullptr;
    std::uint32_t count = 0;
    std::uint32_t* chosen = nullptr;       // written by the partner that completes a case
};

struct channel_core {
    channel_waiter* head = nullptr;  // waiters, FIFO
    channel_waiter* tail = nullptr;
    int balance = 0;                 // > 0: senders waiting; < 0: receivers waiting
    std::uint32_t handles = 1;
    std::int8_t preference = -1;
    bool schedule_all = false;
    bool closing = false;
};

inline void queue_push(channel_core* c, channel_waiter* w) noexcept {
    w->next = nullptr;
    w->prev = c->tail;
    if (c->tail) c->tail->next = w;
    else c->head = w;
    c->tail = w;
}

inline void queue_unlink(channel_core* c, channel_waiter* w) noexcept {
    if (w->prev) w->prev->next = w->next;
    else c->head = w->next;
    if (w->next) w->next->prev = w->prev;
    else c->tail = w->prev;
    w->next = w->prev = nullptr;
}

/// A partner arrived for `w` (a case of a blocked select): records the case as chosen and
/// takes every waiter of the select off its channel. Returns the selecting tasklet. In
/// select.cpp.
tasklet_impl* take_select_partner(channel_waiter* w) noexcept;
/// unblock_from_channel() for a tasklet blocked in a select. In select.cpp.
void unblock_select(tasklet_impl* t) noexcept;

/// Who takes over when the running tasklet `self` blocks on channels: the next in the
/// ring (given its stack), after letting the event source refill an empty ring, or else
/// the watchdog (revived, with the deadlock error if it waits on a channel itself).
/// Throws deadlock_error, with nothing changed, if self is that watchdog. In channel.cpp.
tasklet_impl* successor_for_blocking(scheduler& s, tasklet_impl* self);

/// Takes the head waiter `w` of c off the queue (all of its select's waiters, if it is
/// part of one); the caller has handed it its value and places the returned tasklet.
/// w's own links are left stale: nothing reads a record after it leaves its queue.
inline tasklet_impl* take_partner(channel_core* c, channel_waiter* w) noexcept {
    if (w->select) [[unlikely]] return take_select_partner(w);
    channel_waiter* next = w->next;
    c->head = next;
    if (next) next->prev = nullptr;
    else c->tail = nullptr;
    c->balance -= w->direction;
    tasklet_impl* t = w->tasklet;
    t->blocked_on = nullptr;
    t->direction = not_blocked;
    t->waiters = nullptr;
    return t;
}

/// Does handing over to a waiting partner switch away from the caller?
inline bool hand_off_switches(const channel_core* c, std::int8_t caller_direction) noexcept {
    return c->schedule_all || c->preference == -caller_direction;
}

/// The partner got its value; who runs next depends on schedule_all and preference.
inline void place_partner(scheduler& s, channel_core* c, tasklet_impl* partner, std::int8_t caller_direction) {
    if (c->schedule_all) {
        ring_append(s, partner);
        schedule();
    } else if (c->preference == -caller_direction) {  // -1 prefers receivers, +1 senders
        ring_insert_after(s, s.current, partner);
        switch_to_tasklet(s, partner);
    } else {
        ring_append(s, partner);
    }
}

}  // namespace tasklets::detail
