// The reactor's io_uring backend (io/uring.hpp has the records and the user_data scheme).
//
// One pass of the scheduler's poll submits everything queued since the last one — re-armed
// receives, sends, file calls, cancellations — and collects the completions in the same
// system call (io_uring_submit_and_wait_timeout / io_uring_submit_and_get_events). With
// IORING_SETUP_DEFER_TASKRUN the kernel does the completion work only then, on this
// thread, so a pass sees a whole batch.
//
// Streams: the first read arms a multishot receive whose data lands in a pool of provided
// buffers shared by the thread's streams; reads copy out of them and hand each buffer back
// as soon as it is empty. A stream holding more than `hoard_limit` unread buffers has its
// receive cancelled, so one peer that the program does not read cannot take the pool (the
// next read that empties the queue re-arms it: TCP's own flow control takes over
// meanwhile). When the pool is empty, a read falls back to readiness and a plain recv().
// Writes copy the bytes into a record the reactor owns and park until the kernel has taken
// them, so a tasklet killed mid-write leaves nothing the kernel could read after its stack
// is gone; a stream's sends go one at a time so that they reach the socket in order.
// Listeners: a multishot accept queues descriptors until accept() takes them (at most
// `accept_limit`, then the accept is cancelled and re-armed when the queue drains).
#include "io/reactor.hpp"

#if TASKLETS_HAVE_URING

#include "core/deadlock.hpp"
#include "core/waits.hpp"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace tasklets::detail {

namespace {

// The kind of a multishot request, in the low bits of its uring_fd*'s user_data.
enum : std::uintptr_t { kind_op = 0, kind_poll = 1, kind_receive = 2, kind_accept = 3, kind_mask = 3 };

constexpr std::size_t hoard_limit = 16;   // unread buffers a stream may hold (32 KiB)
constexpr std::size_t accept_limit = 64;  // accepted descriptors a listener may queue

std::uint64_t tag(uring_fd* u, std::uintptr_t kind) noexcept { return reinterpret_cast<std::uintptr_t>(u) | kind; }

constexpr unsigned ring_entries = 512;
constexpr unsigned completion_entries = 8192;  // a pass over 10,000 connections fits (the kernel keeps overflow)

}  // namespace

void reactor::ring_open() {
    auto* r = new uring;
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = completion_entries;
    int rc = io_uring_queue_init_params(ring_entries, &r->ring, &p);
    if (rc == -EINVAL) {  // before Linux 6.1: no deferred task work (the probe asked for 6.0)
        p = io_uring_params{};
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = completion_entries;
        rc = io_uring_queue_init_params(ring_entries, &r->ring, &p);
    } else if (rc == 0) {
        r->deferred = true;
    }
    if (rc < 0) {
        delete r;
        throw std::system_error(-rc, std::generic_category(), "tasklets: io_uring_setup for this thread's reactor");
    }
    // Each io_uring_enter then skips looking the ring's descriptor up (a small saving per
    // pass; refused on kernels before 5.18, which is harmless).
    io_uring_register_ring_fd(&r->ring);
    ring_ = r;
}

