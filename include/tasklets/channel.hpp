// tasklets/channel.hpp — synchronous channels between tasklets (Stackless semantics).
//
// A send and a receive meet: whichever comes first blocks (FIFO among waiters) until a
// partner arrives. `balance()` is the number of waiting senders (> 0) or minus the number
// of waiting receivers (< 0). When an operation finds a partner waiting, the value is
// handed over and `preference()` decides who runs next:
//   -1 (default) the receiver is preferred; +1 the sender; 0 neither.
//   If the partner is preferred, it is inserted just after the caller and runs at once
//   (the caller stays in the ring). Otherwise the partner is appended to the end of the
//   ring and the caller continues. schedule_all overrides preference: the partner is
//   appended and the caller yields as schedule() does.
//
// A channel object is a handle: copies refer to the same channel, so lambdas can capture
// it by value. When the last handle goes, tasklets still blocked on the channel can never
// be woken, so they are killed (their destructors run), in queue order.
//
// Threads (docs/semantics.md §9.1): a channel belongs to the thread of its first send,
// receive or select. Until then it may be set up (preference, schedule_all, close) and
// handed to another thread like any object; after, every operation and property on another
// thread throws thread_error before touching it. Handles may be copied and dropped on any
// thread; dropping the last one while tasklets of another thread wait on the channel is a
// fatal error (only their thread could kill them).
#pragma once

#include <tasklets/tasklet.hpp>
#include <tasklets/time.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

namespace tasklets {

namespace detail {

struct channel_core;

/// Move-constructs the payload at `src` into uninitialised storage at `dst`.
using relocate_fn = void (*)(void* dst, void* src);

/// What the kernel knows about a channel's value type. `relocate` comes first: the hot
/// paths call through this pointer as they would call the bare function (one indirect
/// call through memory on x86-64). The rest serves waits that keep the value off the
/// waiting tasklet's stack (a shared-stack tasklet: kernel/channels/off_stack_wait.cpp).
struct transfer_ops {
    relocate_fn relocate;
    void (*destroy)(void* value) noexcept;
    std::size_t size;
    std::size_t align;
    bool nothrow_move;  // relocate cannot throw
};

channel_core* new_channel();
void retain(channel_core* c) noexcept;
void release(channel_core* c) noexcept;

/// The value at `payload` is moved out by relocate when a receiver takes it.
/// Room, in the calling frame, for the record a blocked operation queues on its channel.
/// That frame outlives the wait, so the kernel's own frames can hand control over to the
/// next tasklet by a tail call (a resumed tasklet then returns straight into user code).
struct alignas(alignof(void*)) waiter_slot {
    unsigned char bytes[64];
};

void channel_send(channel_core* c, void* payload, const transfer_ops* ops, waiter_slot* slot);
/// On return, `storage` holds a value constructed by relocate (or the call threw).
void channel_receive(channel_core* c, void* storage, const transfer_ops* ops, waiter_slot* slot);
/// The same for payloads whose relocate cannot throw: a hand-off may then move the value
/// after placing the partner (it cannot fail half-way), which saves the kernel a frame.
void channel_send_nothrow_move(channel_core* c, void* payload, const transfer_ops* ops, waiter_slot* slot);
void channel_receive_nothrow_move(channel_core* c, void* storage, const transfer_ops* ops, waiter_slot* slot);
void channel_send_exception(channel_core* c, std::exception_ptr e);
/// send/receive that throw timeout_error once `deadline` (clock nanoseconds) passes; `span`
/// is the timeout the caller asked for, for the message (-1: an absolute deadline).
/// In kernel/io/channel_timeouts.cpp.
void channel_send_until(channel_core* c, void* payload, const transfer_ops* ops, std::int64_t deadline, std::int64_t span);
void channel_receive_until(channel_core* c, void* storage, const transfer_ops* ops, std::int64_t deadline, std::int64_t span);

int channel_balance(const channel_core* c);
int channel_preference(const channel_core* c);
void channel_set_preference(channel_core* c, int preference);
bool channel_schedule_all(const channel_core* c);
void channel_set_schedule_all(channel_core* c, bool on);
void channel_close(channel_core* c);
void channel_open(channel_core* c);
bool channel_closing(const channel_core* c);
tasklet channel_queue(const channel_core* c);

template <class T>
void relocate(void* dst, void* src) {
    ::new (dst) T(std::move(*static_cast<T*>(src)));
}

template <class T>
void destroy_value(void* value) noexcept {
    static_cast<T*>(value)->~T();
}

template <class T>
inline constexpr transfer_ops transfer_ops_of{&relocate<T>, &destroy_value<T>, sizeof(T), alignof(T),
                                              std::is_nothrow_move_constructible_v<T>};

/// Room for a received value: the kernel constructs it there, take() moves it out.
template <class T>
struct value_slot {
    alignas(T) unsigned char bytes[sizeof(T)];
    T take() noexcept(std::is_nothrow_move_constructible_v<T>) {
        T* p = std::launder(reinterpret_cast<T*>(bytes));
        T value(std::move(*p));
        p->~T();
        return value;
    }
};

}  // namespace detail

template <class T>
class channel {
    static_assert(std::is_move_constructible_v<T>, "tasklets::channel<T> needs a move-constructible T");
    static_assert(!std::is_reference_v<T>, "tasklets::channel<T> carries values; use a pointer or std::reference_wrapper");

public:
    using value_type = T;

