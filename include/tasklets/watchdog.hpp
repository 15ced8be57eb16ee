// tasklets/watchdog.hpp — running the scheduler on a budget, and watching it work.
//
// Games and simulations drive tasklets from a host loop: run the scheduler for a frame's
// worth of work, render, run it again. Stackless counts interpreter instructions for
// this; native code has no instruction counter, so tasklets counts *safe points*: every
// switch attempt, every channel operation, and every tasklets::check() (tasklet.hpp)
// that long-running code calls in its loops. One safe point is one tick.
//
//     for (;;) {                                              // the frame loop
//         tasklets::tasklet late = tasklets::run({.time = 2ms, .total = true});
//         if (late) late.insert();   // interrupted mid-work: let it go on next frame
//         render();
//     }
//
// Hard interruption (the default): at the first safe point after the budget is spent,
// the running tasklet is taken out of the ring, left paused where it was, and returned
// by run(); insert() it to let it continue later, or kill() it. Soft interruption
// (soft = true): nothing is interrupted; when the running tasklet next switches of its
// own accord, the caller of run() is put in front of the tasklet that would have run
// next and run() returns an empty handle, every tasklet still scheduled.
//
// A budget restarts whenever another tasklet gets to run (each tasklet may run that long
// without switching), unless total = true: then it covers the whole run() call
// (Stackless's totaltimeout). Time budgets are checked at safe points too, reading the
// clock only every 64 of them, so they are honoured to within that many ticks.
// While a tasklet is atomic (tasklet::set_atomic, atomic_scope) it is not interrupted;
// the interruption happens at its first safe point after it stops being atomic. New
// tasklets are not atomic, whatever their creator is (as in Stackless).
//
// Waiting: when nothing can run but tasklets wait for timers or I/O (time.hpp, io.hpp),
// run() waits for them. With a time budget the wait counts as time of the current slice
// (with total, of the whole call); once the budget is spent run() returns an empty
// handle and they go on waiting, so a frame loop gets control back every frame even
// while every agent sleeps. Tick budgets do not limit waits (no safe point passes).
//
// Nesting: run() may be called from any tasklet; the innermost returns first when the
// ring empties. Only the outermost run() that has a budget enforces one; budgets given
// to run() calls nested inside it are ignored.
#pragma once

#include <tasklets/tasklet.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>

namespace tasklets {

/// What run() may spend before it returns (all zero/false: unlimited, like run()).
struct run_options {
    /// Safe points the scheduler may pass (0: no tick budget).
    std::int64_t ticks = 0;
    /// Time the scheduler may run (zero: no time budget).
    std::chrono::nanoseconds time{0};
    /// Wait for the running tasklet's next voluntary switch instead of interrupting it.
    bool soft = false;
    /// The budget covers the whole call instead of restarting at every switch.
    bool total = false;
};

/// run() with a budget: returns the tasklet it interrupted (hard interruption), or an
/// empty handle when the ring ran empty or a soft budget ran out.
tasklet run(const run_options& budget);

/// Makes the current tasklet atomic for the scope's lifetime, restoring the old flag.
class atomic_scope {
public:
    atomic_scope() : previous_(current().set_atomic(true)) {}
    atomic_scope(const atomic_scope&) = delete;
    atomic_scope& operator=(const atomic_scope&) = delete;
    ~atomic_scope() { current().set_atomic(previous_); }

private:
    bool previous_;
};

/// Adds `delta` to this thread's switch trap and returns the old value. While the trap is
/// non-zero, every operation that would switch tasklets (schedule, schedule_remove, run,
/// tasklet::run/switch_to, a non-pending kill or throw, a channel operation that blocks
/// or hands over control) throws state_error "switch_trap" and changes nothing. An
/// operation that needs no switch (a switch to the current tasklet, a hand-off where
/// the caller keeps running) still works.
int switch_trap(int delta);

/// Called on every switch between tasklets, with the tasklet being left (dead if it just
/// finished) and the one about to run. Runs in the tasklet being left; it must not switch
/// (any attempt throws state_error) — nor should it throw.
using schedule_callback = std::function<void(const tasklet& previous, const tasklet& next)>;
/// Installs `f` (empty to remove); returns the one it replaces.
schedule_callback set_schedule_callback(schedule_callback f);

/// Identifies the channel in a channel callback (compare with channel<T>::core()).
struct channel_event {
    const void* channel;  ///< channel<T>::core() of the channel acted on
    int balance;          ///< its balance before the operation
};
/// Called at the start of every send/receive/send_exception with the acting tasklet,
/// whether it sends, and whether it will block (no partner is waiting). Must not switch.
using channel_callback = std::function<void(const channel_event& channel, const tasklet& actor, bool sending, bool will_block)>;
channel_callback set_channel_callback(channel_callback f);

/// Called in a dying tasklet, with the exception escaping its function (never for
/// tasklet_exit). If it returns, the exception is swallowed; if it throws, what it
/// throws goes to the watchdog as an escaping exception would. Empty: none (default).
using error_handler = std::function<void(std::exception_ptr)>;
error_handler set_error_handler(error_handler h);

}  // namespace tasklets