void reactor::ring_close() noexcept {
    if (!ring_) return;
    uring& r = *ring_;
    // Every descriptor's record is closing now: freed as its last multishot request ends
    // (below), at once if none is live. Without this, a multishot poll that is still
    // registered (an inbox's eventfd) ends by the cancel but leaves its record counted,
    // and the loop below would wait its full 10 s.
    for (fd_entry& e : fds_) {
        uring_fd* u = std::exchange(e.u, nullptr);
        if (!u) continue;
        for (int c : u->accepted) ::close(c);
        u->accepted.clear();
        if (u->multishots == 0) {
            delete u;
            --r.multishot_fds;
        } else {
            u->closing = true;
        }
    }
    // Cancel everything and wait for the last completions: a file read in the kernel's
    // worker threads may still write into an op's buffer until it has posted.
    if (io_uring_sqe* sqe = ring_sqe()) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, 0);
    }
    for (int rounds = 0; (r.ops || r.multishot_fds > 0) && rounds < 1000; ++rounds) {
        __kernel_timespec ts{0, 10 * 1000 * 1000};
        io_uring_cqe* first = nullptr;
        io_uring_submit_and_wait_timeout(&r.ring, &first, 1, &ts, nullptr);
        unsigned head;
        unsigned seen = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&r.ring, head, cqe) {
            ++seen;
            const std::uint64_t data = cqe->user_data;
            if (data == 0) continue;
            if ((data & kind_mask) == kind_op) {
                auto* op = reinterpret_cast<uring_op*>(data);
                if (op->prev) op->prev->next = op->next;
                else r.ops = op->next;
                if (op->next) op->next->prev = op->prev;
                if (op->result_is_fd && cqe->res >= 0) ::close(cqe->res);
                delete op;
            } else if (!(cqe->flags & IORING_CQE_F_MORE)) {
                auto* u = reinterpret_cast<uring_fd*>(data & ~kind_mask);
                if (--u->multishots == 0 && u->closing) {
                    delete u;
                    --r.multishot_fds;
                }
            }
        }
        io_uring_cq_advance(&r.ring, seen);
    }
    // Whatever did not complete in time (nothing, unless the kernel hangs) is leaked
    // rather than freed under the kernel's feet.
    io_uring_queue_exit(&r.ring);
    if (r.buffers) ::munmap(r.buffers, r.ring_bytes() + r.buffer_bytes());  // the mapping starts with the ring
    delete ring_;
    ring_ = nullptr;
}

io_uring_sqe* reactor::ring_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_->ring);
    if (!sqe) {  // the submission queue is full: hand it to the kernel now
        io_uring_submit(&ring_->ring);
        sqe = io_uring_get_sqe(&ring_->ring);
    }
    return sqe;
}

uring_fd* reactor::ring_fd(int fd) {
    fd_entry& e = entry(fd);
    if (!e.u) {
        e.u = new uring_fd;
        e.u->fd = fd;
        ++ring_->multishot_fds;
    }
    return e.u;
}

// ---- readiness: multishot poll ------------------------------------------------------------

void reactor::ring_watch(int fd, fd_entry& e) {
    // A regular file or directory is always ready, and a poll on it would complete at
    // once, forever: treat it as epoll does (EPERM), as unpollable.
    struct stat st;
    if (::fstat(fd, &st) != 0)
        throw std::system_error(errno, std::generic_category(), "tasklets: cannot watch descriptor " + std::to_string(fd));
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        e.unpollable = true;
        return;
    }
    uring_fd* u = ring_fd(fd);
    e.registered = true;
    ++registered_;
    ring_arm_poll(u);
}

void reactor::ring_arm_poll(uring_fd* u) noexcept {
    io_uring_sqe* sqe = ring_sqe();
    io_uring_prep_poll_multishot(sqe, u->fd, POLLIN | POLLOUT | POLLRDHUP);
    io_uring_sqe_set_data64(sqe, tag(u, kind_poll));
    u->polling = true;
    ++u->multishots;
}

// ---- streams: multishot receive into provided buffers --------------------------------------

