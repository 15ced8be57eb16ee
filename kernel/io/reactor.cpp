// The reactor (see reactor.hpp): clock, timers and epoll behind the scheduler's
// event_source hook, plus the public timer API of <tasklets/time.hpp>.
#include "io/reactor.hpp"
#include "io/wait_for_mail_inline.hpp"

#include "core/deadlock.hpp"
#include "core/handover.hpp"
#include "core/waits.hpp"

#include <algorithm>
#include <memory>
#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <stdexcept>
#include <string>
#include <system_error>
#if !defined(_WIN32)
#include <unistd.h>
#endif

namespace tasklets::detail {

#if !defined(_WIN32)  // Windows: io/reactor_windows.cpp
std::int64_t reactor_clock_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
#endif

namespace {

std::int64_t monotonic_ns() noexcept { return reactor_clock_ns(); }

#if !defined(_WIN32)
// Destroyed at thread exit before the scheduler's owner (it is constructed after it).
// Windows: the scheduler's teardown orphans the reactor instead (event_source::thread_ends).
struct reactor_owner {
    reactor* r = nullptr;
    ~reactor_owner() {
        if (r) r->orphan();
    }
};
thread_local reactor_owner thread_reactor;
#endif

#if !defined(_WIN32)
// epoll_pwait2 (Linux 5.11) takes a nanosecond timeout; without it, epoll_wait's whole
// milliseconds, rounded up so that a timer never fires early. Relaxed: it orders nothing;
// a thread that has not yet seen another's `false` makes one more ENOSYS call and clears it
// itself.
std::atomic<bool> have_pwait2{true};
#endif

}  // namespace

std::string format_duration(std::int64_t ns) {
    if (ns % 1000000000 == 0) return std::to_string(ns / 1000000000) + "s";
    if (ns % 1000000 == 0) return std::to_string(ns / 1000000) + "ms";
    if (ns % 1000 == 0) return std::to_string(ns / 1000) + "us";
    return std::to_string(ns) + "ns";
}

void throw_timeout(std::string_view what, std::int64_t span) {
    std::string message = "tasklets: ";
    message += what;
    if (span >= 0) message += " timed out after " + format_duration(span);
    else message += " timed out (its deadline passed)";
    throw timeout_error(message);
}

#if !defined(_WIN32)  // Windows: io/reactor_windows.cpp
reactor::reactor(scheduler& s) : s_(&s) {
    if (chosen_backend() == backend_kind::io_uring) {
        ring_open();
        return;
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "tasklets: epoll_create1");
}

reactor::~reactor() {
    if (inbox_) inbox_->close();
    ring_close();
    if (epfd_ >= 0) ::close(epfd_);
}
#endif

bool reactor::has_waiters() const noexcept {
    return fd_waiters_ > 0 || inbox_expected() || ring_waiters_ > 0 ||
           (!timers_.empty() && (!virtual_ || auto_advance_));
}

std::int64_t reactor::now() const noexcept { return virtual_ ? vnow_ : monotonic_ns(); }

void reactor::set_clock(bool is_virtual, bool auto_advance, std::int64_t start) {
    if (!timers_.empty())
        throw std::logic_error("tasklets: cannot change the clock while " + std::to_string(timers_.size()) +
                               " timer(s) are pending");
    virtual_ = is_virtual;
    auto_advance_ = auto_advance;
    vnow_ = start;
}

void reactor::add_timer(timer_node* n, std::int64_t deadline) {
    n->deadline = deadline;
    n->seq = next_seq_++;
    timers_.push(n);
}

void reactor::expire(std::int64_t now) noexcept {
    while (!timers_.empty() && timers_.top()->deadline <= now) {
        timer_node* n = timers_.pop();
        n->fire(n);
    }
}

void reactor::advance_to(std::int64_t when) noexcept {
    while (!timers_.empty() && timers_.top()->deadline <= when) {
        vnow_ = std::max(vnow_, timers_.top()->deadline);
        expire(vnow_);
    }
    vnow_ = std::max(vnow_, when);
}

// ---- descriptors ----------------------------------------------------------------------

reactor::fd_entry& reactor::entry(int fd) {
    const auto i = static_cast<std::size_t>(fd);
    if (i >= fds_.size()) fds_.resize(std::max(i + 1, fds_.size() * 2));
    return fds_[i];
}

#if !defined(_WIN32)  // Windows: io/reactor_windows.cpp
void reactor::register_fd(int fd, fd_entry& e) {
    if (ring_) {
        ring_watch(fd, e);
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = 0;
    ev.data.fd = fd;
    int rc = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    if (rc != 0 && errno == EEXIST) rc = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    if (rc == 0) {
        e.registered = true;
        ++registered_;
        return;
    }
    if (errno == EPERM) {  // regular files, directories: always "ready"
        e.unpollable = true;
        return;
    }
    throw std::system_error(errno, std::generic_category(),
                            "tasklets: cannot watch descriptor " + std::to_string(fd) + " with epoll");
}
#endif

void reactor::link(io_wait*& head, io_wait* w) noexcept {
    w->next = nullptr;
    if (!head) {
        w->prev = nullptr;
        head = w;
        return;
    }
    io_wait* tail = head;
    while (tail->next) tail = tail->next;
    tail->next = w;
    w->prev = tail;
}

void reactor::unlink(io_wait*& head, io_wait* w) noexcept {
    if (w->prev) w->prev->next = w->next;
    else head = w->next;
    if (w->next) w->next->prev = w->prev;
    w->next = w->prev = nullptr;
}

void reactor::unlink_fd_wait(io_wait* w) noexcept {
    fd_entry& e = fds_[static_cast<std::size_t>(w->fd)];
    unlink(w->interest == want_read ? e.readers : e.writers, w);
    w->linked = false;
    --fd_waiters_;
}

void reactor::cancel_wait(event_wait* self) noexcept {
    auto* w = static_cast<io_wait*>(self);
    w->owner->detach(w);
}

void reactor::fire_wait(timer_node* n) noexcept {
    auto* w = static_cast<io_wait*>(n->context);
    w->owner->finish(w, ETIMEDOUT);
}

void reactor::forget(int fd) noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
    fd_entry& e = fds_[static_cast<std::size_t>(fd)];
    while (e.readers) finish(e.readers, EBADF);
    while (e.writers) finish(e.writers, EBADF);
    // No EPOLL_CTL_DEL: close(2) removes the registration (our descriptors are never
    // duplicated); a stray event for a reused number only causes a spurious wake-up.
    if (e.registered) --registered_;
    if (e.u) ring_forget(e);
    e = fd_entry{};
}

int reactor::wait(int fd, std::uint8_t dir, std::int64_t deadline, bool watch) {
    scheduler& s = *s_;
    // A shared-stack tasklet's frame is copied out while it waits, and the timer heap and
    // the descriptor's list point at the record: it lives on the heap then.
    io_wait in_frame;
    std::unique_ptr<io_wait> on_heap;
    if (s.current->stack_kind == stack_shared) [[unlikely]] on_heap = std::make_unique<io_wait>();
    io_wait& w = on_heap ? *on_heap : in_frame;
    w.off_stack = on_heap != nullptr;
    w.cancel = &cancel_wait;
    w.owner = this;
    w.waiter = s.current;
    w.fd = fd;
    w.interest = dir;
    fd_entry* e = nullptr;
    if (fd >= 0) {
        e = &entry(fd);
    }
    if (e && watch) {
        if (!e->registered && !e->unpollable) register_fd(fd, *e);
        if (e->unpollable) return 0;
        if (e->ready & dir) {
            e->ready &= static_cast<std::uint8_t>(~dir);
            return 0;
        }
    }
    if (deadline != no_deadline) {
        if (deadline <= now()) return ETIMEDOUT;
        w.timer.context = &w;
        w.timer.fire = &fire_wait;
        add_timer(&w.timer, deadline);
    }
    if (e) {
        link(dir == want_read ? e->readers : e->writers, &w);
        w.linked = true;
        ++fd_waiters_;
    }
    reactor_hold hold(*this);
    try {
        // The last runnable tasklet, and only the host can end its wait (a manual virtual
        // clock): hand over to the watchdog, as a channel does, so that run() returns. A
        // watchdog blocked on a channel can advance no clock: the deadlock is ours (§5).
        if (w.waiter->next == w.waiter && !(w.waiter->block_trap & trap_user) && !has_waiters()) {
            tasklet_impl* target = watchdog(s);
            if (target != w.waiter && on_channel(target)) throw_deadlock(s, last_runnable_message);
            if (target != w.waiter) revive(s, target, false);
        }
        wait_for_event(s, &w);
    } catch (...) {
        detach(&w);  // refused before parking (block_trap); after a cancel it is a no-op
        throw;
    }
    if (w.result < 0)  // the kernel revived us (the ring ran empty and nothing can wake us)
        throw_deadlock(s, "Deadlock: the tasklet waits for a timer or I/O and nothing is left that could wake it.");
    return w.result;
}

// ---- helper threads ---------------------------------------------------------------------------

namespace {
// A tasklet parked on a helper call: its io_wait (a timer, if it has a deadline) and the
// ticket that points back at it while it waits.
struct helper_wait : io_wait {
    helper_ticket* ticket = nullptr;
};
}  // namespace

#if !defined(_WIN32)  // Windows: io/reactor_windows.cpp
std::shared_ptr<thread_inbox> reactor::inbox() {
    if (inbox_) return inbox_;
    auto box = std::make_shared<thread_inbox>();
    fd_entry& e = entry(box->fd);
    e = fd_entry{};
    register_fd(box->fd, e);
    inbox_ = std::move(box);
    return inbox_;
}
#endif

void reactor::drain_inbox(bool rang) noexcept {
    for (const std::shared_ptr<helper_ticket>& t : inbox_->answer(rang)) {
        if (io_wait* w = std::exchange(t->waiter, nullptr)) finish(w, 0);
    }
    // One at a time: a delivery may withdraw another mail (it wakes a tasklet whose
    // cancel takes its own mail back), which must then not be delivered. Mail posted
    // after the last one taken set the flag again, and the next poll takes it.
    for (bool last = false; !last;) {
        mail* m = inbox_->next_mail(last);
        if (!m) break;
        m->deliver(m, *s_);
    }
}

int reactor::wait_for_mail(io_wait& w, std::int64_t deadline, const char* revived_message, bool urgent,
                           express_mail* express) {
    return wait_for_mail_inline(w, deadline, revived_message, urgent, express);
}

void reactor::cancel_helper_wait(event_wait* self) noexcept {
    auto* w = static_cast<helper_wait*>(self);
    w->owner->detach(w);
    w->ticket->waiter = nullptr;  // its reply, when it comes, is dropped
}

int reactor::wait_for_helper(helper_ticket& t, std::int64_t deadline) {
    if (deadline != no_deadline && deadline <= now()) return ETIMEDOUT;  // nothing was waited for
    // The record lives in the frame, or on the heap for a shared-stack tasklet, whose frame
    // is copied out while it waits (core/shared_stacks.hpp).
    std::unique_ptr<helper_wait> on_heap;
    helper_wait in_frame;
    if (s_->current->stack_kind == stack_shared) [[unlikely]] on_heap = std::make_unique<helper_wait>();
    helper_wait& w = on_heap ? *on_heap : in_frame;
    w.off_stack = on_heap != nullptr;
    w.cancel = &cancel_helper_wait;
    w.ticket = &t;
    t.waiter = &w;
    struct forget {
        helper_ticket& t;
        ~forget() { t.waiter = nullptr; }  // a reply that comes later is dropped
    } on_leave{t};
    // The reply comes as inbox mail, so this is a wait for mail. Revived without a result
    // cannot happen while the helper call counts as a waiter (the kernel polls instead),
    // but would mean nothing is left to wake the tasklet.
    return wait_for_mail(w, deadline, "Deadlock: the tasklet waits for a helper thread and was revived without its result.");
}

// ---- polling ------------------------------------------------------------------------------

#if !defined(_WIN32)  // Windows: io/reactor_windows.cpp
void reactor::epoll_once(std::int64_t timeout_ns) noexcept {
    constexpr int max_events = static_cast<int>(sizeof events_ / sizeof events_[0]);
    scheduler_counts& counts = s_->counts;
    ++counts.reactor_polls;
    const std::int64_t wait_start = timeout_ns != 0 ? monotonic_ns() : 0;
    int n;
    if (timeout_ns <= 0) {
        n = epoll_wait(epfd_, events_, max_events, timeout_ns < 0 ? -1 : 0);
    } else {
        n = -1;
        if (have_pwait2.load(std::memory_order_relaxed)) {
            timespec ts{static_cast<time_t>(timeout_ns / 1000000000), static_cast<long>(timeout_ns % 1000000000)};
            n = epoll_pwait2(epfd_, events_, max_events, &ts, nullptr);
            if (n < 0 && errno == ENOSYS) have_pwait2.store(false, std::memory_order_relaxed);
        }
        if (!have_pwait2.load(std::memory_order_relaxed)) {
            const std::int64_t ms = std::min<std::int64_t>((timeout_ns + 999999) / 1000000, INT_MAX);
            n = epoll_wait(epfd_, events_, max_events, static_cast<int>(ms));
        }
    }
    if (timeout_ns != 0) {
        ++counts.reactor_blocking_polls;
        counts.reactor_wait_ns += monotonic_ns() - wait_start;
    }
    for (int i = 0; i < n; ++i) {
        const auto fd = static_cast<std::size_t>(events_[i].data.fd);
        if (fd < fds_.size()) on_ready(fds_[fd], events_[i].events);
    }
}

// Readiness events for a watched descriptor, from epoll or an io_uring poll (whose POLL*
// bits are the EPOLL* bits).
void reactor::on_ready(fd_entry& e, std::uint32_t ev) noexcept {
    if (inbox_ && &e == &fds_[static_cast<std::size_t>(inbox_->fd)]) {
        drain_inbox(true);
        return;
    }
    if (!e.registered) return;
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) e.hangup = true;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (e.readers) {
            while (e.readers) finish(e.readers, 0);
        } else {
            e.ready |= want_read;
        }
    }
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        if (e.writers) {
            while (e.writers) finish(e.writers, 0);
        } else {
            e.ready |= want_write;
        }
    }
}
#endif

