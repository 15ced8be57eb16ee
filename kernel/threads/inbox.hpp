// A thread's inbox: what other threads hand to it — finished helper calls
// (io/helpers.hpp) and mail (a tasklet to start, a blocked tasklet to wake, a pool's
// nudge) — behind one doorbell that the thread's reactor watches.
//
//   other thread                           home thread
//   ------------                           -----------
//   post(m): queue m under the mutex;      the reactor sees the doorbell readable
//   ring the doorbell unless it is         (epoll, an io_uring poll, a Windows event):
//   already rung and not yet answered      take_replies(), then next_mail() one by one,
//                                          each delivered on the home thread
//
// The doorbell is an eventfd (Windows: a manual-reset event). `rung` saves a system call
// per post while the home thread has not answered yet: a burst of posts costs one write.
//
// Mail is intrusive (the record lives with whoever posts it: a waiter's frame, a heap
// job), so posting never allocates and a queued record can be withdrawn by its home
// thread in O(1) (a blocked tasklet killed after a partner on another thread served it).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace tasklets::detail {

struct scheduler;
struct helper_ticket;

/// One item of mail. The poster fills in `deliver` (and `discard`) and keeps the record
/// alive until one of them has been called or withdraw() took it back.
struct mail {
    /// On the home thread, from its reactor's poll: must not switch or throw.
    void (*deliver)(mail* self, scheduler& s) noexcept = nullptr;
    /// The home thread ended with the mail undelivered (called by close(), on the home
    /// thread during its teardown). Null: nothing to do.
    void (*discard)(mail* self) noexcept = nullptr;
    mail* next = nullptr;  // guarded by the inbox's mutex
    mail* prev = nullptr;
    bool queued = false;   // guarded by the inbox's mutex
};

struct thread_inbox {
    thread_inbox();
    ~thread_inbox();
    thread_inbox(const thread_inbox&) = delete;
    thread_inbox& operator=(const thread_inbox&) = delete;

    /// Any thread: queues `m` and rings the doorbell. False if the home thread has ended
    /// (m is untouched); true also when m was queued already (it is not queued twice).
    bool post(mail* m) noexcept;
    /// Home thread: takes `m` back if it is still queued. False if it was delivered (or
    /// is being delivered) already.
    bool withdraw(mail* m) noexcept;
    /// Home thread: the next undelivered mail, taken off the queue, or null.
    mail* next_mail() noexcept;
    /// Home thread, when the doorbell rang: answers it (clears it, so that the next post
    /// rings again) and takes the finished helper calls.
    std::vector<std::shared_ptr<helper_ticket>> answer() noexcept;
    /// Home thread, at its end: no more mail is accepted; what is queued is discarded.
    void close() noexcept;
    /// Any thread: has close() run?
    bool closed() const noexcept {
        std::lock_guard lock(mutex_);
        return closed_;
    }

    /// Has the doorbell rung since it was last answered? (Any thread; a hint: the
    /// answer is a moment old.) Relaxed: a stale answer only delays the mail to the next
    /// poll, and the eventfd itself is what a sleeping reactor waits for.
    bool rung() const noexcept { return rung_.load(std::memory_order_relaxed); }

    /// A helper is done with `t`: queue it and ring the doorbell.
    void deliver_reply(std::shared_ptr<helper_ticket> t) noexcept;

#if defined(_WIN32)
    void* event = nullptr;  // a manual-reset event (HANDLE) the reactor waits on
#else
    int fd = -1;            // the eventfd the reactor watches
#endif

private:
    void ring() noexcept;

    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<helper_ticket>> replies_;  // guarded by mutex_
    mail* head_ = nullptr;                                 // guarded by mutex_
    mail* tail_ = nullptr;
    bool closed_ = false;                                  // guarded by mutex_
    // Set by the post that rings, cleared by answer() after it silences the doorbell and
    // before it looks at the queues (inbox.cpp says why in that order). Only an
    // optimisation of the doorbell; the queues themselves are under the mutex.
    std::atomic<bool> rung_{false};
};

}  // namespace tasklets::detail