void reactor::ring_arm_receive(uring_fd* u) {
    uring& r = *ring_;
    if (!r.buffers) {
        // The ring of buffer descriptors, then the buffers, in one mapping (mmap memory:
        // page-aligned as the kernel wants, and defined for Valgrind when the kernel fills it).
        const std::size_t ring_bytes = r.ring_bytes();
        void* m = ::mmap(nullptr, ring_bytes + r.buffer_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "tasklets: mmap for io_uring receive buffers");
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uintptr_t>(m);
        reg.ring_entries = uring::buffer_count;
        reg.bgid = uring::buffer_group;
        if (const int rc = io_uring_register_buf_ring(&r.ring, &reg, 0); rc < 0) {
            ::munmap(m, ring_bytes + r.buffer_bytes());
            throw std::system_error(-rc, std::generic_category(), "tasklets: registering io_uring receive buffers");
        }
        r.buffers = static_cast<io_uring_buf_ring*>(m);
        r.buffer_memory = static_cast<std::byte*>(m);
        io_uring_buf_ring_init(r.buffers);
        const int mask = io_uring_buf_ring_mask(uring::buffer_count);
        for (unsigned i = 0; i < uring::buffer_count; ++i)
            io_uring_buf_ring_add(r.buffers, r.buffer_memory + ring_bytes + std::size_t{i} * uring::buffer_size,
                                  uring::buffer_size, static_cast<unsigned short>(i), mask, static_cast<int>(i));
        io_uring_buf_ring_advance(r.buffers, uring::buffer_count);
        r.buffer_memory += ring_bytes;  // from here on: the first buffer
        r.free_buffers = uring::buffer_count;
    }
    io_uring_sqe* sqe = ring_sqe();
    io_uring_prep_recv_multishot(sqe, u->fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = uring::buffer_group;
    io_uring_sqe_set_data64(sqe, tag(u, kind_receive));
    u->receiving = true;
    ++u->multishots;
}

void reactor::ring_give_back(std::uint16_t buffer) noexcept {
    uring& r = *ring_;
    io_uring_buf_ring_add(r.buffers, r.buffer_memory + std::size_t{buffer} * uring::buffer_size, uring::buffer_size,
                          buffer, io_uring_buf_ring_mask(uring::buffer_count), 0);
    io_uring_buf_ring_advance(r.buffers, 1);
    ++r.free_buffers;
    --s_->counts.receive_buffers_held;
}

std::size_t reactor::ring_receive(int fd, void* buf, std::size_t n, std::int64_t deadline, int& err) {
    auto* out = static_cast<std::byte*>(buf);
    for (;;) {
        uring_fd* u = ring_fd(fd);
        if (!u->chunks.empty()) {
            // Everything already here, up to n: what one recv(2) would have returned.
            std::size_t got = 0;
            while (got < n && !u->chunks.empty()) {
                uring_chunk& c = u->chunks.front();
                const std::size_t k = std::min<std::size_t>(n - got, c.length - c.offset);
                std::memcpy(out + got, ring_->buffer_memory + std::size_t{c.buffer} * uring::buffer_size + c.offset, k);
                got += k;
                c.offset += static_cast<std::uint32_t>(k);
                if (c.offset == c.length) {
                    ring_give_back(c.buffer);
                    u->chunks.pop_front();
                }
            }
            return got;
        }
        if (u->recv_error) {
            err = u->recv_error;
            return 0;
        }
        if (u->eof) return 0;
        if (!u->receiving) {
            // No receive armed, nothing read ahead: what the socket holds is next in the
            // stream, so take it at once, as epoll's path does. Only when it has nothing
            // does the multishot receive start (and then stays, for this stream's life).
            const ssize_t k = ::recv(fd, buf, n, MSG_DONTWAIT);
            if (k >= 0) return static_cast<std::size_t>(k);
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                err = errno;
                return 0;
            }
            if (ring_->buffers && ring_->free_buffers == 0) {
                // The pool is out: wait for readiness and read the old way until buffers return.
                if (const int rc = wait(fd, want_read, deadline, true); rc != 0) {
                    err = rc;
                    return 0;
                }
                continue;
            }
            ring_arm_receive(u);
        }
        if (const int rc = wait(fd, want_read, deadline, false); rc != 0) {
            err = rc;
            return 0;
        }
    }
}

// ---- streams: sends from a copy, one at a time ---------------------------------------------

std::size_t reactor::ring_send(int fd, const void* buf, std::size_t n, std::int64_t deadline, int& err) {
    for (;;) {
        uring_fd* u = ring_fd(fd);
        if (!u->send_busy) break;
        // An earlier send (of a tasklet that timed out or was killed, or of another writer)
        // is still in flight: bytes must reach the socket in the order they were written.
        if (const int rc = wait(fd, want_write, deadline, false); rc != 0) {
            err = rc;
            return 0;
        }
    }
    uring_fd* u = fds_[static_cast<std::size_t>(fd)].u;
    const std::size_t len = std::min(n, max_send);
    io_uring_sqe* sqe = nullptr;
    uring_op* op = ring_start(sqe);
    op->data = std::make_unique_for_overwrite<std::byte[]>(len);
    std::memcpy(op->data.get(), buf, len);
    op->size = len;
    op->sender = u;
    u->send_busy = true;
    ++u->multishots;  // the record must outlive a close until this send has ended
    io_uring_prep_send(sqe, fd, op->data.get(), len, MSG_NOSIGNAL);
    const int res = ring_wait(op, deadline);
    if (res >= 0) return static_cast<std::size_t>(res);
    err = -res;
    return 0;
}