void reactor::poll(scheduler&, bool block, std::int64_t max_wait_ns) noexcept {
    woken_ = 0;
    // A blocking wait of `t` ns (-1: unbounded), shortened to a run() budget's end if any.
    const auto within_budget = [max_wait_ns](std::int64_t t) {
        if (max_wait_ns < 0 || (t >= 0 && t <= max_wait_ns)) return t;
        return std::max<std::int64_t>(max_wait_ns, 1);
    };
    if (!virtual_) {
        std::int64_t timeout = 0;
        if (block) timeout = timers_.empty() ? -1 : std::max<std::int64_t>(timers_.top()->deadline - monotonic_ns(), 0);
        if (timeout < 0 && fd_waiters_ == 0 && !inbox_expected() && ring_waiters_ == 0) return;  // nothing could ever end the wait
        if (block) timeout = within_budget(timeout);
        if (fd_waiters_ > 0 || inbox_expected() || ring_waiters_ > 0 || timeout != 0) wait_with_inbox(timeout);
        if (!timers_.empty()) expire(monotonic_ns());
        return;
    }
    const bool timers_move = auto_advance_ && !timers_.empty();
    if (fd_waiters_ > 0 || inbox_expected() || ring_waiters_ > 0) wait_with_inbox(block && !timers_move ? within_budget(-1) : 0);
    // Everything is asleep: jump to the next timer.
    if (block && woken_ == 0 && timers_move && timers_.top()->deadline > vnow_) vnow_ = timers_.top()->deadline;
    expire(vnow_);
}

