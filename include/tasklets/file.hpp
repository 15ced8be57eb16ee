// tasklets/file.hpp — files that read like blocking calls but block only the calling tasklet.
//
//     tasklets::fs::file f = tasklets::fs::file::open("world.sav");
//     std::vector<char> buf(4096);
//     std::size_t n = f.read_at(buf.data(), buf.size(), 0);     // other tasklets run meanwhile
//     tasklets::fs::write_file_atomically("world.sav", state);  // a save that is all or nothing
//
// Underneath, each call is an io_uring request when this thread's reactor runs the
// io_uring backend (tasklets/io.hpp, "Backends"): a read that misses the page cache is
// waited for by the kernel, not by a thread. On the epoll backend, which cannot wait for
// regular files (the kernel calls them always ready), each call runs the system call on a
// helper thread (tasklets/blocking.hpp). Either way only the calling tasklet waits: a slow
// disk delays that tasklet alone. read_file and write_file_atomically are one helper job
// each on both backends (several system calls, one hop).
//
// Conventions (as for sockets, tasklets/io.hpp): every call takes an optional deadline
// and throws timeout_error when it passes; errors are std::system_error with the errno,
// naming the call and the path, e.g. "tasklets: open \"world.sav\": No such file or
// directory".
//
// Killing a tasklet in the middle of a call is safe. The call goes on to the end in the
// kernel or on its helper (neither can be interrupted from outside), but it never touches
// the tasklet's memory: reads land in a buffer owned by the request and are copied out
// only when the tasklet takes the result; writes are copied in before the call starts;
// paths are copied too. The descriptor stays open until the call is done, even if the file
// object is destroyed as the killed tasklet unwinds — so a late write can never land in
// another file that reused the descriptor's number. The same holds when a deadline passes
// (an io_uring request is then cancelled, which may or may not stop it in time): that
// call's effect may still happen after the timeout_error. What such a call leaves (a
// descriptor an open returned, a read's buffer) is released when the thread's reactor takes
// its completion in: at the thread's next wait for I/O, a timer or a helper, or when the
// thread ends.
#pragma once

#if defined(_WIN32)
#error "tasklets: tasklets/file.hpp (file I/O) is not available on Windows yet: it needs an IOCP reactor (see arch/README.md, \"Windows x64\"). The rest of tasklets (tasklets, channels, select, timers, helper threads) is."
#endif

#include <tasklets/time.hpp>

#include <fcntl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tasklets::fs {

/// An open file. Move-only; closes the descriptor when destroyed (once no call on it is
/// still running on a helper).
class file {
public:
    file() noexcept = default;
    file(file&&) noexcept = default;
    file& operator=(file&&) noexcept = default;

    /// open(2) with O_CLOEXEC added: flags O_RDONLY, O_WRONLY | O_CREAT | O_TRUNC, ...
    static file open(const std::string& path, int flags = O_RDONLY, mode_t mode = 0666, deadline d = {});

    /// pread(2): up to n bytes at `offset`; fewer only at the end of the file (0: at or
    /// past the end).
    std::size_t read_at(void* buf, std::size_t n, std::uint64_t offset, deadline d = {});
    /// pwrite(2) of all n bytes at `offset` (partial writes are continued).
    void write_at(const void* buf, std::size_t n, std::uint64_t offset, deadline d = {});
    /// Appends all n bytes (the file must be open with O_APPEND).
    void append(const void* buf, std::size_t n, deadline d = {});
    /// fsync(2): the data and metadata are on the disk when it returns.
    void sync(deadline d = {});
    /// The file's size now (fstat(2)).
    std::uint64_t size(deadline d = {});
    /// Closes now (once no call on it is running). Idempotent.
    void close() noexcept { handle_.reset(); }

    bool is_open() const noexcept { return static_cast<bool>(handle_); }
    int fd() const noexcept;
    const std::string& path() const noexcept;

    struct handle;  // the descriptor and its path, shared with calls in progress

private:
    std::shared_ptr<handle> handle_;
};

struct status {
    std::uint64_t size = 0;
    mode_t mode = 0;  // type and permission bits (S_ISREG(mode), ...)
    std::int64_t modified_ns = 0;  // st_mtim, nanoseconds since the epoch
    bool is_regular() const noexcept;
    bool is_directory() const noexcept;
};

/// stat(2) of a path (following symbolic links).
status stat(const std::string& path, deadline d = {});
/// Does the path exist? (stat(2) succeeding; errors other than "no such file" throw.)
bool exists(const std::string& path, deadline d = {});
/// rename(2): atomic within one file system.
void rename(const std::string& from, const std::string& to, deadline d = {});
/// unlink(2) of a file.
void remove(const std::string& path, deadline d = {});

/// The whole file's contents.
std::string read_file(const std::string& path, deadline d = {});
/// Replaces the file by `data` so that a crash leaves either the old contents or the new,
/// never a mix: writes "<path>.tmp", fsyncs it, renames it over `path`, fsyncs the
/// directory. What a game or simulation saving its state needs.
void write_file_atomically(const std::string& path, std::string_view data, deadline d = {});

}  // namespace tasklets::fs
