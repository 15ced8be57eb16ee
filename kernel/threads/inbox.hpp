// A thread's inbox: what other threads hand to it — finished helper calls
// (io/helpers.hpp) and mail (a tasklet to start, a blocked tasklet to wake, a pool's
// nudge) — behind one doorbell that the thread's reactor watches.
//
//   other thread                           home thread
//   ------------                           -----------
//   post(m): queue m under the mutex, set  each poll of its reactor: if `rung`, answer()
//   `rung`; ring the doorbell only if it   and deliver next_mail() one by one; before it
//   was clear and the home thread sleeps   blocks, going_to_sleep(); the doorbell wakes it
//
// The doorbell is an eventfd (Windows: a manual-reset event). A thread that is awake (or
// spinning before it sleeps: io/reactor.cpp) finds its mail by the flag, so a post to it
// costs no system call on either side; only a sleeping thread is rung, once per burst.
//
// Mail is intrusive (the record lives with whoever posts it: a waiter's frame, a heap
// job), so posting never allocates and a queued record can be withdrawn by its home
// thread in O(1) (a blocked tasklet killed after a partner on another thread served it).
#pragma once

#include "threads/spin_lock.hpp"

#include <atomic>
#include <cstdint>
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

/// Mail that its poster may hand straight to the home thread, past the queue and the
/// doorbell, while that thread has nothing to run and spins for exactly this mail
/// (reactor::wait_for_express). The hand-off then touches no line of the inbox: the home
/// thread sees it in the line of the mail itself, which the poster has just written. For a
/// cross-thread channel hand-off that is one line less to cross to the other core and back
/// (io/reactor.cpp, spin_for_mail, has the figures).
struct express_mail : mail {
    // 0: not watched: posted the usual way. 1: the home thread watches it (only it sets 1,
    // and takes it back to 0 when it stops watching). 2: handed over by a poster, from 1;
    // the home thread delivers it. The poster's compare-and-swap from 1 and the home
    // thread's exchange back to 0 decide between the two: whichever comes first.
    std::atomic<std::uint32_t> express{0};
};

struct thread_inbox {
    thread_inbox();
    ~thread_inbox();
    thread_inbox(const thread_inbox&) = delete;
    thread_inbox& operator=(const thread_inbox&) = delete;

    /// Any thread: queues `m` and rings the doorbell. False if the home thread has ended
    /// (m is untouched); true also when m was queued already (it is not queued twice).
    bool post(mail* m) noexcept;
    /// Any thread: hands `m` to its home thread if that thread watches it (express_mail),
    /// else post(m). True as for post().
    bool post_express(express_mail* m) noexcept {
        // Release on success: what the poster wrote for the delivery (a wait's outcome, the
        // value it moved) is seen by the home thread, which acquires the 2 (reactor.cpp).
        // Relaxed on failure, and for the look before it: then the mail goes by post(),
        // whose mutex orders it. The look saves a locked instruction when nobody watches.
        std::uint32_t watched = 1;
        if (m->express.load(std::memory_order_relaxed) == 1 &&
            m->express.compare_exchange_strong(watched, 2, std::memory_order_release, std::memory_order_relaxed))
            return true;
        return post(m);
    }
    /// Home thread: takes `m` back if it is still queued. False if it was delivered (or
    /// is being delivered) already.
    bool withdraw(mail* m) noexcept;
    /// Home thread: the next undelivered mail, taken off the queue, or null. `last`: it
    /// was the last one queued (mail posted after it rings the flag again, so the caller
    /// need not look once more).
    mail* next_mail(bool& last) noexcept;
    /// Home thread: takes the finished helper calls, and clears the flag so that the next
    /// post counts as new. `silence`: the doorbell was seen ringing, clear it too.
    std::vector<std::shared_ptr<helper_ticket>> answer(bool silence) noexcept;
    /// Home thread, about to block in the kernel: from now on posts ring the doorbell.
    /// False if mail came in the meantime: then do not block, answer it.
    bool going_to_sleep() noexcept;
    /// Home thread, back from the kernel: posts may leave the doorbell alone again.
    /// Relaxed: a poster that still reads 1 rings once more than needed, and the next
    /// going_to_sleep() stores 1 again seq_cst before it blocks (post()'s Dekker pattern).
    void awake() noexcept { sleeping_.store(0, std::memory_order_relaxed); }
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
    bool rung() const noexcept { return rung_.load(std::memory_order_relaxed) != 0; }

    /// A helper is done with `t`: queue it and ring the doorbell.
    void deliver_reply(std::shared_ptr<helper_ticket> t) noexcept;

private:
    void ring() noexcept;

    // What a post and the home thread's answer both write, in one cache line (64 bytes on
    // x86-64 glibc): each hand-off between threads moves it to the other core and back,
    // once instead of once per line. Spread over two lines, the cross-thread ping-pong
    // measured 1.30 us a round trip, in one 1.23 us (medians of 10 alternating runs,
    // xpingpong/tasklets_2workers).
    alignas(64) mutable spin_lock mutex_;
    mail* head_ = nullptr;                                 // guarded by mutex_
    mail* tail_ = nullptr;
    // Mail (or a reply) came since the last answer(): set by posts, cleared by answer()
    // before it looks at the queues. The queues themselves are under the mutex.
    // 32-bit words, not bool: RISC-V has no byte-sized atomic exchange, and GCC 12 would
    // call libatomic for one.
    std::atomic<std::uint32_t> rung_{0};
    // The home thread is (about to be) blocked in the kernel: only then does a post ring
    // the doorbell, a system call on each side (inbox.cpp, post() and going_to_sleep()).
    std::atomic<std::uint32_t> sleeping_{0};
    // A helper's reply is queued: answer() takes the mutex only then (replies are rare,
    // mail is not). Set under the mutex, cleared under it when the replies are taken.
    std::atomic<std::uint32_t> has_replies_{0};

    // Read on every post but written only at the end, or written only by helper replies
    // (rare): on lines of their own, which stay shared between the cores.
    alignas(64) bool closed_ = false;                      // guarded by mutex_
    std::vector<std::shared_ptr<helper_ticket>> replies_;  // guarded by mutex_

public:
#if defined(_WIN32)
    void* event = nullptr;  // a manual-reset event (HANDLE) the reactor waits on
#else
    int fd = -1;            // the eventfd the reactor watches
#endif
};

}  // namespace tasklets::detail