// ---- spinning before sleeping ---------------------------------------------------------------


// A tasklet here waits for another thread (a shared channel's partner, a pool's next job):
// that answer often comes within microseconds, while putting the thread to sleep and
// waking it again costs tens of them on each side (futex, IPI, the scheduler's wake-up
// path: bench/results, xpingpong). So the doorbell's flag is watched first, for at most
// spin_ns (and never past `timeout`), reading the clock every 64 looks; only a thread
// with nobody to run spins, and an idle pool spins once per idle spell.
//
// The mail of the latest wait_for_express is watched too. Mail that comes through the
// queue costs the poster the inbox's line (taken from this core, where the flag is being
// read) and this thread the same line twice (the flag seen, then cleared and the queue
// taken): with a partner that hands the mail over instead, this thread reads the one line
// of the mail that the partner has just written. xpingpong/tasklets_2workers, alternating
// with the build before: 961 ns a round trip against 1,280 with the host's two vCPUs far
// apart (medians of 11), 239 against 292 with them close (of 4).
bool reactor::spin_for_mail(std::int64_t timeout) noexcept {
    if (!inbox_ || spin_ns <= 0) return false;
    const std::int64_t limit = timeout < 0 ? spin_ns : std::min(spin_ns, timeout);
    const std::int64_t until = monotonic_ns() + limit;
    ++s_->doorbell_watches;
    // Relaxed: only this thread sets 1, and a poster that reads it publishes nothing to
    // us by that read; what it publishes comes with its 2 (stop_watching).
    express_mail* m = watched_;
    if (m) m->express.store(1, std::memory_order_relaxed);
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            // Relaxed: a hint; stop_watching's exchange is what acquires.
            if (inbox_->rung() || (m && m->express.load(std::memory_order_relaxed) == 2)) {
                (void)stop_watching(m);
                return true;
            }
            cpu_relax();
        }
        if (monotonic_ns() >= until) return stop_watching(m);
    }
}

