// tasklets/shared_channel.hpp — synchronous channels between tasklets of different threads.
//
// A shared_channel<T> is a channel (tasklets/channel.hpp) that tasklets of any thread may
// use at once: a send on thread A meets a receive on thread B. It keeps the channel's
// model — a send and a receive meet, whichever comes first waits, waiters are served in
// FIFO order, balance() counts waiting senders (> 0) or receivers (< 0), close() lets the
// waiters already queued be served and then makes operations that would block throw
// channel_closed_error — with what crossing threads changes (docs/semantics.md §9.3):
//
// - One FIFO queue per channel, across threads: waiters are served in the order they
//   queued, whichever thread they are on.
// - No preference: a partner is never switched to at once (it may be on another thread,
//   and a thread cannot run another thread's tasklet). The operation that finds a
//   partner hands the value over and goes on; the partner becomes runnable on its own
//   thread — appended to its ring at once if it is ours, else when its thread's reactor
//   answers the doorbell (an eventfd write; a burst of wake-ups costs one).
// - A tasklet waiting here makes its thread sleep in its reactor rather than report a
//   deadlock: only another thread might serve it, and tasklets cannot know whether one
//   will. A wait ends when a partner serves it, at its deadline, by kill() or
//   throw_exception() on its own thread, or when the last handle of the channel goes
//   (then, as a channel does, the waiters are killed: each raises tasklet_exit on its
//   thread).
//
// - A send or receive needs its handle only when it is called: a tasklet may call through
//   a reference to another tasklet's handle, on any thread, while that handle lives (a
//   parent's children sending to it through std::ref of its handle, which the parent keeps
//   until it has heard from each). The call keeps the channel alive until it returns.
//   Copying a handle costs an atomic increment, and destroying one an atomic decrement.
//
// - select (tasklets/select.hpp) takes its cases: on_receive(sc), on_send(sc, v), with a
//   default or a deadline. A select is over shared channels only.
//
// T must be nothrow-move-constructible: a hand-off moves the value while holding the
// channel's lock, and a move that threw there could not be undone for both threads.
//
// Costs: every operation takes the channel's mutex; a wake-up on another thread is an
// eventfd write when that thread has answered its last one. Use channel<T> between tasklets
// of one thread: it takes no lock and switches to the partner directly.
#pragma once

#include <tasklets/channel.hpp>
#include <tasklets/time.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace tasklets {

namespace detail {

struct shared_core;
using shared_relocate_fn = void (*)(void* dst, void* src) noexcept;
using shared_destroy_fn = void (*)(void* value) noexcept;

/// `size` and `align` are T's: a shared-stack tasklet's wait keeps the value off its stack.
shared_core* new_shared_channel(shared_relocate_fn relocate, shared_destroy_fn destroy, std::size_t size,
                                std::size_t align);
void retain(shared_core* c) noexcept;
void release(shared_core* c) noexcept;
void shared_send(shared_core* c, void* payload, std::int64_t deadline, std::int64_t span);
void shared_receive(shared_core* c, void* storage, std::int64_t deadline, std::int64_t span);
int shared_balance(const shared_core* c) noexcept;
void shared_close(shared_core* c) noexcept;
void shared_open(shared_core* c) noexcept;
bool shared_closing(const shared_core* c) noexcept;

template <class T>
void shared_relocate(void* dst, void* src) noexcept {
    ::new (dst) T(std::move(*static_cast<T*>(src)));
}
template <class T>
void shared_destroy(void* value) noexcept {
    static_cast<T*>(value)->~T();
}

}  // namespace detail

template <class T>
class shared_channel {
    static_assert(std::is_nothrow_move_constructible_v<T>,
                  "tasklets::shared_channel<T> needs a T whose move constructor is noexcept (it moves under a lock)");
    static_assert(!std::is_reference_v<T>, "tasklets::shared_channel<T> carries values; use a pointer or std::reference_wrapper");

public:
    using value_type = T;

    /// A new, open channel. Handles may be copied, moved and destroyed on any thread.
    shared_channel()
        : core_(detail::new_shared_channel(&detail::shared_relocate<T>, &detail::shared_destroy<T>, sizeof(T), alignof(T))) {}
    shared_channel(const shared_channel& other) noexcept : core_(other.core_) { detail::retain(core_); }
    shared_channel(shared_channel&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
    shared_channel& operator=(shared_channel other) noexcept {
        std::swap(core_, other.core_);
        return *this;
    }
    ~shared_channel() {
        if (core_) detail::release(core_);
    }
    friend bool operator==(const shared_channel& a, const shared_channel& b) noexcept { return a.core_ == b.core_; }

    /// Hands `value` to a waiting receiver (on any thread), or waits until one takes it.
    /// Throws channel_closed_error if the channel is closing with no receiver waiting;
    /// state_error if the caller's block_trap is set and it would wait; timeout_error
    /// from the timed forms ("tasklets: shared channel send timed out after 50ms"; nothing
    /// was sent). Must be called from a tasklet (the main tasklet too).
    void send(T value) { send_before(std::move(value), deadline::never()); }
    /// Takes a value from a waiting sender, or waits until one comes. Errors as send().
    T receive() { return receive_before(deadline::never()); }

    template <class Rep, class Period>
    void send_for(T value, std::chrono::duration<Rep, Period> timeout) { send_before(std::move(value), deadline(timeout)); }
    void send_until(T value, clock::time_point when) { send_before(std::move(value), deadline(when)); }
    template <class Rep, class Period>
    T receive_for(std::chrono::duration<Rep, Period> timeout) { return receive_before(deadline(timeout)); }
    T receive_until(clock::time_point when) { return receive_before(deadline(when)); }

    void send_before(T value, deadline d) { detail::shared_send(core_, std::addressof(value), d.raw(), d.span()); }
    T receive_before(deadline d) {
        slot s;
        detail::shared_receive(core_, s.bytes, d.raw(), d.span());
        return s.take();
    }

    /// Waiting senders (> 0) or minus waiting receivers (< 0), over all threads. A moment
    /// old when it returns, if other threads use the channel.
    int balance() const noexcept { return detail::shared_balance(core_); }
    /// As channel<T>::close(): waiters already queued are still served; after that,
    /// operations that would wait throw channel_closed_error. Wakes nobody.
    void close() noexcept { detail::shared_close(core_); }
    void open() noexcept { detail::shared_open(core_); }
    bool closing() const noexcept { return detail::shared_closing(core_); }
    bool closed() const noexcept { return closing() && balance() == 0; }

    /// For the library (select cases): the channel's shared state.
    detail::shared_core* core() const noexcept { return core_; }

private:
    using slot = detail::value_slot<T>;
    detail::shared_core* core_;
};

}  // namespace tasklets
