// Files (include/tasklets/file.hpp): on io_uring when this thread's reactor runs it
// (io/file_ring.cpp), otherwise on helper threads. A helper call is one run_blocking()
// job that owns everything it touches: the descriptor (shared with the file object, so
// that it outlives a killed caller's unwinding), the bytes to write (copied in), the bytes
// read (its own buffer, copied out by the caller). A job reports errno instead of throwing
// so that the message, naming the path, is built in the caller.
#include "io/file_ring.hpp"
#include "io/reactor.hpp"

#include <tasklets/blocking.hpp>
#include <tasklets/file.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

namespace tasklets::fs {

struct file::handle {
    int fd = -1;
    std::string path;
    handle(int fd, std::string path) noexcept : fd(fd), path(std::move(path)) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    ~handle() {
        if (fd >= 0) ::close(fd);
    }
};

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), "tasklets: " + what);
}

std::string quoted(const std::string& path) { return "\"" + path + "\""; }

// Reads up to n bytes at offset, continuing short reads (a signal) until the end of the file.
ssize_t read_fully(int fd, std::byte* p, std::size_t n, std::uint64_t offset) {
    std::size_t got = 0;
    while (got < n) {
        const ssize_t k = ::pread(fd, p + got, n - got, static_cast<off_t>(offset + got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) break;
        got += static_cast<std::size_t>(k);
    }
    return static_cast<ssize_t>(got);
}

// Writes all n bytes at offset (append: at the end, O_APPEND), continuing short writes.
int write_fully(int fd, const char* p, std::size_t n, std::uint64_t offset, bool append) {
    std::size_t done = 0;
    while (done < n) {
        const ssize_t k = append ? ::write(fd, p + done, n - done)
                                 : ::pwrite(fd, p + done, n - done, static_cast<off_t>(offset + done));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        done += static_cast<std::size_t>(k);
    }
    return 0;
}

std::shared_ptr<file::handle> checked(const std::shared_ptr<file::handle>& h, const char* op) {
    if (!h) throw std::system_error(EBADF, std::generic_category(), std::string("tasklets: ") + op + " on a closed file");
    return h;
}

#if TASKLETS_HAVE_URING
using detail::file_ring;
using detail::reactor;

// The outcome of a call on io_uring: a timeout or an errno, as the helper path reports them.
// Only the io_uring paths call it, so a build without liburing (every cross target here)
// leaves it out rather than warn that it is unused.
long ring_checked(long rc, const deadline& d, const std::string& what) {
    if (rc == -ETIMEDOUT) detail::throw_timeout(what, d.span());
    if (rc < 0) fail(static_cast<int>(-rc), what);
    return rc;
}
#endif

}  // namespace

file file::open(const std::string& path, int flags, mode_t mode, deadline d) {
    struct result {
        std::shared_ptr<handle> h;  // owns the descriptor even if nobody takes the result
        int err = 0;
    };
    const std::string what = "open " + quoted(path);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        const int fd = static_cast<int>(ring_checked(detail::ring_open(*ring, path, flags, mode, d.raw()), d, what));
        file f;
        f.handle_ = std::make_shared<handle>(fd, path);
        return f;
    }
#endif
    result r = run_blocking([path, flags, mode] {
        result out;
        const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
        if (fd < 0) out.err = errno;
        else out.h = std::make_shared<handle>(fd, path);
        return out;
    }, d, what.c_str());
    if (r.err) fail(r.err, what);
    file f;
    f.handle_ = std::move(r.h);
    return f;
}

int file::fd() const noexcept { return handle_ ? handle_->fd : -1; }

const std::string& file::path() const noexcept {
    static const std::string none;
    return handle_ ? handle_->path : none;
}

std::size_t file::read_at(void* buf, std::size_t n, std::uint64_t offset, deadline d) {
    auto h = checked(handle_, "read_at");
    if (n == 0) return 0;
    struct result {
        std::unique_ptr<std::byte[]> data;
        ssize_t got = 0;
        int err = 0;
    };
    const std::string what = "read_at " + std::to_string(n) + " bytes at " + std::to_string(offset) + " of " + quoted(h->path);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring())
        return static_cast<std::size_t>(ring_checked(detail::ring_read(*ring, h, h->fd, buf, n, offset, d.raw()), d, what));
