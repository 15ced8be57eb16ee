// tasklets/select.hpp — wait on several channel operations at once (Go's select).
//
//     auto news = tasklets::on_receive(news_ch);       // a receive case
//     auto order = tasklets::on_send(orders_ch, 42);   // a send case (owns its value)
//     tasklets::select_result r = tasklets::select(news, order, tasklets::default_case);
//     if (r.index == 0 && !r.closed) use(*news.value());
//     else if (r.index == 1 && !r.closed) { /* 42 was handed over */ }
//     else if (r.is_default) { /* nothing was ready */ }
//
// select(cases...) completes exactly one case and returns which: `index` is that case's
// position among the arguments (default_case counts as a position too).
//
// Readiness. A case is ready when its channel has a partner waiting (a receiver for a send
// case, a sender for a receive case — balance() says so), or when its channel is closing
// and no partner is waiting for that direction (a plain send/receive would throw
// channel_closed_error). If one or more cases are ready, one of them is picked uniformly
// at random and performed at once — so among always-ready cases none starves, whatever
// their order. The random generator is per thread with a fixed seed, so a program's
// choices are reproducible; select_seed() restarts it (tests, deterministic replay).
// If nothing is ready, select() returns the default case's index without blocking when
// there is a default_case; otherwise the tasklet blocks on every case's channel at once
// (each counts in that channel's balance() and queue, FIFO with plain waiters) until the
// first partner arrives, which completes that case; the other cases are withdrawn.
//
// Closed channels. A case on a closed channel (closing, no partner waiting for it)
// completes at once with `closed == true` and transfers nothing (a send case keeps its
// value); it does not throw. A select loop thereby notices the end of a stream: drop the
// case and select over the rest. Closing a channel does not wake a select already blocked
// on it (Stackless: closing wakes nobody); a partner arriving on any case still completes
// the select, and a closed channel is noticed by the next select.
//
// Preference. A select acts like the plain operation of the case that completes:
//   - a ready case is performed like send()/receive() on its channel: the value is handed
//     over and that channel's preference (and schedule_all) decides whether the selecting
//     tasklet continues or the partner runs first;
//   - a blocked select is, to the partner that arrives, an ordinary waiting partner: the
//     partner's send()/receive() (or select) applies *its* channel's preference with the
//     selecting tasklet as the waiting partner (preference -1 on a send to a selecting
//     receiver switches to the selecting tasklet at once; 0 or +1 appends it to the ring).
//
// Errors (thrown before anything changed): state_error if nothing is ready, there is no
// default and the caller's block_trap is set; deadlock_error if blocking could never end
// (as for a plain receive: "Deadlock: the last runnable tasklet cannot be blocked." at
// once, or, for the main tasklet when the last runnable tasklet ends while it waits, "the
// main tasklet is waiting in a select without a partner available."); state_error under switch_trap or inside a callback if the
// select would switch; std::invalid_argument if a send case has no value or one channel
// appears both as a send and as a receive case (the same direction twice is fine: the
// first case in argument order queues first). A send_exception() delivered through a
// receive case is thrown by select(). kill()/throw_exception() of a tasklet blocked in a
// select withdraws all its cases (no trace on any channel; balances restored) and raises
// the exception there, unwinding the cases like any local.
//
// Callbacks and safe points: a select is one safe point. The channel callback is called
// for the case performed at once (will_block false, also for a closed case), or for every
// case, in order, when the select is about to block (will_block true); not for a default.
//
// Cases are reusable: each select() resets a receive case's value() and re-reads a send
// case's value(). A case holds a handle to its channel (the channel lives while it does).
//
// Deadline (docs/semantics.md §7.9). A tasklets::deadline among the arguments bounds the
// wait: select(news, order, tasklets::deadline(50ms)). Ready cases still come first, even
// with the deadline past; if nothing completed by the deadline, every case is withdrawn and
// the result is the deadline's index with `timed_out` set (nothing is thrown). A deadline
// alone is a sleep. A default and a deadline together do not compile.
//
// Shared channels (docs/semantics.md §9.3). on_receive/on_send also take a
// shared_channel<T> (include <tasklets/shared_channel.hpp>): the select then waits for
// partners on any thread, with the same cases, result, default and deadline. One select
// is over channel<T> cases or over shared_channel<T> cases, not both (a compile error).
#pragma once

#include <tasklets/channel.hpp>
#include <tasklets/time.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace tasklets {

template <class T>
class shared_channel;  // tasklets/shared_channel.hpp