// ---- listeners: multishot accept ------------------------------------------------------------

void reactor::ring_arm_accept(uring_fd* u) noexcept {
    io_uring_sqe* sqe = ring_sqe();
    io_uring_prep_multishot_accept(sqe, u->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(u, kind_accept));
    u->accepting = true;
    ++u->multishots;
}

int reactor::ring_accept(int fd, std::int64_t deadline, int& err) {
    for (;;) {
        uring_fd* u = ring_fd(fd);
        if (!u->accepted.empty()) {
            const int c = u->accepted.front();
            u->accepted.pop_front();
            return c;
        }
        if (u->accept_error) {
            err = std::exchange(u->accept_error, 0);
            return -1;
        }
        if (!u->accepting) {
            // Nothing queued and no accept armed: a connection already in the backlog is
            // taken at once, as epoll's path does (and EMFILE reported where it happens);
            // the multishot accept is armed only when the backlog is empty.
            const int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c >= 0) return c;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                err = errno;
                return -1;
            }
            ring_arm_accept(u);
        }
        if (const int rc = wait(fd, want_read, deadline, false); rc != 0) {
            err = rc;
            return -1;
        }
    }
}

// ---- one-shot requests ------------------------------------------------------------------------

uring_op* reactor::ring_start(io_uring_sqe*& sqe) {
    auto* op = new uring_op;
    sqe = ring_sqe();
    io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(op));
    op->next = ring_->ops;
    if (op->next) op->next->prev = op;
    ring_->ops = op;
    return op;
}

namespace {
// A tasklet parked on a one-shot request.
struct op_wait : io_wait {
    uring_op* op = nullptr;
};
}  // namespace

int reactor::ring_wait(uring_op* op, std::int64_t deadline, void* copy_to, std::size_t copy_size) {
    scheduler& s = *s_;
    // The record lives in the frame, or on the heap for a shared-stack tasklet, whose frame
    // is copied out while it waits (core/shared_stacks.hpp); the kernel reads and writes the
    // op's own buffer, and copy_to is written after the wake, with the frames back in.
    std::unique_ptr<op_wait> on_heap;
    op_wait in_frame;
    // If this throws, op has no waiter, and its completion frees it.
    if (s.current->stack_kind == stack_shared) [[unlikely]] on_heap = std::make_unique<op_wait>();
    op_wait& w = on_heap ? *on_heap : in_frame;
    w.off_stack = on_heap != nullptr;
    // Ownership of the record: while `op->waiter` is set, the waiting tasklet frees it (its
    // `leave` below, also when it is killed); after that, the completion does.
    w.cancel = [](event_wait* self) noexcept {
        auto* ow = static_cast<op_wait*>(self);
        ow->owner->detach(ow);
        ow->op->cancelled = true;
    };
    w.owner = this;
    w.waiter = s.current;
    w.op = op;
    if (deadline != no_deadline && deadline > now()) {
        w.timer.context = &w;
        w.timer.fire = &fire_wait;
        add_timer(&w.timer, deadline);
    }
    op->waiter = &w;
    ++ring_waiters_;
    reactor_hold hold(*this);
    struct leave {
        reactor& r;
        op_wait& w;
        ~leave() {
            --r.ring_waiters_;
            r.detach(&w);
            uring_op* op = w.op;
            op->waiter = nullptr;
            if (op->done) {  // completed: the record is ours to free
                // A descriptor opened for a tasklet killed before it could take it.
                if (op->result_is_fd && !op->consumed && op->result >= 0) ::close(op->result);
                delete op;
            } else if (io_uring_sqe* sqe = r.ring_sqe()) {  // timed out or killed: cancel it; the completion frees it
                io_uring_prep_cancel64(sqe, reinterpret_cast<std::uintptr_t>(op), 0);
                io_uring_sqe_set_data64(sqe, 0);
            }
        }
    } on_leave{*this, w};
    if (deadline != no_deadline && deadline <= now()) return -ETIMEDOUT;
    wait_for_event(s, &w);
    if (op->done) {
        if (copy_to && op->result >= 0) {
            const std::size_t k = copy_size > 0 ? copy_size : static_cast<std::size_t>(op->result);
            if (k > 0) std::memcpy(copy_to, op->data.get(), k);
        }
        op->consumed = true;
        return op->result;
    }
    if (w.result == ETIMEDOUT) return -ETIMEDOUT;
    throw_deadlock(s, "Deadlock: the tasklet waits for an io_uring request and was revived without its result.");
}

