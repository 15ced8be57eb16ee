// The channel's private state: the channel, its FIFO queue of waiter records.
//
// A channel's FIFO queue links *waiter records*, not tasklets: each lives on the waiting
// tasklet's stack for as long as it waits. A plain send/receive waits with one record; a
// select waits with one record per case, queued on every case's channel at once (each
// counted in its channel's balance). tasklet_impl::waiters points at the record (plain) or
// at the select's first record, whose channel and direction are what revive(), deadlock
// reports and the gdb extension read.
#pragma once

#include "core/scheduler.hpp"

#include <atomic>
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
    bool unusual = false;                  // transfer_is_exception or part of a select: the general hand-off
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

/// What an unbound channel's owner holds: an address no scheduler has, so that the entry's
/// one comparison with the caller's scheduler also sends a thread without one (null) the
/// careful way (channels/channel.cpp, enter_needs_care). Never dereferenced.
alignas(scheduler) inline constinit char unbound_tag = 0;
inline scheduler* unbound() noexcept { return reinterpret_cast<scheduler*>(&unbound_tag); }

struct channel_core {
    channel_waiter* head = nullptr;  // waiters, FIFO
    channel_waiter* tail = nullptr;
    int balance = 0;                 // > 0: senders waiting; < 0: receivers waiting
    // Handles may be copied and dropped on any thread (an unbound channel is handed from
    // thread to thread like any object), so the count is atomic; orderings in channel.cpp.
    std::atomic<std::uint32_t> handles{1};
    // The thread it belongs to: unbound() until its first send, receive or select binds it
    // (docs/semantics.md §9.1); set once, by bind_channel's compare-exchange.
    std::atomic<scheduler*> owner{unbound()};
    std::int8_t preference = -1;
    bool schedule_all = false;
    bool closing = false;
};

/// Binds c to s, or throws thread_error: c belongs to another thread (core/thread_check.cpp).
[[gnu::cold]] void bind_channel(channel_core* c, scheduler* s, const char* operation);
[[noreturn, gnu::cold]] void throw_foreign_channel(const char* operation);

/// Before an operation that queues or hands off: c is bound to the caller's scheduler `s`
/// (binding it now if it is new), or thread_error is thrown. Relaxed: the word is compared
/// with our own scheduler only; if it equals it, this thread wrote it.
inline void own_channel(channel_core* c, scheduler* s, const char* operation) {
    if (c->owner.load(std::memory_order_relaxed) != s) [[unlikely]] bind_channel(c, s, operation);
}

/// Before reading or setting a property: a channel bound to another thread throws; an
/// unbound one is left unbound (setting a channel up is not a use of it). Relaxed, as in
/// own_channel(): nothing is read through the word, and a bind racing with this check on
/// another thread is a misuse that either value reports or lets pass as it would a
/// moment earlier or later.
inline void check_channel(const channel_core* c, const char* operation) {
    const scheduler* o = c->owner.load(std::memory_order_relaxed);
    if (o != unbound() && o != tls_scheduler) [[unlikely]] throw_foreign_channel(operation);
}

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

/// Queues the record at the tail of its channel; the record counts in the balance.
inline void enqueue_waiter(channel_waiter* w) noexcept {
    queue_push(w->channel, w);
    w->channel->balance += w->direction;
}

/// Takes the record off its channel's queue, wherever it is, and out of the balance.
inline void dequeue_waiter(channel_waiter* w) noexcept {
    queue_unlink(w->channel, w);
    w->channel->balance -= w->direction;
}

}  // namespace tasklets::detail