namespace detail {

struct shared_core;

struct select_case {
    channel_core* channel;  // a channel<T> case (null for a shared_channel<T> case)
    void* transfer;         // sending: the payload; receiving: uninitialised storage
    const transfer_ops* ops;
    std::int8_t direction;  // +1 sending, -1 receiving
    shared_core* shared;    // a shared_channel<T> case (null for a channel<T> case)
};

inline constexpr std::uint32_t select_none = 0xFFFFFFFFu;

struct select_outcome {
    std::uint32_t index;  // the completed case (== count: the default); written before any exception
    bool closed;
};

/// Completes one of `cases` (or the default, index == count) and fills `out`. If an
/// exception is raised after a case completed (thrown into the tasklet before it resumed),
/// out.index already names that case.
void channel_select(const select_case* cases, std::uint32_t count, bool has_default, select_outcome& out);
/// channel_select() with a deadline case instead of a default: index == count once
/// `deadline` (clock nanoseconds) passes. In kernel/io/channel_timeouts.cpp.
void channel_select_until(const select_case* cases, std::uint32_t count, std::int64_t deadline, select_outcome& out);
/// The same over shared_channel cases (count >= 1); index == count is the default or the
/// deadline. In kernel/threads/shared_select.cpp.
void shared_select(const select_case* cases, std::uint32_t count, bool has_default, std::int64_t deadline,
                   select_outcome& out);
void select_seed(std::uint64_t seed) noexcept;

template <class T>
select_case arm_case(const channel<T>& ch, void* transfer, std::int8_t direction) {
    return {ch.core(), transfer, &transfer_ops_of<T>, direction, nullptr};
}
template <class T>
select_case arm_case(const shared_channel<T>& ch, void* transfer, std::int8_t direction) {
    return {nullptr, transfer, &transfer_ops_of<T>, direction, ch.core()};
}

}  // namespace detail

/// The default case: select() returns its index at once when no other case is ready.
struct default_case_t {
    explicit constexpr default_case_t() = default;
};
inline constexpr default_case_t default_case{};

struct select_result {
    /// The completed case's position among select()'s arguments.
    std::size_t index = 0;
    /// The case's channel was closed: nothing was transferred.
    bool closed = false;
    /// The default case was taken (nothing was ready).
    bool is_default = false;
    /// The deadline passed before any case completed.
    bool timed_out = false;
};

/// A receive case: select() takes a value from `channel` (a channel<T>, or a
/// shared_channel<T>) into value().
template <class T, class Channel = channel<T>>
class receive_case {
public:
    using value_type = T;
    explicit receive_case(const Channel& ch) : channel_(ch) {}
    receive_case(const receive_case&) = delete;
    receive_case& operator=(const receive_case&) = delete;

    /// The value received by the last select() if this case completed with one; empty
    /// otherwise (another case completed, or the channel was closed).
    std::optional<T>& value() & noexcept { return value_; }
    const std::optional<T>& value() const& noexcept { return value_; }
    const Channel& source() const noexcept { return channel_; }

private:
    template <class... C> friend select_result select(C&&... cases);
    struct slot {
        alignas(T) unsigned char bytes[sizeof(T)];
    };
    detail::select_case arm() {
        value_.reset();
        return detail::arm_case(channel_, slot_.bytes, -1);
    }
    void complete(bool closed) {
        if (closed) return;
        T* p = std::launder(reinterpret_cast<T*>(slot_.bytes));
        value_.emplace(std::move(*p));
        p->~T();
    }
    Channel channel_;
    std::optional<T> value_;
    slot slot_;
};

/// A send case: select() hands value() to a receiver of `channel`. The case owns the value
/// until it is sent: afterwards value() is empty; if another case completed (or the channel
/// was closed) it is still there.
template <class T, class Channel = channel<T>>
class send_case {
public:
    using value_type = T;
    send_case(const Channel& ch, T value) : channel_(ch), value_(std::move(value)) {}
    send_case(const send_case&) = delete;
    send_case& operator=(const send_case&) = delete;

    /// The value still to be sent (empty once sent); assign to re-arm the case.
    std::optional<T>& value() & noexcept { return value_; }
    const std::optional<T>& value() const& noexcept { return value_; }
    const Channel& target() const noexcept { return channel_; }

private:
    template <class... C> friend select_result select(C&&... cases);
    detail::select_case arm() {
        if (!value_) throw std::invalid_argument("tasklets::select: a send case has no value (it was sent already)");
        return detail::arm_case(channel_, std::addressof(*value_), +1);
    }
    void complete(bool closed) {
        if (!closed) value_.reset();  // moved from by the receiver
    }
    Channel channel_;
    std::optional<T> value_;
};

/// Case factories. on_send(ch, v) converts v to the channel's type.
template <class T>
receive_case<T> on_receive(const channel<T>& ch) { return receive_case<T>(ch); }
template <class T>
send_case<T> on_send(const channel<T>& ch, std::type_identity_t<T> value) { return send_case<T>(ch, std::move(value)); }
template <class T>
receive_case<T, shared_channel<T>> on_receive(const shared_channel<T>& ch) { return receive_case<T, shared_channel<T>>(ch); }
template <class T>
send_case<T, shared_channel<T>> on_send(const shared_channel<T>& ch, std::type_identity_t<T> value) {
    return send_case<T, shared_channel<T>>(ch, std::move(value));
}

