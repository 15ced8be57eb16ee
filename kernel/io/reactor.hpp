// The reactor: this thread's event source (kernel/core/event_source.hpp's event_source) — the
// clock, the timer heap, and the kernel interface it waits in: an epoll instance, or an
// io_uring (io/uring.hpp, driven by io/reactor_uring.cpp) when the process chose that
// backend (io/backend_choice.cpp).
//
// With io_uring, descriptors that wait for readiness (connect, datagrams, wait_readable,
// the helpers' eventfd) get a multishot poll instead of an epoll registration and behave
// as below; streams and listeners use completions instead (ring_receive, ring_send,
// ring_accept): a multishot receive into provided buffers, sends from a copy, a multishot
// accept, all submitted in one batch per poll.
//
// Descriptors are registered edge-triggered (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET) the first
// time a tasklet waits on them and stay registered until closed through the reactor
// (close_fd / forget_fd / the RAII types). An edge that arrives while nobody waits is kept
// as a per-descriptor "ready" bit, so a later wait returns at once; the I/O operations clear
// the bit *before* each system call, so an edge can never be lost between the call's
// EAGAIN and the wait. Waits may therefore end spuriously: every caller retries its call.
//
// Life cycle: created on the first timer or I/O call of a thread (get_reactor), owned by a
// thread_local of this file. That owner is destroyed before the scheduler's own (it was
// constructed later), while tasklets may still wait here; then the reactor is only marked
// orphaned and frees itself when the last wait in progress ends (the scheduler's teardown
// kills the waiters, whose cancels and unwinding still find it alive).
#pragma once

#include "core/event_source.hpp"
#include "core/scheduler.hpp"
#include "core/waits.hpp"
#include "io/helpers.hpp"
#include "threads/inbox.hpp"
#include "io/timer_heap.hpp"
#include "io/uring.hpp"

#include <tasklets/time.hpp>