// ---- completions ----------------------------------------------------------------------------------

void reactor::ring_wake(int fd, bool readers, bool writers) noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
    fd_entry& e = fds_[static_cast<std::size_t>(fd)];
    while (readers && e.readers) finish(e.readers, 0);
    while (writers && e.writers) finish(e.writers, 0);
}

void reactor::ring_release(uring_fd* u) noexcept {
    if (--u->multishots == 0 && u->closing) {
        delete u;
        --ring_->multishot_fds;
    }
}

void reactor::ring_complete(const io_uring_cqe& cqe) noexcept {
    const std::uint64_t data = cqe.user_data;
    if (data == 0) return;  // a cancellation
    const bool more = cqe.flags & IORING_CQE_F_MORE;
    if ((data & kind_mask) == kind_op) {
        auto* op = reinterpret_cast<uring_op*>(data);
        if (op->prev) op->prev->next = op->next;
        else ring_->ops = op->next;
        if (op->next) op->next->prev = op->prev;
        op->next = op->prev = nullptr;
        op->result = cqe.res;
        op->done = true;
        if (uring_fd* u = op->sender) {
            u->send_busy = false;
            if (!u->closing) ring_wake(u->fd, false, true);  // writers queued behind it
            op->sender = nullptr;
            ring_release(u);
        }
        if (!op->waiter) {  // its tasklet stopped waiting
            if (op->result_is_fd && op->result >= 0) ::close(op->result);
            delete op;
        } else if (op->waiter->result < 0 && !op->cancelled) {
            finish(op->waiter, 0);  // still parked: not timed out, not killed
        }
        return;
    }
    auto* u = reinterpret_cast<uring_fd*>(data & ~kind_mask);
    const std::uintptr_t kind = data & kind_mask;
    if (u->closing) {
        // Anything that still arrives for a closed descriptor: give it back and forget it.
        if (kind == kind_receive && (cqe.flags & IORING_CQE_F_BUFFER)) {
            --ring_->free_buffers;  // taken by the kernel, given straight back
            ++s_->counts.receive_buffers_held;
            ring_give_back(static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
        }
        if (kind == kind_accept && cqe.res >= 0) ::close(cqe.res);
        if (!more) ring_release(u);
        return;
    }
    fd_entry& e = fds_[static_cast<std::size_t>(u->fd)];
    switch (kind) {
    case kind_poll:
        if (!more) {
            u->polling = false;
            --u->multishots;
            if (e.registered) ring_arm_poll(u);  // the kernel ended it (e.g. an overflow): again
        }
        if (cqe.res > 0) on_ready(e, static_cast<std::uint32_t>(cqe.res));
        else if (cqe.res < 0 && cqe.res != -ECANCELED) on_ready(e, EPOLLERR);
        return;
    case kind_receive:
        if (cqe.res > 0 && (cqe.flags & IORING_CQE_F_BUFFER)) {
            --ring_->free_buffers;
            ++s_->counts.receive_buffers_held;
            u->chunks.push_back({static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT), 0,
                                 static_cast<std::uint32_t>(cqe.res)});
            if (more && u->chunks.size() >= hoard_limit) {
                // Nobody reads this stream: stop taking its data into the shared pool.
                if (io_uring_sqe* sqe = ring_sqe()) {
                    io_uring_prep_cancel64(sqe, tag(u, kind_receive), 0);
                    io_uring_sqe_set_data64(sqe, 0);
                }
            }
        } else if (cqe.res == 0) {
            u->eof = true;
        } else if (cqe.res == -ENOBUFS) {
            // The pool ran dry; the reader reads the old way until buffers come back.
        } else if (cqe.res < 0 && cqe.res != -ECANCELED) {
            u->recv_error = -cqe.res;
        }
        if (!more) {
            u->receiving = false;
            --u->multishots;
        }
        ring_wake(u->fd, true, false);
        return;
    case kind_accept:
        if (cqe.res >= 0) {
            u->accepted.push_back(cqe.res);
            if (more && u->accepted.size() >= accept_limit) {
                if (io_uring_sqe* sqe = ring_sqe()) {
                    io_uring_prep_cancel64(sqe, tag(u, kind_accept), 0);
                    io_uring_sqe_set_data64(sqe, 0);
                }
            }
        } else if (cqe.res != -ECANCELED && cqe.res != -ECONNABORTED && cqe.res != -EINTR) {
            u->accept_error = -cqe.res;
        }
        if (!more) {
            u->accepting = false;
            --u->multishots;
        }
        ring_wake(u->fd, true, false);
        return;
    default:
        return;
    }
}