/// Restarts this thread's select generator (select picks among ready cases with it).
inline void select_seed(std::uint64_t seed) noexcept { detail::select_seed(seed); }

namespace detail {
template <class C> struct select_kind : std::integral_constant<int, 0> {};
template <class T, class Ch> struct select_kind<receive_case<T, Ch>> : std::integral_constant<int, 1> {};
template <class T, class Ch> struct select_kind<send_case<T, Ch>> : std::integral_constant<int, 2> {};
template <> struct select_kind<default_case_t> : std::integral_constant<int, 3> {};
template <> struct select_kind<deadline> : std::integral_constant<int, 4> {};
template <class C> struct shared_case : std::false_type {};
template <class T> struct shared_case<receive_case<T, shared_channel<T>>> : std::true_type {};
template <class T> struct shared_case<send_case<T, shared_channel<T>>> : std::true_type {};
}  // namespace detail

/// Completes exactly one of `cases` (see the top of this file). Receive cases must be named
/// objects (their value is read from them afterwards); send cases, default_case and a
/// deadline may be temporaries.
template <class... C>
select_result select(C&&... cases) {
    static_assert(sizeof...(C) > 0, "tasklets::select needs at least one case");
    static_assert(((detail::select_kind<std::remove_cvref_t<C>>::value != 0) && ...),
                  "tasklets::select takes on_receive(ch), on_send(ch, v), default_case and a tasklets::deadline");
    static_assert(((detail::select_kind<std::remove_cvref_t<C>>::value != 1 || std::is_lvalue_reference_v<C>) && ...),
                  "tasklets::select: name a receive case (auto c = on_receive(ch)) so that its value can be read");
    static_assert(((!std::is_const_v<std::remove_reference_t<C>> ||
                    detail::select_kind<std::remove_cvref_t<C>>::value >= 3) && ...),
                  "tasklets::select: cases must not be const");
    constexpr std::size_t defaults = ((detail::select_kind<std::remove_cvref_t<C>>::value == 3 ? 1 : 0) + ...);
    constexpr std::size_t deadlines = ((detail::select_kind<std::remove_cvref_t<C>>::value == 4 ? 1 : 0) + ...);
    static_assert(defaults <= 1, "tasklets::select takes at most one default_case");
    static_assert(deadlines <= 1, "tasklets::select takes at most one deadline");
    static_assert(defaults + deadlines <= 1,
                  "tasklets::select: a select with a default_case never waits, so its deadline could never pass; "
                  "use one or the other");
    constexpr std::size_t n = sizeof...(C) - defaults - deadlines;
    constexpr std::size_t shared = ((detail::shared_case<std::remove_cvref_t<C>>::value ? 1 : 0) + ...);
    static_assert(shared == 0 || shared == n,
                  "tasklets::select: cases on channel<T> and on shared_channel<T> cannot be mixed in one select; "
                  "select over shared channels only (docs/semantics.md §9.3)");

    // positions[k]: the argument position of the k-th channel case; extra_at: the
    // default's or the deadline's.
    std::size_t positions[n + 1] = {};
    std::size_t extra_at = 0;
    std::int64_t until = detail::no_deadline;
    detail::select_case arms[n + 1] = {};
    {
        std::size_t pos = 0, k = 0;
        auto arm_one = [&](auto& c) {
            using K = std::remove_cvref_t<decltype(c)>;
            if constexpr (std::is_same_v<K, default_case_t>) {
                extra_at = pos;
            } else if constexpr (std::is_same_v<K, deadline>) {
                extra_at = pos;
                until = c.raw();
            } else {
                arms[k] = c.arm();
                positions[k++] = pos;
            }
            ++pos;
        };
        (arm_one(cases), ...);
    }

    detail::select_outcome out{};
    auto complete = [&](bool closed) {
        std::size_t k = 0;
        auto one = [&](auto& c) {
            using K = std::remove_cvref_t<decltype(c)>;
            if constexpr (detail::select_kind<K>::value <= 2) {
                if (k++ == out.index) c.complete(closed);
            }
        };
        (one(cases), ...);
    };
    const auto count = static_cast<std::uint32_t>(n);
    try {
        if constexpr (shared != 0) detail::shared_select(arms, count, defaults != 0, until, out);
        else if constexpr (deadlines != 0) detail::channel_select_until(arms, count, until, out);
        else detail::channel_select(arms, count, defaults != 0, out);
    } catch (...) {
        // A case that completed before the exception came keeps its effect.
        if (out.index < n) complete(false);
        throw;
    }
    if (out.index == n) return select_result{extra_at, false, defaults != 0, deadlines != 0};
    complete(out.closed);
    return select_result{positions[out.index], out.closed, false, false};
}

}  // namespace tasklets
