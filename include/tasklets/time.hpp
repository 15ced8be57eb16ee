// tasklets/time.hpp — timers: sleeping, deadlines, timeouts, and the scheduler's clock.
//
// Each thread's scheduler has a clock. By default it is the real monotonic clock
// (CLOCK_MONOTONIC). For simulations and games it can be a *virtual* clock that only moves
// when the host says so (advance_clock), or that jumps straight to the next timer when every
// tasklet is asleep (auto-advance), so a simulation runs deterministically and as fast as
// the CPU allows:
//
//     tasklets::use_virtual_clock();                 // auto-advance, starts at 0
//     tasklets::spawn([] {
//         for (int step = 0; step < 3; ++step) {
//             move_robot();
//             tasklets::sleep_for(std::chrono::seconds(5));   // 5 game-seconds, no real wait
//         }
//     });
//     tasklets::run();                               // returns at once; clock is now 15 s
//
// Timeouts — ONE convention everywhere: a blocking call given a deadline (channel
// receive_for/send_for, every I/O call of <tasklets/io.hpp>) that is not satisfied in time
// throws tasklets::timeout_error, naming the operation and the timeout. Nothing is consumed
// or sent by an operation that timed out. A deadline is either a duration (measured from the
// call) or a clock::time_point; default-constructed, it never expires.
//
// Timers cost no allocation per sleep (the timer record lives on the sleeping tasklet's
// stack) and sit in a 4-ary heap: insert and cancel are O(log n); a million pending timers
// cost about 8 MB of heap index. A tasklet killed while sleeping or waiting leaves no timer
// and no registration behind.
#pragma once

#include <tasklets/errors.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace tasklets {

/// A blocking operation's deadline passed: "tasklets: channel receive timed out after 50ms".
class timeout_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The calling thread's scheduler clock (a std::chrono clock). now() reads the real
/// monotonic clock, or the virtual clock when this thread uses one. Time points of one
/// thread's clock mean nothing on another thread.
struct clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<clock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept;
};

namespace detail {
inline constexpr std::int64_t no_deadline = std::numeric_limits<std::int64_t>::max();
}

/// When a blocking operation gives up. Implicit from a duration (from now: the whole
/// operation, e.g. all of write_all, must finish within it) or a clock::time_point.
class deadline {
public:
    /// Never expires.
    constexpr deadline() noexcept = default;
    deadline(clock::time_point when) noexcept : at_(when.time_since_epoch().count()) {}
    template <class Rep, class Period>
    deadline(std::chrono::duration<Rep, Period> d) {
        using namespace std::chrono;
        // Durations beyond ~100 years mean "never" (and cannot overflow the clock).
        if (d > duration_cast<duration<Rep, Period>>(hours(24 * 365 * 100))) return;
        const auto ns = ceil<nanoseconds>(d).count();
        span_ = ns < 0 ? 0 : ns;
        at_ = clock::now().time_since_epoch().count() + ns;
    }
    static constexpr deadline never() noexcept { return {}; }

    constexpr bool is_never() const noexcept { return at_ == detail::no_deadline; }
    /// The expiry on clock's scale (time_point::max() for never).
    clock::time_point when() const noexcept { return clock::time_point(clock::duration(at_)); }
    /// For the library: expiry in clock nanoseconds, and the duration it was made from (or -1).
    constexpr std::int64_t raw() const noexcept { return at_; }
    constexpr std::int64_t span() const noexcept { return span_; }

private:
    std::int64_t at_ = detail::no_deadline;
    std::int64_t span_ = -1;
};

/// Blocks the calling tasklet for `d` on its scheduler's clock (other tasklets run). A
/// zero or negative duration yields like schedule(). Timers never fire early; on the real
/// clock they fire within the reactor's wake-up latency after the deadline. The sleeping
/// tasklet counts as blocked (blocked() is true, run()/insert() refuse it); kill() and
/// throw_exception() wake it with their exception. Under a manual virtual clock, the last
/// runnable tasklet going to sleep hands over to the watchdog (run() returns, as when the
/// last tasklet blocks on a channel); the watchdog itself gets deadlock_error instead.
void sleep_for(clock::duration d);
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
    sleep_for(std::chrono::ceil<clock::duration>(d));
}
/// Blocks until the clock reaches `when` (yields if it already has).
void sleep_until(clock::time_point when);

// ---- the virtual clock ----------------------------------------------------------------

struct virtual_clock_options {
    /// Where the virtual clock starts.
    clock::time_point start{};
    /// true: when every tasklet is asleep (nothing runnable, no descriptor ready), the clock
    /// jumps to the next timer, so run() runs a whole simulation at CPU speed.
    /// false: the clock moves only by advance_clock(); run() returns when every tasklet
    /// sleeps (timers alone do not keep it waiting), and the host advances and runs again.
    bool auto_advance = true;
};

/// Switches this thread's scheduler to a virtual clock. Throws std::logic_error if timers
/// are pending (their deadlines would change meaning).
void use_virtual_clock(virtual_clock_options options = {});
/// Back to the real monotonic clock (same rule).
void use_real_clock();
/// Is this thread's scheduler on a virtual clock?
bool clock_is_virtual() noexcept;
/// Virtual clock only (std::logic_error otherwise): moves time forward by `d` (to `when`),
/// stepping through the due timers in deadline order (ties: in the order they were set) and
/// making their tasklets runnable in that order; they run when the scheduler gets to them
/// (e.g. the host's next run()). Time never goes backwards: an earlier `when` is ignored.
void advance_clock(clock::duration d);
void advance_clock_to(clock::time_point when);

/// Timers pending on this thread (sleeps and timeouts not yet fired or cancelled).
std::size_t pending_timers() noexcept;
/// The earliest pending timer's deadline.
std::optional<clock::time_point> next_timer() noexcept;

}  // namespace tasklets