#endif
    result r = run_blocking([h, n, offset] {
        result out;
        out.data = std::make_unique_for_overwrite<std::byte[]>(n);
        out.got = read_fully(h->fd, out.data.get(), n, offset);
        if (out.got < 0) out.err = errno;
        return out;
    }, d, what.c_str());
    if (r.err) fail(r.err, what);
    std::memcpy(buf, r.data.get(), static_cast<std::size_t>(r.got));
    return static_cast<std::size_t>(r.got);
}

void file::write_at(const void* buf, std::size_t n, std::uint64_t offset, deadline d) {
    auto h = checked(handle_, "write_at");
    const std::string what = "write_at " + std::to_string(n) + " bytes at " + std::to_string(offset) + " of " + quoted(h->path);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        ring_checked(detail::ring_write(*ring, h, h->fd, buf, n, offset, false, d.raw()), d, what);
        return;
    }
#endif
    const int err = run_blocking([h, bytes = std::string(static_cast<const char*>(buf), n), offset] {
        return write_fully(h->fd, bytes.data(), bytes.size(), offset, false);
    }, d, what.c_str());
    if (err) fail(err, what);
}

void file::append(const void* buf, std::size_t n, deadline d) {
    auto h = checked(handle_, "append");
    const std::string what = "append " + std::to_string(n) + " bytes to " + quoted(h->path);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        ring_checked(detail::ring_write(*ring, h, h->fd, buf, n, 0, true, d.raw()), d, what);
        return;
    }
#endif
    const int err = run_blocking([h, bytes = std::string(static_cast<const char*>(buf), n)] {
        return write_fully(h->fd, bytes.data(), bytes.size(), 0, true);
    }, d, what.c_str());
    if (err) fail(err, what);
}

void file::sync(deadline d) {
    auto h = checked(handle_, "sync");
    const std::string what = "fsync " + quoted(h->path);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        ring_checked(detail::ring_fsync(*ring, h, h->fd, d.raw()), d, what);
        return;
    }
#endif
    const int err = run_blocking([h] { return ::fsync(h->fd) == 0 ? 0 : errno; }, d, what.c_str());
    if (err) fail(err, what);
}

std::uint64_t file::size(deadline d) {
    auto h = checked(handle_, "size");
    const std::string what = "fstat " + quoted(h->path);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        struct ::stat st;
        ring_checked(detail::ring_stat(*ring, h, h->fd, {}, &st, d.raw()), d, what);
        return static_cast<std::uint64_t>(st.st_size);
    }
#endif
    struct result {
        std::uint64_t size = 0;
        int err = 0;
    };
    const result r = run_blocking([h] {
        struct ::stat st;
        result out;
        if (::fstat(h->fd, &st) != 0) out.err = errno;
        else out.size = static_cast<std::uint64_t>(st.st_size);
        return out;
    }, d, what.c_str());
    if (r.err) fail(r.err, what);
    return r.size;
}

bool status::is_regular() const noexcept { return S_ISREG(mode); }
bool status::is_directory() const noexcept { return S_ISDIR(mode); }

namespace {
struct stat_result {
    status st;
    int err = 0;
};
stat_result stat_path(const std::string& path, const deadline& d, const std::string& what) {
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        struct ::stat raw;
        stat_result out;
        const long rc = detail::ring_stat(*ring, nullptr, -1, path, &raw, d.raw());
        if (rc == -ETIMEDOUT) detail::throw_timeout(what, d.span());
        if (rc < 0) {
            out.err = static_cast<int>(-rc);
            return out;
        }
        out.st.size = static_cast<std::uint64_t>(raw.st_size);
        out.st.mode = raw.st_mode;
        out.st.modified_ns = static_cast<std::int64_t>(raw.st_mtim.tv_sec) * 1000000000 + raw.st_mtim.tv_nsec;
        return out;
    }
#endif
    return run_blocking([path] {
        struct ::stat raw;
        stat_result out;
        if (::stat(path.c_str(), &raw) != 0) {
            out.err = errno;
            return out;
        }
        out.st.size = static_cast<std::uint64_t>(raw.st_size);
        out.st.mode = raw.st_mode;
        out.st.modified_ns = static_cast<std::int64_t>(raw.st_mtim.tv_sec) * 1000000000 + raw.st_mtim.tv_nsec;
        return out;
    }, d, what.c_str());
}
}  // namespace

