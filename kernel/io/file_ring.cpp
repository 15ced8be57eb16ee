// File calls on io_uring (io/file_ring.hpp). Each request's record carries the bytes the
// kernel reads (paths, data to write) or fills (data read, a statx), so the kernel never
// touches the caller's stack. Buffered reads of ext4 and the like do not block the ring:
// a page-cache miss is waited for asynchronously by the kernel; fsync and what cannot be
// done that way run in the kernel's own worker threads.
#include "io/file_ring.hpp"

#include "io/reactor.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tasklets::detail {

reactor* file_ring() {
    reactor& r = get_reactor(sched());
    return r.uses_uring() ? &r : nullptr;
}

#if TASKLETS_HAVE_URING

namespace {

// The bytes of a request's record: copies of strings, with their terminating zeros.
std::unique_ptr<std::byte[]> copy_of(const std::string& a, const std::string& b = {}) {
    auto data = std::make_unique_for_overwrite<std::byte[]>(a.size() + b.size() + 2);
    std::memcpy(data.get(), a.c_str(), a.size() + 1);
    std::memcpy(data.get() + a.size() + 1, b.c_str(), b.size() + 1);
    return data;
}

const char* text(const std::unique_ptr<std::byte[]>& data, std::size_t at = 0) {
    return reinterpret_cast<const char*>(data.get() + at);
}

constexpr std::size_t max_chunk = 1u << 30;  // what one read or write asks the kernel for at most

}  // namespace

long ring_open(reactor& r, const std::string& path, int flags, mode_t mode, std::int64_t deadline) {
    io_uring_sqe* sqe = nullptr;
    uring_op* op = r.ring_start(sqe);
    op->data = copy_of(path);
    op->result_is_fd = true;
    io_uring_prep_openat(sqe, AT_FDCWD, text(op->data), flags | O_CLOEXEC, mode);
    return r.ring_wait(op, deadline);
}

long ring_read(reactor& r, std::shared_ptr<void> keep, int fd, void* buf, std::size_t n, std::uint64_t offset,
               std::int64_t deadline) {
    auto* out = static_cast<std::byte*>(buf);
    std::size_t got = 0;
    while (got < n) {
        const std::size_t len = std::min(n - got, max_chunk);
        io_uring_sqe* sqe = nullptr;
        uring_op* op = r.ring_start(sqe);
        op->data = std::make_unique_for_overwrite<std::byte[]>(len);
        op->size = len;
        op->keep = keep;
        io_uring_prep_read(sqe, fd, op->data.get(), static_cast<unsigned>(len), offset + got);
        const int k = r.ring_wait(op, deadline, out + got);
        if (k == -EINTR || k == -EAGAIN) continue;
        if (k < 0) return k;
        if (k == 0) break;  // the end of the file
        got += static_cast<std::size_t>(k);
    }
    return static_cast<long>(got);
}

long ring_write(reactor& r, std::shared_ptr<void> keep, int fd, const void* buf, std::size_t n, std::uint64_t offset,
                bool append, std::int64_t deadline) {
    const auto* in = static_cast<const std::byte*>(buf);
    std::size_t done = 0;
    while (done < n) {
        const std::size_t len = std::min(n - done, max_chunk);
        io_uring_sqe* sqe = nullptr;
        uring_op* op = r.ring_start(sqe);
        op->data = std::make_unique_for_overwrite<std::byte[]>(len);
        std::memcpy(op->data.get(), in + done, len);
        op->size = len;
        op->keep = keep;
        // Offset -1: the file position, which O_APPEND puts at the end.
        io_uring_prep_write(sqe, fd, op->data.get(), static_cast<unsigned>(len),
                            append ? static_cast<std::uint64_t>(-1) : offset + done);
        const int k = r.ring_wait(op, deadline);
        if (k == -EINTR || k == -EAGAIN) continue;
        if (k < 0) return k;
        done += static_cast<std::size_t>(k);
    }
    return 0;
}

long ring_fsync(reactor& r, std::shared_ptr<void> keep, int fd, std::int64_t deadline) {
    io_uring_sqe* sqe = nullptr;
    uring_op* op = r.ring_start(sqe);
    op->keep = std::move(keep);
    io_uring_prep_fsync(sqe, fd, 0);
    return r.ring_wait(op, deadline);
}

long ring_stat(reactor& r, std::shared_ptr<void> keep, int fd, const std::string& path, struct ::stat* out,
               std::int64_t deadline) {
    // The record: a statx, then the path.
    constexpr std::size_t head = (sizeof(struct statx) + 15) / 16 * 16;
    io_uring_sqe* sqe = nullptr;
    uring_op* op = r.ring_start(sqe);
    op->data = std::make_unique_for_overwrite<std::byte[]>(head + path.size() + 1);
    std::memcpy(op->data.get() + head, path.c_str(), path.size() + 1);
    op->keep = std::move(keep);
    auto* sx = reinterpret_cast<struct statx*>(op->data.get());
    io_uring_prep_statx(sqe, fd < 0 ? AT_FDCWD : fd, text(op->data, head), path.empty() ? AT_EMPTY_PATH : 0,
                        STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME, sx);
    struct statx got;
    const int rc = r.ring_wait(op, deadline, &got, sizeof got);
    if (rc < 0) return rc;
    std::memset(out, 0, sizeof *out);
    out->st_size = static_cast<off_t>(got.stx_size);
    out->st_mode = got.stx_mode;
    out->st_mtim.tv_sec = got.stx_mtime.tv_sec;
    out->st_mtim.tv_nsec = got.stx_mtime.tv_nsec;
    return 0;
}

long ring_rename(reactor& r, const std::string& from, const std::string& to, std::int64_t deadline) {
    io_uring_sqe* sqe = nullptr;
    uring_op* op = r.ring_start(sqe);
    op->data = copy_of(from, to);
    io_uring_prep_renameat(sqe, AT_FDCWD, text(op->data), AT_FDCWD, text(op->data, from.size() + 1), 0);
    return r.ring_wait(op, deadline);
}

long ring_unlink(reactor& r, const std::string& path, std::int64_t deadline) {
    io_uring_sqe* sqe = nullptr;
    uring_op* op = r.ring_start(sqe);
    op->data = copy_of(path);
    io_uring_prep_unlinkat(sqe, AT_FDCWD, text(op->data), 0);
    return r.ring_wait(op, deadline);
}

#endif  // TASKLETS_HAVE_URING

}  // namespace tasklets::detail