bool reactor::stop_watching(express_mail* m) noexcept {
    if (!m) return false;
    // Back to 0, so that later posters post. A 2 found there is a poster's: acquire pairs
    // with its release, so the outcome it wrote is seen, and the mail is delivered as the
    // queue's would be.
    if (m->express.exchange(0, std::memory_order_acquire) != 2) return false;
    ++s_->express_wakeups;
    m->deliver(m, *s_);
    return true;
}

void reactor::wait_with_inbox(std::int64_t timeout) noexcept {
    if (!inbox_) return wait_once(timeout);
    if (timeout == 0 && fd_waiters_ == 0 && ring_waiters_ == 0) {
        // A look (a safe point's periodic poll) with only mail waited for: the flag is the
        // answer. The kernel could report nothing else, since the doorbell rings only
        // while this thread sleeps (inbox.hpp), and io_uring enters it even to look. Tasklets
        // blocked on shared channels made every 64th safe point of a busy pool worker a
        // system call (skynet on one worker: 9 % of its time, perf).
        if (inbox_->rung()) drain_inbox(false);
        return;
    }
    if (timeout != 0) {
        // Watch the doorbell for a wait that expects an answer soon, or for any wait for
        // mail when nothing else can wake the thread. Not for a pool worker's idle wait
        // while descriptors are waited for: an HTTP worker watched its doorbell for 50 µs
        // every time its connections all waited, while their readiness went unseen
        // (8 % of its CPU time under load; bench/http/README.md).
        const bool watch = inbox_waiters_ > patient_waiters_ ||
                           (inbox_waiters_ > 0 && fd_waiters_ == 0 && ring_waiters_ == 0);
        if (watch && spin_for_mail(timeout)) {
            // Mail came while we watched. With no descriptor or ring request waited for, a
            // poll could only report the doorbell, which was not rung (we were awake):
            // answer the mail without that system call (io_uring enters the kernel even
            // to look). Mail handed over is delivered already; the queue is answered only
            // if it has some too.
            if (fd_waiters_ == 0 && ring_waiters_ == 0) {
                if (inbox_->rung()) drain_inbox(false);
                return;
            }
            timeout = 0;
        } else if (!inbox_->going_to_sleep()) {
            timeout = 0;  // mail came: answer it instead of sleeping
        }
    }
    wait_once(timeout);
    if (timeout != 0) inbox_->awake();
    // Mail posted while we were awake rang no doorbell: the flag says it is there.
    if (inbox_->rung()) drain_inbox(false);
}