void reactor::ring_poll(std::int64_t timeout_ns) noexcept {
    uring& r = *ring_;
    scheduler_counts& counts = s_->counts;
    ++counts.reactor_polls;
    const std::int64_t wait_start = timeout_ns != 0 ? reactor_clock_ns() : 0;
    io_uring_cqe* first = nullptr;
    if (timeout_ns == 0) {
        if (r.deferred) io_uring_submit_and_get_events(&r.ring);
        else io_uring_submit(&r.ring);
    } else if (timeout_ns < 0) {
        io_uring_submit_and_wait(&r.ring, 1);
    } else {
        __kernel_timespec ts{timeout_ns / 1000000000, timeout_ns % 1000000000};
        io_uring_submit_and_wait_timeout(&r.ring, &first, 1, &ts, nullptr);
    }
    if (timeout_ns != 0) {
        ++counts.reactor_blocking_polls;
        counts.reactor_wait_ns += reactor_clock_ns() - wait_start;
    }
    // Completions may queue new submissions (re-arms, cancels) and wake tasklets; they
    // never reap completions themselves, so walking the queue here is safe.
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&r.ring, head, cqe) {
        ++seen;
        ring_complete(*cqe);
    }
    io_uring_cq_advance(&r.ring, seen);
}

// ---- closing -------------------------------------------------------------------------------------

void reactor::ring_forget(fd_entry& e) noexcept {
    uring_fd* u = std::exchange(e.u, nullptr);
    for (int c : u->accepted) ::close(c);
    u->accepted.clear();
    for (const uring_chunk& c : u->chunks) ring_give_back(c.buffer);
    u->chunks.clear();
    if (u->multishots == 0) {
        delete u;
        --ring_->multishot_fds;
        return;
    }
    u->closing = true;
    // The requests hold the file: the socket would stay open (no FIN to the peer) until
    // they end. Cancel them now, in their own system call, before the caller's close(2).
    if (io_uring_sqe* sqe = ring_sqe()) {
        io_uring_prep_cancel_fd(sqe, u->fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, 0);
        if (ring_->deferred) io_uring_submit_and_get_events(&ring_->ring);
        else io_uring_submit(&ring_->ring);
    }
}

}  // namespace tasklets::detail

#else  // no liburing: the reactor never has a ring

namespace tasklets::detail {
void reactor::ring_open() { throw std::logic_error("tasklets: built without io_uring"); }
void reactor::ring_close() noexcept {}
void reactor::ring_poll(std::int64_t) noexcept {}
void reactor::ring_watch(int, fd_entry&) {}
void reactor::ring_forget(fd_entry&) noexcept {}
}  // namespace tasklets::detail

#endif
