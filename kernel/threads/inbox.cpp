// A thread's inbox (threads/inbox.hpp): the doorbell and the two queues.
#include "threads/inbox.hpp"

#include "io/helpers.hpp"

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/eventfd.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace tasklets::detail {

#if defined(_WIN32)
// Windows: the doorbell is a manual-reset event, set by ring() and reset by answer()
// before it empties the queues (see answer() for the order), so a post after the reset
// leaves it set: a spurious wake-up at worst, never a lost one. The reactor waits on it
// (io/reactor_windows.cpp).
thread_inbox::thread_inbox() {
    event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (!event)
        throw std::system_error(static_cast<int>(GetLastError()), std::system_category(),
                                "tasklets: CreateEvent for a thread's inbox");
}

thread_inbox::~thread_inbox() {
    if (event) CloseHandle(event);
}

void thread_inbox::ring() noexcept { SetEvent(event); }
#else
thread_inbox::thread_inbox() {
    fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "tasklets: eventfd for a thread's inbox");
}

thread_inbox::~thread_inbox() {
    if (fd >= 0) ::close(fd);
}

void thread_inbox::ring() noexcept {
    const std::uint64_t one = 1;
    // The counter cannot overflow (it is cleared at every answer); a failed write leaves
    // the item queued, found at the next ring.
    (void)!::write(fd, &one, sizeof one);
}
#endif

bool thread_inbox::post(mail* m) noexcept {
    // All of it under the mutex, the doorbell included: a poster may hold only a raw
    // pointer to the inbox (a shared channel's waiter record), and once the mail is
    // queued its home thread may deliver it, end, and destroy the inbox. Its close()
    // takes this mutex first, so it waits until we are out.
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    if (m->queued) return true;
    m->queued = true;
    m->next = nullptr;
    m->prev = tail_;
    if (tail_) tail_->next = m;
    else head_ = m;
    tail_ = m;
    // The flag tells an awake home thread; the doorbell is rung only if the flag was clear
    // (the first post of a burst) and the home thread sleeps. seq_cst on both sides, the
    // pattern of Dekker's algorithm: the home thread stores `sleeping_` then reads `rung_`
    // (going_to_sleep), we store `rung_` then read `sleeping_`, so at least one of us sees
    // the other's store: either it does not block, or we ring.
    if (rung_.exchange(1, std::memory_order_seq_cst) == 0 && sleeping_.load(std::memory_order_seq_cst) != 0) ring();
    return true;
}

void thread_inbox::deliver_reply(std::shared_ptr<helper_ticket> t) noexcept {
    std::lock_guard lock(mutex_);  // as post(): the doorbell too
    try {
        replies_.push_back(std::move(t));
    } catch (...) {
        // Out of memory: the waiter would wait forever. Nothing sane is left to do.
        std::fputs("tasklets: out of memory delivering a helper thread's result\n", stderr);
        std::abort();
    }
    // seq_cst, before the flag's store: see answer().
    has_replies_.store(1, std::memory_order_seq_cst);
    // Rung unconditionally: replies are rare next to mail, and a helper thread is never
    // in a hurry.
    rung_.store(1, std::memory_order_seq_cst);
    ring();
}

bool thread_inbox::withdraw(mail* m) noexcept {
    std::lock_guard lock(mutex_);
    if (!m->queued) return false;
    if (m->prev) m->prev->next = m->next;
    else head_ = m->next;
    if (m->next) m->next->prev = m->prev;
    else tail_ = m->prev;
    m->next = m->prev = nullptr;
    m->queued = false;
    return true;
}

mail* thread_inbox::next_mail(bool& last) noexcept {
    std::lock_guard lock(mutex_);
    mail* m = head_;
    last = true;
    if (!m) return nullptr;
    head_ = m->next;
    last = head_ == nullptr;
    if (head_) head_->prev = nullptr;
    else tail_ = nullptr;
    m->next = m->prev = nullptr;
    m->queued = false;
    return m;
}

bool thread_inbox::going_to_sleep() noexcept {
    sleeping_.store(1, std::memory_order_seq_cst);  // see post()
    if (rung_.load(std::memory_order_seq_cst) == 0) return true;
    sleeping_.store(0, std::memory_order_relaxed);
    return false;
}

std::vector<std::shared_ptr<helper_ticket>> thread_inbox::answer(bool silence) noexcept {
    // The doorbell is silenced first, the flag cleared second, the queues looked at last.
    // A post that finds the flag still set (before our store) rings nothing, but its mail
    // was queued before our store, hence is found by the looks that follow it. Silencing
    // the doorbell after the flag instead would lose wake-ups: a post in between would
    // ring a bell we then silence, while its flag stays set and no later post rings again
    // (the stress test found this under Wine, where the window is wide).
    if (silence) {
#if defined(_WIN32)
        ResetEvent(event);
#else
        std::uint64_t count;
        (void)!::read(fd, &count, sizeof count);  // EAGAIN when already cleared: fine
#endif
    }
    // seq_cst, with the posters' exchange: see post().
    rung_.store(0, std::memory_order_seq_cst);
    // seq_cst, with deliver_reply()'s two stores: all four are in one total order. If its
    // `has_replies_` store comes after this load, its `rung_` store comes after ours, so
    // the flag stays set and the next poll takes the reply. Else this load sees it.
    std::vector<std::shared_ptr<helper_ticket>> out;
    if (has_replies_.load(std::memory_order_seq_cst) == 0) return out;
    std::lock_guard lock(mutex_);
    out.swap(replies_);
    has_replies_.store(0, std::memory_order_relaxed);  // under the mutex, as every store to it
    return out;
}

void thread_inbox::close() noexcept {
    mail* m;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        m = std::exchange(head_, nullptr);
        tail_ = nullptr;
        for (mail* i = m; i; i = i->next) i->queued = false;
    }
    while (m) {
        mail* next = m->next;
        if (m->discard) m->discard(m);
        m = next;
    }
}

}  // namespace tasklets::detail