// ---- life cycle -----------------------------------------------------------------------------

void reactor::orphan() noexcept {
    if (holds_ == 0) {
        if (s_->events == this) s_->events = nullptr;
        delete this;
    } else {
        orphaned_ = true;
    }
}

reactor& make_reactor(scheduler& s) {
    auto* r = new reactor(s);
    s.events = r;
#if !defined(_WIN32)
    thread_reactor.r = r;
#endif
    return *r;
}

reactor* find_reactor() noexcept {
    scheduler* s = tls_scheduler;
    return s && s->events ? static_cast<reactor*>(s->events) : nullptr;
}

}  // namespace tasklets::detail

// ---- <tasklets/time.hpp> ----------------------------------------------------------------------
namespace tasklets {

using namespace detail;

clock::time_point clock::now() noexcept {
    reactor* r = find_reactor();
    return time_point(duration(r ? r->now() : monotonic_ns()));
}

void sleep_until(clock::time_point when) {
    scheduler& s = sched();
    reactor& r = get_reactor(s);
    const std::int64_t deadline = when.time_since_epoch().count();
    if (deadline <= r.now()) {
        schedule();
        return;
    }
    r.wait(-1, 0, deadline);
}

void sleep_for(clock::duration d) {
    if (d <= clock::duration::zero()) {
        schedule();
        return;
    }
    reactor& r = get_reactor(sched());
    const std::int64_t now = r.now();
    const std::int64_t n = d.count();
    sleep_until(clock::time_point(clock::duration(n > no_deadline - now ? no_deadline - 1 : now + n)));
}

void use_virtual_clock(virtual_clock_options options) {
    get_reactor(sched()).set_clock(true, options.auto_advance, options.start.time_since_epoch().count());
}

void use_real_clock() {
    if (reactor* r = find_reactor()) r->set_clock(false, true, 0);
}

bool clock_is_virtual() noexcept {
    reactor* r = find_reactor();
    return r && r->is_virtual();
}

void advance_clock_to(clock::time_point when) {
    reactor* r = find_reactor();
    if (!r || !r->is_virtual()) throw std::logic_error("tasklets: advance_clock needs a virtual clock (use_virtual_clock)");
    r->advance_to(when.time_since_epoch().count());
}

void advance_clock(clock::duration d) {
    reactor* r = find_reactor();
    if (!r || !r->is_virtual()) throw std::logic_error("tasklets: advance_clock needs a virtual clock (use_virtual_clock)");
    if (d < clock::duration::zero()) throw std::invalid_argument("tasklets: advance_clock by a negative duration");
    r->advance_to(r->now() + d.count());
}

std::size_t pending_timers() noexcept {
    reactor* r = find_reactor();
    return r ? r->timer_count() : 0;
}

std::optional<clock::time_point> next_timer() noexcept {
    reactor* r = find_reactor();
    if (!r || r->timer_count() == 0) return std::nullopt;
    return clock::time_point(clock::duration(r->timers().top()->deadline));
}

}  // namespace tasklets