    /// A new, open channel with preference -1 and schedule_all off.
    channel() : core_(detail::new_channel()) {}
    channel(const channel& other) noexcept : core_(other.core_) { detail::retain(core_); }
    channel(channel&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
    channel& operator=(channel other) noexcept { std::swap(core_, other.core_); return *this; }
    ~channel() { if (core_) detail::release(core_); }

    friend bool operator==(const channel& a, const channel& b) noexcept { return a.core_ == b.core_; }

    /// Hands `value` to a waiting receiver, or blocks until one arrives.
    /// Throws channel_closed_error if closing with no receiver waiting; state_error if
    /// the caller's block_trap is set and it would block; deadlock_error if blocking
    /// could never end.
    void send(T value) {
        detail::waiter_slot waiting;
        if constexpr (std::is_nothrow_move_constructible_v<T>)
            detail::channel_send_nothrow_move(core_, std::addressof(value), &detail::transfer_ops_of<T>, &waiting);
        else
            detail::channel_send(core_, std::addressof(value), &detail::transfer_ops_of<T>, &waiting);
    }

    /// Takes a value from a waiting sender, or blocks until one arrives. Throws what the
    /// sender passed to send_exception(), and otherwise as send().
    T receive() {
        slot s;
        detail::waiter_slot waiting;
        if constexpr (std::is_nothrow_move_constructible_v<T>)
            detail::channel_receive_nothrow_move(core_, s.bytes, &detail::transfer_ops_of<T>, &waiting);
        else
            detail::channel_receive(core_, s.bytes, &detail::transfer_ops_of<T>, &waiting);
        return s.take();
    }

    /// send() and receive() with a timeout (see <tasklets/time.hpp>): if no partner has
    /// taken the value / handed one over by the deadline, the caller is taken off the
    /// channel and timeout_error is thrown ("tasklets: channel receive timed out after
    /// 50ms"); nothing was sent or received. A partner already waiting is served at once,
    /// whatever the deadline. Other errors as send()/receive().
    template <class Rep, class Period>
    void send_for(T value, std::chrono::duration<Rep, Period> timeout) { send_before(std::move(value), deadline(timeout)); }
    void send_until(T value, clock::time_point when) { send_before(std::move(value), deadline(when)); }
    template <class Rep, class Period>
    T receive_for(std::chrono::duration<Rep, Period> timeout) { return receive_before(deadline(timeout)); }
    T receive_until(clock::time_point when) { return receive_before(deadline(when)); }
    /// The same with a tasklets::deadline (a duration from now, a time point, or never).
    void send_before(T value, deadline d) {
        detail::channel_send_until(core_, std::addressof(value), &detail::transfer_ops_of<T>, d.raw(), d.span());
    }
    T receive_before(deadline d) {
        slot s;
        detail::channel_receive_until(core_, s.bytes, &detail::transfer_ops_of<T>, d.raw(), d.span());
        return s.take();
    }

    /// Makes the receiver's receive() throw `e` instead of returning a value.
    void send_exception(std::exception_ptr e) { detail::channel_send_exception(core_, std::move(e)); }
    template <class E>
        requires(!std::same_as<std::remove_cvref_t<E>, std::exception_ptr>)
    void send_exception(E&& e) { send_exception(std::make_exception_ptr(std::forward<E>(e))); }

    /// Sends every element of `values` in order; returns how many were sent.
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_reference_t<R>, T>
    std::size_t send_sequence(R&& values) {
        std::size_t sent = 0;
        for (auto&& v : values) {
            send(T(std::forward<decltype(v)>(v)));
            ++sent;
        }
        return sent;
    }

    int balance() const { return detail::channel_balance(core_); }
    int preference() const { return detail::channel_preference(core_); }
    /// Sets the preference, normalised to its sign (-1, 0 or +1).
    void set_preference(int preference) { detail::channel_set_preference(core_, preference); }
    bool schedule_all() const { return detail::channel_schedule_all(core_); }
    void set_schedule_all(bool on) { detail::channel_set_schedule_all(core_, on); }

    /// Marks the channel closing. Waiters already queued are still served; once the
    /// balance reaches 0 the channel is closed and operations that would block throw
    /// channel_closed_error. Closing wakes nobody.
    void close() { detail::channel_close(core_); }
    /// Clears closing.
    void open() { detail::channel_open(core_); }
    bool closing() const { return detail::channel_closing(core_); }
    /// Closing and balance() == 0.
    bool closed() const { return closing() && balance() == 0; }
    /// The first waiting tasklet (empty handle if none).
    tasklet queue() const { return detail::channel_queue(core_); }

    /// Input iteration: each step receive()s, and iteration ends when the channel is
    /// closing and balance() <= 0 (no sender left waiting).
    class iterator {
    public:
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(channel* ch) : ch_(ch) { fetch(); }
        T& operator*() const { return *const_cast<std::optional<T>&>(current_); }
        iterator& operator++() { fetch(); return *this; }
        void operator++(int) { fetch(); }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.current_; }

    private:
        void fetch() {
            current_.reset();
            if (ch_->closing() && ch_->balance() <= 0) return;
            current_.emplace(ch_->receive());
        }
        channel* ch_ = nullptr;
        std::optional<T> current_;
    };
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }

    detail::channel_core* core() const noexcept { return core_; }

private:
    using slot = detail::value_slot<T>;
    detail::channel_core* core_;
};

}  // namespace tasklets