status stat(const std::string& path, deadline d) {
    const std::string what = "stat " + quoted(path);
    const stat_result r = stat_path(path, d, what);
    if (r.err) fail(r.err, what);
    return r.st;
}

bool exists(const std::string& path, deadline d) {
    const std::string what = "stat " + quoted(path);
    const stat_result r = stat_path(path, d, what);
    if (r.err == ENOENT || r.err == ENOTDIR) return false;
    if (r.err) fail(r.err, what);
    return true;
}

void rename(const std::string& from, const std::string& to, deadline d) {
    const std::string what = "rename " + quoted(from) + " to " + quoted(to);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        ring_checked(detail::ring_rename(*ring, from, to, d.raw()), d, what);
        return;
    }
#endif
    const int err = run_blocking([from, to] { return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno; }, d, what.c_str());
    if (err) fail(err, what);
}

void remove(const std::string& path, deadline d) {
    const std::string what = "remove " + quoted(path);
#if TASKLETS_HAVE_URING
    if (reactor* ring = file_ring()) {
        ring_checked(detail::ring_unlink(*ring, path, d.raw()), d, what);
        return;
    }
#endif
    const int err = run_blocking([path] { return ::unlink(path.c_str()) == 0 ? 0 : errno; }, d, what.c_str());
    if (err) fail(err, what);
}

std::string read_file(const std::string& path, deadline d) {
    struct result {
        std::string data;
        int err = 0;
        const char* step = "open";
    };
    const std::string what = "read_file " + quoted(path);
    result r = run_blocking([path] {
        result out;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            out.err = errno;
            return out;
        }
        struct ::stat st;
        std::size_t capacity = ::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 4096;
        for (;;) {  // to the end, even if the file grew since fstat
            const std::size_t at = out.data.size();
            out.data.resize(at + capacity);
            const ssize_t k = read_fully(fd, reinterpret_cast<std::byte*>(out.data.data() + at), capacity, at);
            if (k < 0) {
                out.err = errno;
                out.step = "read";
                break;
            }
            out.data.resize(at + static_cast<std::size_t>(k));
            if (static_cast<std::size_t>(k) < capacity) break;
            capacity = 64 * 1024;
        }
        ::close(fd);
        return out;
    }, d, what.c_str());
    if (r.err) fail(r.err, what + " (" + r.step + ")");
    return std::move(r.data);
}

void write_file_atomically(const std::string& path, std::string_view data, deadline d) {
    struct result {
        int err = 0;
        const char* step = nullptr;
    };
    const std::string what = "write_file_atomically " + quoted(path);
    const result r = run_blocking([path, bytes = std::string(data)] {
        result out;
        auto failed = [&out](const char* step) {
            out.err = errno;
            out.step = step;
            return out;
        };
        const std::string tmp = path + ".tmp";
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0) return failed("open the temporary file");
        if (const int err = write_fully(fd, bytes.data(), bytes.size(), 0, false)) {
            ::close(fd);
            ::unlink(tmp.c_str());
            errno = err;
            return failed("write the temporary file");
        }
        if (::fsync(fd) != 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            errno = err;
            return failed("fsync the temporary file");
        }
        ::close(fd);
        if (::rename(tmp.c_str(), path.c_str()) != 0) {
            const int err = errno;
            ::unlink(tmp.c_str());
            errno = err;
            return failed("rename it into place");
        }
        // The rename itself is durable only once the directory is synced.
        const std::size_t slash = path.rfind('/');
        const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) return failed("open the directory");
        if (::fsync(dfd) != 0) {
            const int err = errno;
            ::close(dfd);
            errno = err;
            return failed("fsync the directory");
        }
        ::close(dfd);
        return out;
    }, d, what.c_str());
    if (r.err) fail(r.err, what + " (" + r.step + ")");
}

}  // namespace tasklets::fs