#if !defined(_WIN32)
#include <sys/epoll.h>
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tasklets::detail {

class reactor;

enum : std::uint8_t { want_read = event_readable, want_write = event_writable };

/// A tasklet waiting for a timer and/or a descriptor. Lives in the waiter's frame.
/// The descriptor (-1: a plain sleep) and want_read/want_write are event_wait's fd and
/// interest, which deadlock reports read too.
struct io_wait : event_wait {
    reactor* owner = nullptr;
    tasklet_impl* waiter = nullptr;
    bool linked = false;         // on the descriptor's waiter list
    int result = -1;             // -1 still waiting (or revived by the kernel); 0 ready; ETIMEDOUT; EBADF closed
    io_wait* next = nullptr;
    io_wait* prev = nullptr;
    timer_node timer;
};

class reactor final : public event_source {
public:
    explicit reactor(scheduler& s);
    ~reactor() override;
    reactor(const reactor&) = delete;
    reactor& operator=(const reactor&) = delete;

    bool has_waiters() const noexcept override;
    void poll(scheduler& s, bool block, std::int64_t max_wait_ns) noexcept override;

    // ---- clock ----
    std::int64_t now() const noexcept;
    bool is_virtual() const noexcept { return virtual_; }
    void set_clock(bool is_virtual, bool auto_advance, std::int64_t start);
    void advance_to(std::int64_t when) noexcept;  // virtual clock

    // ---- timers ----
    void add_timer(timer_node* n, std::int64_t deadline);  // may throw bad_alloc
    void cancel_timer(timer_node* n) noexcept {
        if (n->queued()) timers_.erase(n);
    }
    std::size_t timer_count() const noexcept { return timers_.size(); }
    const timer_heap& timers() const noexcept { return timers_; }

    // ---- descriptors ----
    /// Parks the current tasklet until fd (or -1: nothing) is ready for `dir`, the deadline
    /// passes (no_deadline: never) or the descriptor is closed through the reactor. Returns
    /// 0, ETIMEDOUT or EBADF; returns 0 at once for a descriptor epoll cannot watch (a
    /// regular file). Throws what is thrown into the tasklet meanwhile, deadlock_error if
    /// nothing could ever wake it, std::system_error if epoll refuses the descriptor.
    /// With watch = false (io_uring streams and listeners), the descriptor is not watched
    /// for readiness: the wait ends when a completion on it wakes its waiters.
    int wait(int fd, std::uint8_t dir, std::int64_t deadline, bool watch = true);
    /// Forget a descriptor's ready bit before an I/O call on it (see the header comment).
    void clear_ready(int fd, std::uint8_t dir) noexcept {
        if (static_cast<std::size_t>(fd) < fds_.size()) fds_[fd].ready &= static_cast<std::uint8_t>(~dir);
    }
    /// Has the peer hung up (or an error arrived)? Then a short read does not mean that
    /// the next read would block: the end of stream (or the error) is waiting for it.
    bool hung_up(int fd) const noexcept {
        return static_cast<std::size_t>(fd) < fds_.size() && fds_[static_cast<std::size_t>(fd)].hangup;
    }
    /// The descriptor is being closed (or handed elsewhere): wakes its waiters with EBADF,
    /// drops its registration. Call before close(2).
    void forget(int fd) noexcept;
    std::size_t fd_waiter_count() const noexcept { return fd_waiters_; }

    // ---- other threads: helper calls (io/helpers.hpp) and mail (threads/inbox.hpp) ----
    /// This thread's inbox, its doorbell watched here. Mail posted to it is delivered by
    /// this reactor's polls; at the thread's end (the reactor's destruction) it is closed.
    std::shared_ptr<thread_inbox> inbox();
    /// The inbox if this thread has made one (it has, if a thread_ref to it exists), else null.
    thread_inbox* existing_inbox() const noexcept { return inbox_.get(); }
    /// inbox() without the reference count's traffic: valid while the reactor lives.
    thread_inbox* inbox_here() {
        if (!inbox_) inbox();
        return inbox_.get();
    }
    /// Parks the current tasklet on `w` until another thread's mail ends the wait
    /// (finish_wait from the mail's delivery) or the deadline passes: w.timer.fire runs,
    /// which the caller sets when it needs more than the default finish_wait(w, ETIMEDOUT);
    /// a deadline already past fires at the next poll. The caller sets w.cancel; this sets
    /// owner and waiter. Meanwhile the thread sleeps in its reactor rather than report a
    /// deadlock. Returns w.result. Throws what is thrown into the tasklet meanwhile.
    /// `revived_message`: the deadlock_error raised if the tasklet is revived without an
    /// answer (it should not be: the wait keeps the thread polling).
    /// `urgent`: the answer usually comes within microseconds (a partner on another
    /// thread), so the thread watches its doorbell for a while before it sleeps (see
    /// wait_with_inbox). False for a wait that is as likely to end late, such as a pool
    /// worker's wait for new work: then the thread watches only if nothing else (a
    /// descriptor, an io_uring request) could wake it, since watching the doorbell does not
    /// see those, and they would wait for the watch to end.
    /// `express`: the mail that ends this wait, if it comes by thread_inbox::post_express:
    /// see wait_for_express.
    static constexpr const char* revived_without_answer =
        "Deadlock: the tasklet waits for another thread and was revived without an answer.";
    int wait_for_mail(io_wait& w, std::int64_t deadline, const char* revived_message = revived_without_answer,
                      bool urgent = true, express_mail* express = nullptr);
    /// wait_for_mail() for a wait that one mail ends, `m`, posted with
    /// thread_inbox::post_express. While the thread has nothing to run and spins for mail,
    /// it watches m too, so that a poster can hand m over without the queue. One wait at a
    /// time is watched: the latest to start.
    int wait_for_express(io_wait& w, express_mail& m, std::int64_t deadline) {
        return wait_for_mail(w, deadline, revived_without_answer, true, &m);
    }
    /// wait_for_mail(), built into the caller, which includes its definition
    /// (io/wait_for_mail_inline.hpp): for a hot path's wait, whose tasklet then resumes in
    /// the caller's own frame, with fewer returns to make after the switch.
    [[gnu::always_inline]] inline int wait_for_mail_inline(io_wait& w, std::int64_t deadline, const char* revived_message,
                                                          bool urgent, express_mail* express);
    /// Ends `w`'s wait with `result` and makes its tasklet runnable (no switch).
    void finish_wait(io_wait* w, int result) noexcept { finish(w, result); }
    /// Parks the current tasklet until a helper has run `t` (0) or the deadline passes
    /// (ETIMEDOUT). Throws what is thrown into the tasklet meanwhile.
    int wait_for_helper(helper_ticket& t, std::int64_t deadline);
    std::size_t registered_count() const noexcept { return registered_; }

    // ---- the io_uring backend (io/reactor_uring.cpp) ----
    bool uses_uring() const noexcept { return ring_ != nullptr; }
#if TASKLETS_HAVE_URING
    /// A stream's read: bytes already received, else parks until some arrive. Returns the
    /// count (0: end of stream), or 0 with `err` set (ETIMEDOUT, EBADF: closed while
    /// waiting, or the socket's errno).
    std::size_t ring_receive(int fd, void* buf, std::size_t n, std::int64_t deadline, int& err);
    /// A stream's write of up to max_send bytes, copied: parks until the kernel has taken
    /// them. Returns the count sent, or 0 with `err` set as for ring_receive.
    std::size_t ring_send(int fd, const void* buf, std::size_t n, std::int64_t deadline, int& err);
    static constexpr std::size_t max_send = 256 * 1024;
    /// A listener's accept: a descriptor already accepted, else parks until one is.
    /// Returns it, or -1 with `err` set.
    int ring_accept(int fd, std::int64_t deadline, int& err);
    /// A one-shot request's record, linked into the list of those in flight, and an SQE
    /// for it (submitted with the next poll). The caller fills the SQE, then ring_wait()s.
    uring_op* ring_start(io_uring_sqe*& sqe);
    /// Parks until `op` completes (its result: res, negative errno) or the deadline
    /// passes (-ETIMEDOUT; the request is cancelled and its record freed when it ends).
    /// On success, op->data is copied to `copy_to` if given: `copy_size` bytes, or (0) as
    /// many as the result says (a read). Frees the record when it returns or throws.
    int ring_wait(uring_op* op, std::int64_t deadline, void* copy_to = nullptr, std::size_t copy_size = 0);
#endif

    // ---- life cycle ----
    /// Each wait in progress holds the reactor (see the header comment).
    void hold() noexcept { ++holds_; }
    void unhold() noexcept {
        if (--holds_ == 0 && orphaned_) [[unlikely]] orphan();  // the last hold of an orphan deletes it
    }
    void orphan() noexcept;
#if defined(_WIN32)
    void thread_ends() noexcept override { orphan(); }
#endif

private:
    struct fd_entry {
        io_wait* readers = nullptr;
        io_wait* writers = nullptr;
        std::uint8_t ready = 0;       // edges seen with nobody waiting
        bool hangup = false;          // EPOLLRDHUP/HUP/ERR seen: reads end at once from now on
        bool registered = false;
        bool unpollable = false;      // epoll_ctl said EPERM: a regular file or the like
        uring_fd* u = nullptr;        // io_uring: its requests (io/uring.hpp)
    };
    fd_entry& entry(int fd);
    void register_fd(int fd, fd_entry& e);
    static void link(io_wait*& head, io_wait* w) noexcept;
    static void unlink(io_wait*& head, io_wait* w) noexcept;
    void detach(io_wait* w) noexcept {                      // off its list and the heap
        // Inline, the descriptor's list out of line: a wait for mail (a shared channel's)
        // has neither, and is detached twice, when it ends and as it leaves.
        if (w->linked) [[unlikely]] unlink_fd_wait(w);
        cancel_timer(&w->timer);
    }
    void unlink_fd_wait(io_wait* w) noexcept;
    void finish(io_wait* w, int result) noexcept {          // detach + wake
        // Inline: a shared channel's partner on this thread ends a wait this way, once a task
        // in skynet.
        detach(w);
        w->result = result;
        ++woken_;
        wake_from_event(*s_, w->waiter);
    }
    static void cancel_wait(event_wait* self) noexcept;
    static void fire_wait(timer_node* n) noexcept;
#if defined(_WIN32)
    // Windows, without I/O (io/reactor_windows.cpp): sleeps on the helper inbox's event.
    void windows_wait_once(std::int64_t timeout_ns) noexcept;  // -1: forever
    void wait_once(std::int64_t timeout_ns) noexcept { windows_wait_once(timeout_ns); }
#else
    void epoll_once(std::int64_t timeout_ns) noexcept;      // -1: forever
    void wait_once(std::int64_t timeout_ns) noexcept {      // in whichever the backend is
        if (ring_) ring_poll(timeout_ns);
        else epoll_once(timeout_ns);
    }
#endif
    void drain_inbox(bool rang) noexcept;                   // answer the inbox: helper replies, then mail (rang: its doorbell was seen)
    void wait_with_inbox(std::int64_t timeout_ns) noexcept; // wait_once, spinning and telling the inbox first, answering it after
    bool spin_for_mail(std::int64_t timeout) noexcept;      // true: mail came while we watched (queued, or handed over and delivered)
    bool stop_watching(express_mail* m) noexcept;           // true: m was handed over meanwhile, and is delivered
    static constexpr std::int64_t spin_ns = 50000;          // how long (reactor.cpp says why; measured in bench/README.md)
    static void cancel_helper_wait(event_wait* self) noexcept;
    void expire(std::int64_t now) noexcept;
    void on_ready(fd_entry& e, std::uint32_t events) noexcept;  // epoll or poll events for e

    // io_uring backend (io/reactor_uring.cpp)
    void ring_open();
    void ring_close() noexcept;
    void ring_poll(std::int64_t timeout_ns) noexcept;       // -1: forever
    void ring_watch(int fd, fd_entry& e);                   // multishot poll for readiness
    void ring_forget(fd_entry& e) noexcept;
#if TASKLETS_HAVE_URING
    io_uring_sqe* ring_sqe() noexcept;
    uring_fd* ring_fd(int fd);
    void ring_complete(const io_uring_cqe& cqe) noexcept;
    void ring_arm_poll(uring_fd* u) noexcept;
    void ring_arm_receive(uring_fd* u);
    void ring_arm_accept(uring_fd* u) noexcept;
    void ring_give_back(std::uint16_t buffer) noexcept;
    void ring_release(uring_fd* u) noexcept;                // one request of u ended for good
    void ring_wake(int fd, bool readers, bool writers) noexcept;
#endif

    scheduler* s_;
    timer_heap timers_;
    std::uint64_t next_seq_ = 0;
    std::vector<fd_entry> fds_;
    std::size_t fd_waiters_ = 0;
    std::size_t inbox_waiters_ = 0;              // tasklets parked on helper calls or mail
    std::size_t patient_waiters_ = 0;            // those of them whose wait_for_mail is not urgent
    bool inbox_expected() const noexcept {       // may the inbox still end a wait, or has it rung?
        return inbox_waiters_ > 0 || (inbox_ && inbox_->rung());
    }
    std::size_t ring_waiters_ = 0;               // tasklets parked on one-shot io_uring requests
    uring* ring_ = nullptr;                      // io_uring backend, owned; null: epoll
    std::shared_ptr<thread_inbox> inbox_;
    express_mail* watched_ = nullptr;            // the mail wait_for_express waits for, if any: spin_for_mail watches it
    std::size_t registered_ = 0;
    int epfd_ = -1;
    bool virtual_ = false;
    bool auto_advance_ = true;
    std::int64_t vnow_ = 0;
    unsigned woken_ = 0;          // tasklets woken by the current poll
    std::size_t holds_ = 0;
    bool orphaned_ = false;
#if !defined(_WIN32)
    epoll_event events_[512];
#endif
};

/// CLOCK_MONOTONIC in nanoseconds (the real clock; QueryPerformanceCounter on Windows).
std::int64_t reactor_clock_ns() noexcept;

/// Creates the thread's reactor (get_reactor's first use).
reactor& make_reactor(scheduler& s);
/// This thread's reactor, created on first use. Inline: every shared channel operation
/// asks for it.
inline reactor& get_reactor(scheduler& s) {
    if (s.events) [[likely]] return *static_cast<reactor*>(s.events);
    return make_reactor(s);
}
/// This thread's reactor if it exists (no scheduler is created either).
reactor* find_reactor() noexcept;

/// Holds the reactor for the length of a wait.
struct reactor_hold {
    reactor& r;
    explicit reactor_hold(reactor& r) noexcept : r(r) { r.hold(); }
    ~reactor_hold() { r.unhold(); }
    reactor_hold(const reactor_hold&) = delete;
    reactor_hold& operator=(const reactor_hold&) = delete;
};

/// "tasklets: <what> timed out after 50ms" (span < 0: "…passed its deadline").
[[noreturn]] void throw_timeout(std::string_view what, std::int64_t span);
std::string format_duration(std::int64_t ns);

}  // namespace tasklets::detail
