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
    {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        if (m->queued) return true;
        m->queued = true;
        m->next = nullptr;
        m->prev = tail_;
        if (tail_) tail_->next = m;
        else head_ = m;
        tail_ = m;
    }
    // Ring unless a ring is pending. If the exchange reads true, answer() has not yet
    // cleared the flag (its store comes later in rung_'s order), and its next_mail()
    // calls, which follow that store, find `m`; if answer() had already looked at the
    // queue, its store would precede our push (through the mutex) and we would read
    // false. seq_cst, with answer()'s store: the flag carries that argument, the mutex
    // the queue itself.
    if (!rung_.exchange(true, std::memory_order_seq_cst)) ring();
    return true;
}

void thread_inbox::deliver_reply(std::shared_ptr<helper_ticket> t) noexcept {
    {
        std::lock_guard lock(mutex_);
        try {
            replies_.push_back(std::move(t));
        } catch (...) {
            // Out of memory: the waiter would wait forever. Nothing sane is left to do.
            std::fputs("tasklets: out of memory delivering a helper thread's result\n", stderr);
            std::abort();
        }
    }
    // Unconditionally: replies are rare next to mail, and a helper thread is never in a
    // hurry.
    rung_.store(true, std::memory_order_seq_cst);
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

mail* thread_inbox::next_mail() noexcept {
    std::lock_guard lock(mutex_);
    mail* m = head_;
    if (!m) return nullptr;
    head_ = m->next;
    if (head_) head_->prev = nullptr;
    else tail_ = nullptr;
    m->next = m->prev = nullptr;
    m->queued = false;
    return m;
}

std::vector<std::shared_ptr<helper_ticket>> thread_inbox::answer() noexcept {
    // The doorbell is cleared first, the flag second, the queues looked at last. A post
    // that finds the flag still set (before our store) rings nothing, but its mail was
    // queued before our store, hence is found by the looks that follow it. Clearing the
    // doorbell after the flag instead would lose wake-ups: a post in between would ring a
    // bell we then silence while the flag stays set, and no later post would ring again
    // (the stress test found this under Wine, where the window is wide).
#if defined(_WIN32)
    ResetEvent(event);
#else
    std::uint64_t count;
    (void)!::read(fd, &count, sizeof count);  // EAGAIN when already cleared: fine
#endif
    // seq_cst, with the posters' exchange: see post().
    rung_.store(false, std::memory_order_seq_cst);
    std::vector<std::shared_ptr<helper_ticket>> out;
    std::lock_guard lock(mutex_);
    out.swap(replies_);
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
